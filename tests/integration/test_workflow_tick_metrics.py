"""A tick's decision log end to end: what two tick "containers" push to a real Pushgateway, and the
JSON log line each decision writes.

Two `scrapers tick --replay` runs (in this process, each with its own metrics, as two one-job
containers have) share one SQLite state store and push to one real prometheus-pushgateway. The
gateway must then hold, under the tick's group, exactly the series the alert rules and the dashboard
read: `scraper_workflow_decisions_total{workflow, decision}` with the two ticks' decisions added up
(the fleet totals), `scraper_workflow_last_decision_timestamp_seconds{workflow}` at the second
tick's moment and `scraper_league_games{day}` from the schedule the first tick landed; and the runs'
own series under their scraper's group, as `scrapers run` pushes them.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scrapers.cli import main
from scrapers.metrics.exposition import PUSH_JOB
from scrapers.workflows.decide import KINDS
from scrapers.workflows.model import read_workflows
from tests.workflows.season import WORKFLOWS, A, build, eastern

pytestmark = pytest.mark.integration

FIRST, SECOND = eastern(A, 7, 5), eastern(A, 17, 5)
Series = dict[tuple[tuple[str, str], ...], float]


def _tick(folder: Path, out: Path, at: str, *more: str) -> list[dict[str, object]]:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(["tick", "--replay", str(folder), "--out", str(out), "--at", at, "--json", *more])
    assert code == 0
    decisions: list[dict[str, object]] = json.loads(captured.getvalue())
    return decisions


def _pushed(gateway: str) -> dict[str, Series]:
    """What the ticks pushed (job `courtside`), by sample name: {sorted labels: value}."""
    text = httpx.get(f"{gateway}/metrics", timeout=10.0).raise_for_status().text
    samples: dict[str, Series] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("job") != PUSH_JOB:
                continue
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "job" and v != ""))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def test_ticks_push_the_decision_series_added_up_and_log_each_decision_as_json(
    pushgateway: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = build(tmp_path / "recordings")["a_day"]
    out = tmp_path / "out"
    monkeypatch.setenv("COURTSIDE_STATE", f"sqlite:{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("COURTSIDE_WORKFLOWS", str(WORKFLOWS))
    monkeypatch.setenv("COURTSIDE_PUSHGATEWAY", pushgateway)
    monkeypatch.setenv("COURTSIDE_LOG_FORMAT", "json")
    capfd.readouterr()

    made = _tick(folder, out, FIRST) + _tick(folder, out, SECOND)

    # The decision log: one JSON line per decision, with its workflow, kind and reason.
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("logger") == "scrapers.workflows"]
    assert [(line["workflow"], line["decision"], line["reason"]) for line in logged] == [
        (d["workflow"], d["decision"], d["reason"]) for d in made
    ]
    assert {line["severity"] for line in logged} <= {"INFO", "WARNING"}

    pushed = _pushed(pushgateway)
    names = read_workflows(WORKFLOWS).names()
    tick = ("instance", "tick")

    # Every workflow x kind, zero-initialised; the two containers' decisions added up.
    decided = Counter((str(d["workflow"]), str(d["decision"])) for d in made)
    assert pushed["scraper_workflow_decisions_total"] == {
        (("decision", kind), tick, ("workflow", name)): float(decided[(name, kind)])
        for name in names
        for kind in KINDS
    }
    assert decided[("morning_operations", "run")] == 1
    assert decided[("injury_reports", "run")] == 1

    second = datetime.fromisoformat(SECOND.replace("Z", "+00:00")).timestamp()
    assert pushed["scraper_workflow_last_decision_timestamp_seconds"] == {
        (tick, ("workflow", name)): second for name in names
    }
    # The second tick read the schedule the first one landed: 4 games on 2024-01-15, none the day before.
    assert pushed["scraper_league_games"] == {
        (("day", "today"), tick): 4.0,
        (("day", "yesterday"), tick): 0.0,
    }
    assert pushed["scraper_build_info"]

    # An on-call `tick --workflow injury_reports` later replaces that workflow's group only: the
    # other workflows keep their last decision (blanking it would page WorkflowDecisionsStalled).
    third = eastern(A, 17, 35)
    _tick(folder, out, third, "--workflow", "injury_reports")
    stamps = _pushed(pushgateway)["scraper_workflow_last_decision_timestamp_seconds"]
    third_stamp = datetime.fromisoformat(third.replace("Z", "+00:00")).timestamp()
    assert stamps == {
        (tick, ("workflow", name)): third_stamp if name == "injury_reports" else second for name in names
    }

    # The runs pushed their own series, grouped by scraper, as `scrapers run` does.
    runs = pushed["scraper_runs_total"]
    assert runs[(("scraper", "nbac_schedule_cdn"), ("status", "success"))] == 1.0
    assert runs[(("scraper", "nbac_injury_report"), ("status", "success"))] == 1.0
    # The HTTP attempts are no scraper's alone: they are in the tick's runs' own group, never under
    # the scraper whose run happened to push first.
    attempts = pushed["scraper_attempts_total"]
    assert {dict(labels).get("instance") for labels in attempts} == {"tick-runs"}
    assert not [labels for labels in attempts if "scraper" in dict(labels)]
    answered = sum(value for labels, value in attempts.items() if dict(labels)["outcome"] == "ok")
    assert answered >= 2  # both ticks' runs fetched
