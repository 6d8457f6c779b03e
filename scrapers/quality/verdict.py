"""A run's quality verdict: every declared check over the parsed document, summed up.

The verdict never drops data and never changes what lands (downstream reads the old platform's
bytes): the completion message carries it in its metadata (`quality`), and the
scraper's `quality.fail_marks_partial` policy in registry.yaml decides whether a `fail` turns a
`success` into `partial` for downstream.

Each scraper declares its validator on its class (`validator = validators.games`, a function of
`scrapers/sources/<source>/validators.py`); a scraper without one gets a warning verdict.
"""

from __future__ import annotations

from typing import Any

from scrapers.core.outcome import RunStatus
from scrapers.core.registry import QualityPolicy
from scrapers.core.scraper import Scraper
from scrapers.core.verdict import Check, Document, Options, Status, Verdict


def evaluate(cls: type[Scraper[Any]], document: Document, options: Options) -> Verdict:
    validator = cls.validator
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
