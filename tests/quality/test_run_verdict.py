"""A run's verdict end to end: the document still lands, the verdict rides along, the policy decides.

BallDontLie answers the project's synthetic game with four Philadelphia players' minutes halved: the
run lands the document, says `fail` in it and in the completion, counts the checks, and (policy
`fail_marks_partial: true` in registry.yaml) reports `partial` with exit code 0.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from scrapers import cli
from scrapers.cli.common import exit_code
from scrapers.core.clock import FrozenClock
from scrapers.core.outcome import RunStatus
from scrapers.core.registry import QualityPolicy, inspect_registry, load_registry
from scrapers.core.result import RunResult
from scrapers.core.verdict import Check, Status, Verdict
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.metrics.fleet import FleetMetrics
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.quality.verdict import quality_status
from scrapers.sinks.file import FileSink
from tests.quality import documents

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))


def _run(out: Path, game: dict[str, Any], metrics: FleetMetrics) -> RunResult:
    registry = load_registry()

    async def go() -> RunResult:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"data": [game]}))
        fetcher = Fetcher(transport=transport, secrets={"BDL_API_KEY": "test-key"}.get, throttle=False)
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(out),
            events=local_delivery(out),
            clock=CLOCK,
            metrics=metrics,
            new_run_id=lambda: "quality1",
        )
        try:
            return await run_job(prepare(registry, "bdl_box_scores", {"date": documents.DAY}, CLOCK), ctx)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def _event(out: Path) -> dict[str, Any]:
    (line,) = (out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
    event: dict[str, Any] = json.loads(line)
    return event


def _sample(metrics: FleetMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_halved_minutes_land_with_a_fail_verdict_and_a_partial_run(tmp_path: Path) -> None:
    metrics = FleetMetrics()
    metrics.initialise([("bdl_box_scores", "bdl")], ["direct"], [])
    result = _run(tmp_path, documents.bdl_game(documents.halved_names()), metrics)

    assert result.status is RunStatus.PARTIAL
    assert result.ok
    assert exit_code(result) == cli.EXIT_OK
    assert result.quality is not None
    assert result.quality.status is Status.FAIL
    (path,) = result.landed
    landed = json.loads(Path(path).read_text(encoding="utf-8"))
    assert landed["boxScores"] == [documents.bdl_game(documents.halved_names())]  # nothing dropped
    assert "quality" not in landed
    event = _event(tmp_path)
    quality = event["metadata"]["quality"]
    assert quality["status"] == "fail"
    assert [(c["name"], c["status"]) for c in quality["failed_checks"]] == [("team_minutes", "fail")]
    assert "PHI in 20240115_HOU_PHI: 174.0 of 240 minutes" in quality["failed_checks"][0]["detail"]

    assert event["status"] == "partial"
    assert result.to_dict()["quality"] == quality

    labels = {"scraper": "bdl_box_scores", "check": "team_minutes"}
    assert _sample(metrics, "scraper_quality_checks_total", **labels) == 1
    assert _sample(metrics, "scraper_quality_failed_checks_total", **labels) == 1
    assert (
        _sample(metrics, "scraper_quality_failed_checks_total", scraper="bdl_box_scores", check="team_points")
        == 0
    )
    assert _sample(metrics, "scraper_quality_verdicts_total", scraper="bdl_box_scores", status="fail") == 1
    assert _sample(metrics, "scraper_quality_last_fail_timestamp_seconds", scraper="bdl_box_scores") > 0
    assert _sample(metrics, "scraper_runs_total", scraper="bdl_box_scores", status="partial") == 1


def test_a_consistent_box_score_is_ok_and_a_success(tmp_path: Path) -> None:
    metrics = FleetMetrics()
    metrics.initialise([("bdl_box_scores", "bdl")], ["direct"], [])
    result = _run(tmp_path, documents.bdl_game(), metrics)

    assert result.status is RunStatus.SUCCESS
    assert _event(tmp_path)["metadata"]["quality"] == {"status": "ok", "checks": 16, "failed_checks": []}
    assert _sample(metrics, "scraper_quality_verdicts_total", scraper="bdl_box_scores", status="ok") == 1
    assert _sample(metrics, "scraper_quality_verdicts_total", scraper="bdl_box_scores", status="fail") == 0
    assert b"scraper_quality_failed_checks_total" in generate_latest(metrics.registry)


FAIL = Verdict((Check("team_minutes", Status.FAIL),))
WARN = Verdict((Check("known_statuses", Status.WARN),))


@pytest.mark.parametrize(
    ("status", "verdict", "policy", "expected"),
    [
        (RunStatus.SUCCESS, FAIL, True, RunStatus.PARTIAL),
        (RunStatus.SUCCESS, FAIL, False, RunStatus.SUCCESS),
        (RunStatus.SUCCESS, WARN, True, RunStatus.SUCCESS),
        (RunStatus.NO_DATA, FAIL, True, RunStatus.NO_DATA),
        (RunStatus.FAILED, FAIL, True, RunStatus.FAILED),
        (RunStatus.FAILED, None, True, RunStatus.FAILED),
    ],
)
def test_only_a_fail_of_a_success_under_the_policy_is_partial(
    status: RunStatus, verdict: Verdict | None, policy: bool, expected: RunStatus
) -> None:
    assert quality_status(status, verdict, QualityPolicy(fail_marks_partial=policy)) is expected


def test_the_policy_defaults_to_false_and_registry_yaml_sets_it_for_bdl_box_scores() -> None:
    registry = load_registry()
    assert registry.get("bdl_box_scores").quality.fail_marks_partial
    assert registry.get("bdl_player_box_scores").quality.fail_marks_partial
    assert not registry.get("espn_game_boxscore").quality.fail_marks_partial


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('{fail_marks_partial: "yes"}', "quality.fail_marks_partial must be true or false, not 'yes'"),
        ("{fail_on_warn: true}", "unknown 'quality' key(s) fail_on_warn (known: fail_marks_partial)"),
        ("strict", "'quality' must be a mapping like {fail_marks_partial: true}"),
    ],
)
def test_registry_rejects_a_bad_quality_policy(tmp_path: Path, value: str, problem: str) -> None:
    text = load_registry().path.read_text(encoding="utf-8")
    anchor = "    path: ball-dont-lie/teams/{date}/{timestamp}.json\n"
    broken = tmp_path / "registry.yaml"
    broken.write_text(text.replace(anchor, f"{anchor}    quality: {value}\n"), encoding="utf-8")
    _, problems = inspect_registry(broken)
    assert problems == [f"bdl_teams: {problem}"]
