"""The `sources:` block of registry.yaml: every key validated, an unknown one is a registry problem.

SourceSpec declares the keys once and SourcePolicy reads nothing else, so a key the spec accepts
but the policy ignores would be the silent misspelling again: a test sets each key and sees it act.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scrapers.core.errors import EXIT_USAGE, RegistryError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.source_spec import SourceSpec, read_source
from scrapers.http.policy import SourcePolicy
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize(
    ("raw", "key", "suggestion", "known"),
    [
        ({"retry_budgt": 4}, "retry_budgt", "retry_budget", "backoff_initial, backoff_max, deadline_seconds"),
        ({"timeout": 30}, "timeout", "timeouts", "timeout_seconds, timeouts, transient_retries"),
        ({"rate": {"per_secnd": 1}}, "rate.per_secnd", "per_second", "burst, ceiling_per_minute"),
        (
            {"rules": {"hang_means_block": True}},
            "rules.hang_means_block",
            "hang_means_blocked",
            "quota_remaining",
        ),
        (
            {"hosts": {"cdn.nba.com": {"rate": {"bursts": 1}}}},
            "hosts.cdn.nba.com.rate.bursts",
            "burst",
            "burst, ceiling_per_minute",
        ),
        ({"hosts": {"stats.nba.com": {"rule": {}}}}, "hosts.stats.nba.com.rule", "rules", "rate, rules"),
        ({"quota": {"reserv": 500}}, "quota.reserv", "reserve", "headers, remember_seconds, reserve"),
        ({"quota": {"headers": {"usd": "x-used"}}}, "quota.headers.usd", "used", "last, remaining, used"),
    ],
)
def test_an_unknown_key_names_the_source_the_key_and_the_known_keys(
    raw: dict[str, Any], key: str, suggestion: str, known: str
) -> None:
    spec, problems = read_source("nbac", raw)

    (problem,) = problems
    assert problem.startswith(f"source nbac: unknown key '{key}' (did you mean '{suggestion}'?); known: ")
    assert known in problem
    assert spec == SourceSpec()  # nothing half-read


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"rate": {"per_second": -1}}, "'rate.per_second': input should be greater than 0 (got -1)"),
        ({"retry_budget": "many"}, "'retry_budget': input should be a valid integer"),
        ({"timeouts": {"residential": 0}}, "'timeouts.residential': input should be greater than 0"),
        (
            {"rules": {"status_overrides": {403: "blockd"}}},
            "'rules.status_overrides.403': input should be 'ok'",
        ),
        ({"rate": {"per_second": 1, "per_minute": 60}}, "give per_second or per_minute, not both"),
        ({"tiers": []}, "'tiers': tuple should have at least 1 item"),
        ({"hosts": {"cdn.nba.com": "fast"}}, "'hosts.cdn.nba.com': input should be a valid dictionary"),
        (
            {"quota": {"reserve": 500}},
            "source bdl: quota needs quota.headers.remaining or rules.quota_remaining",
        ),
    ],
)
def test_a_bad_value_names_the_source_and_the_key(raw: dict[str, Any], fragment: str) -> None:
    _, problems = read_source("bdl", raw)

    (problem,) = problems
    assert problem.startswith("source bdl: ")
    assert fragment in problem


def test_every_problem_of_a_source_is_reported() -> None:
    _, problems = read_source("espn", {"retry_budgt": 4, "rate": {"brust": 2}, "deadline_seconds": 0})

    assert len(problems) == 3


def test_the_committed_sources_are_valid() -> None:
    registry, problems = inspect_registry()

    assert [p for p in problems if p.startswith("source ")] == []
    assert set(registry.sources) == {"nbac", "bdl", "espn", "bettingpros", "oddsapi"}
    assert registry.sources["bdl"].settings.retry_budget == 4
    assert registry.sources["nbac"].description.startswith("NBA.com")


def test_loading_a_registry_with_a_misspelled_source_key_is_exit_2(tmp_path: Path) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "registry.yaml").read_text(encoding="utf-8"))
    document["sources"]["oddsapi"]["quota"]["reserv"] = document["sources"]["oddsapi"]["quota"].pop("reserve")
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    with pytest.raises(RegistryError) as caught:
        load_registry(path)

    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.problems == [
        "source oddsapi: unknown key 'quota.reserv' (did you mean 'reserve'?); "
        "known: headers, remember_seconds, reserve"
    ]


# Every key with a value that differs from the default, to prove the policy reads each one.
EVERY_KEY: dict[str, Any] = {
    "tiers": ["direct", "residential"],
    "start_tier": "residential",
    "timeouts": {"residential": 90},
    "timeout_seconds": 33,
    "transient_retries": 7,
    "retry_budget": 2,
    "deadline_seconds": 60,
    "backoff_initial": 0.25,
    "backoff_max": 4,
    "rate": {
        "per_second": 3,
        "burst": 4,
        "ceiling_per_second": 9,
        "floor_per_second": 0.5,
        "increase_step": 0.7,
    },
    "hosts": {"cdn.nba.com": {"rules": {"hang_means_blocked": True}, "rate": {"per_minute": 30}}},
    "rules": {"status_overrides": {403: "auth"}, "quota_remaining_header": "x-left"},
    "quota": {
        "reserve": 10,
        "remember_seconds": 60,
        "headers": {"remaining": "x-credits", "used": "x-used", "last": "x-last"},
    },
    "max_body_bytes": 1024,
}


@pytest.mark.parametrize("key", sorted(EVERY_KEY))
def test_every_key_the_spec_accepts_changes_the_policy(key: str) -> None:
    default = SourcePolicy.from_settings("x", SourceSpec())

    policy = SourcePolicy.from_settings("x", SourceSpec.model_validate({key: EVERY_KEY[key]}))

    assert policy != default


def test_the_cases_above_cover_every_key() -> None:
    assert set(EVERY_KEY) == set(SourceSpec.model_fields) - {"description"}


def test_a_host_overrides_only_the_rules_it_gives() -> None:
    spec = SourceSpec.model_validate(EVERY_KEY)

    policy = SourcePolicy.from_settings("x", spec)

    host = policy.rules_for("cdn.nba.com")
    assert host.hang_means_blocked is True
    assert host.status_overrides == {403: Outcome.AUTH}  # inherited from the source's rules
    assert host.quota_remaining_header == "x-left"
    assert policy.rules_for("stats.nba.com").hang_means_blocked is False
    assert policy.rate_for("cdn.nba.com").rate == pytest.approx(0.5)
    assert policy.quota is not None
    assert (policy.quota.remaining_header, policy.quota.used_header) == ("x-credits", "x-used")
