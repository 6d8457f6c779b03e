"""Every registered scraper declares a validator from its source package; every run carries a verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.registry import load_registry
from scrapers.core.verdict import Check, Status
from scrapers.quality.verdict import evaluate
from tests.unit.registry_samples import GoodScraper

NAMES = load_registry().names()
# The demo's fixtures add up (whole teams whose minutes and points match the scoreboard, a play-by-play
# with every period): no demo verdict fails. A scraper listed here would be expected to fail these checks.
DEMO_FAILS: dict[str, set[str]] = {}


def _failed(quality: dict[str, Any]) -> set[str]:
    return {check["name"] for check in quality["failed_checks"] if check["status"] == Status.FAIL}


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_scraper_declares_a_validator_of_its_source_package(name: str) -> None:
    cls = load_registry().get(name).load_class()
    validator = cls.validator
    assert validator is not None, f"{cls.__module__}.{cls.__name__} declares no validator"
    assert validator.__module__.startswith(cls.__module__.rpartition(".")[0] + ".")


@pytest.mark.parametrize("name", NAMES)
def test_structural_checks_run_and_a_missing_key_fails_them(
    name: str, demo_documents: dict[str, dict[str, Any]]
) -> None:
    cls = load_registry().get(name).load_class()
    document = demo_documents[name]
    names = [check.name for check in evaluate(cls, document, {}).checks]
    assert {"required_keys", "key_types"} <= set(names)
    assert len(names) == len(set(names)), "check names are metric labels: one check, one name"

    required = [key for key in document if _required_keys_fail_without(cls, document, key)]
    assert required, "removing any one top-level key should fail required_keys for some key"


def _required_keys_fail_without(cls: Any, document: dict[str, Any], key: str) -> bool:
    verdict = evaluate(cls, {name: value for name, value in document.items() if name != key}, {})
    check = next(check for check in verdict.checks if check.name == "required_keys")
    return check.status is Status.FAIL and key in check.detail and verdict.status is Status.FAIL


@pytest.mark.parametrize("name", NAMES)
def test_the_verdict_travels_in_the_completion_and_the_document_lands_untouched(
    name: str, demo_out: Path, demo_events: dict[str, dict[str, Any]]
) -> None:
    event = demo_events[name]
    landed = json.loads(Path(event["metadata"]["gcs_path"]).read_text(encoding="utf-8"))
    quality = event["metadata"]["quality"]
    assert "quality" not in landed  # downstream reads the old platform's bytes, nothing added
    assert set(quality) == {"status", "checks", "failed_checks"}
    assert quality["checks"] >= 3
    assert _failed(quality) == DEMO_FAILS.get(name, set())
    assert quality["status"] == ("fail" if name in DEMO_FAILS else "ok")
    partial = load_registry().get(name).quality.fail_marks_partial and name in DEMO_FAILS
    assert event["status"] == ("partial" if partial else "success")


def _broken(document: Any, options: Any) -> list[Check]:
    raise KeyError("surprise")


class BrokenValidatorScraper(GoodScraper):
    validator = _broken


def test_a_validator_that_raises_is_a_failed_check_not_a_lost_run() -> None:
    verdict = evaluate(BrokenValidatorScraper, {}, {})
    assert [(check.name, check.status) for check in verdict.checks] == [("validator_error", Status.FAIL)]


def test_a_scraper_without_validators_gets_a_warning_verdict() -> None:
    verdict = evaluate(GoodScraper, {}, {})
    assert verdict.status is Status.WARN
    assert [check.name for check in verdict.failed_checks] == ["validators_declared"]
