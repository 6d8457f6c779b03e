"""A run's quality verdict: every declared check over the parsed document, summed up.

The verdict never drops data and never changes what lands (downstream reads the old platform's
bytes): the completion message carries it in its metadata (`quality`), and the
scraper's `quality.fail_marks_partial` policy in registry.yaml decides whether a `fail` turns a
`success` into `partial` for downstream.

Validators are declared beside the scrapers they check: `scrapers/sources/<source>/validators.py`
maps each scraper class to its validator in `VALIDATORS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from scrapers.core.outcome import RunStatus
from scrapers.core.registry import QualityPolicy
from scrapers.core.scraper import Scraper
from scrapers.core.verdict import Check, Document, Options, Status, Validator, Verdict

VALIDATORS_MODULE = "validators"
VALIDATORS_ATTRIBUTE = "VALIDATORS"


def validator_for(cls: type[Scraper[Any]]) -> Validator | None:
    """The validator the scraper's source package declares for it, or None."""
    package = cls.__module__.rpartition(".")[0]
    name = f"{package}.{VALIDATORS_MODULE}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # the validators module exists but imports something missing: a real bug
        return None
    declared: Mapping[type[Scraper[Any]], Validator] = getattr(module, VALIDATORS_ATTRIBUTE, {})
    return declared.get(cls)


def evaluate(cls: type[Scraper[Any]], document: Document, options: Options) -> Verdict:
    validator = validator_for(cls)
    if validator is None:
        return Verdict((Check("validators_declared", Status.WARN, f"no validators for {cls.__name__}"),))
    try:
        checks = validator(document, options)
    except Exception as exc:  # noqa: BLE001 - a validator bug must never cost the landing
        checks = [Check("validator_error", Status.FAIL, f"{type(exc).__name__}: {exc}"[:400])]
    return Verdict(tuple(checks))


def quality_status(status: RunStatus, verdict: Verdict | None, policy: QualityPolicy) -> RunStatus:
    """`partial` for a successful run whose verdict is `fail`, when the scraper's policy says so.

    no_data and failed runs keep their status: `partial` means "landed, but the checks failed".
    """
    failed = verdict is not None and verdict.status is Status.FAIL
    if status is RunStatus.SUCCESS and failed and policy.fail_marks_partial:
        return RunStatus.PARTIAL
    return status
