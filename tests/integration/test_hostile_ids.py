"""Ids and dates are checked at the boundary, before a request is sent or a path is built.

Real `scrapers run` / `run-many` processes against a loopback Upstream (COURTSIDE_UPSTREAMS): a
hostile id or an impossible date from the caller is bad input (exit 2) and reaches no upstream; a
hostile id in an upstream body (a fan-out parent's events) makes a child that is reported as
`invalid_options` and never run, while the well-formed children run and land.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tests.harness import Behaviour, Upstream, respond_json
from tests.unit.test_oddsa_common import HOU_AT_PHI, fixture_json

pytestmark = pytest.mark.integration

ODDS_API = "https://api.the-odds-api.com"
EVENTS_PATH = "/v4/sports/basketball_nba/events"
PROPS_PATH = f"/v4/sports/basketball_nba/events/{HOU_AT_PHI}/odds"
ODDS_KEY = "odds-key-canary-8d21f0"
BAD_INPUT = 2

HOSTILE_IDS = {
    "slash": "abc/def",
    "query": "x?apiKey=y",
    "newline": "abc\ndef",
    "dot-dot": "..",
    "nul": "abc\x00def",
}


def _env(upstream: Upstream) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    return {
        **base,
        "COURTSIDE_STATE": "memory",
        "COURTSIDE_UPSTREAMS": f"{ODDS_API}={upstream.url}",
        "ODDS_API_KEY": ODDS_KEY,
    }


def _scrapers(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *args],
        cwd=PROJECT_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _against_upstream(
    routes: dict[str, Behaviour], out: Path, *runs: list[str]
) -> tuple[list[subprocess.CompletedProcess[str]], int]:
    """Each argv run in turn against one Upstream; the processes and how many requests it saw."""

    async def scenario() -> tuple[list[subprocess.CompletedProcess[str]], int]:
        async with Upstream(routes) as upstream:
            env = _env(upstream)
            done = [await asyncio.to_thread(_scrapers, env, *argv, "--out", str(out)) for argv in runs]
            return done, upstream.count()

    return asyncio.run(scenario())


def _written(out: Path) -> list[Path]:
    return [path for path in out.rglob("*") if path.is_file()] if out.exists() else []


def _props_run(event_id: str, tmp_path: Path) -> list[str]:
    if "\x00" in event_id:
        # An argv cannot carry a NUL; a job file can (JSON `\u0000`), as a service body can.
        jobs = tmp_path / "jobs.json"
        job = {"scraper": "oddsa_player_props", "options": {"event_id": event_id, "game_date": "2024-01-15"}}
        jobs.write_text(json.dumps([job]))
        return ["run-many", "--file", str(jobs)]
    return ["run", "oddsa_player_props", "--event_id", event_id, "--game_date", "2024-01-15"]


@pytest.mark.parametrize("event_id", list(HOSTILE_IDS.values()), ids=list(HOSTILE_IDS))
def test_a_hostile_event_id_is_bad_input_and_reaches_no_upstream(tmp_path: Path, event_id: str) -> None:
    out = tmp_path / "out"
    (done,), requests = _against_upstream({PROPS_PATH: respond_json({})}, out, _props_run(event_id, tmp_path))

    assert done.returncode == BAD_INPUT, done.stderr
    assert "option 'event_id'" in done.stderr
    assert "is not an Odds API event id" in done.stderr
    assert "(example: 4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9)" in done.stderr
    # Quoted escaped: a newline or NUL in the value cannot split the one-line message; a value
    # shaped like a key parameter is masked by the redactor like any other.
    assert done.stderr.count("\n") == 1
    assert repr(event_id) in done.stderr if "apiKey" not in event_id else "apiKey=y" not in done.stderr
    assert requests == 0
    assert _written(out) == []


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["oddsa_events", "--game_date", "9999-12-31"], "game_date"),
        (["oddsa_events", "--game_date", "0999-01-01"], "game_date"),
        (["oddsa_events", "--game_date", "1945-12-31"], "game_date"),
        (["oddsa_events", "--game_date", "TODAY+400000"], "game_date"),
        (
            [
                "oddsa_events_his",
                "--game_date",
                "2024-01-15",
                "--snapshot_timestamp",
                "9999-12-31T23:00:00-05:00",
            ],
            "snapshot_timestamp",
        ),
        (["bdl_standings", "--season", "0999"], "season"),
    ],
    ids=["year-9999", "year-999", "before-1946", "today-plus-400000", "datetime-overflow", "season-999"],
)
def test_a_date_outside_1946_to_2100_is_bad_input_and_reaches_no_upstream(
    tmp_path: Path, args: list[str], option: str
) -> None:
    out = tmp_path / "out"
    (done,), requests = _against_upstream({EVENTS_PATH: respond_json([])}, out, ["run", *args])

    assert done.returncode == BAD_INPUT, done.stderr
    assert f"option '{option}'" in done.stderr
    assert "(example: " in done.stderr
    assert "Traceback" not in done.stderr
    assert requests == 0
    assert _written(out) == []


def test_the_first_and_last_years_are_accepted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runs = [["run", "oddsa_events", "--game_date", day, "--json"] for day in ("1946-11-01", "2100-12-31")]
    done, requests = _against_upstream({EVENTS_PATH: respond_json([])}, out, *runs)

    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    assert [json.loads(d.stdout)["status"] for d in done] == ["no_data", "no_data"]
    assert requests == 2


def _event(event_id: str, commence: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "sport_key": "basketball_nba",
        "sport_title": "NBA",
        "commence_time": commence,
        "home_team": "Philadelphia 76ers",
        "away_team": "Houston Rockets",
    }


def test_a_hostile_event_id_in_a_parent_body_makes_a_child_reported_and_never_run(tmp_path: Path) -> None:
    hostile = ["../../escape", "abc/def", "x?apiKey=y", "abc\ndef"]
    events = [_event(HOU_AT_PHI, "2024-01-15T18:00:00Z")] + [
        _event(event_id, "2024-01-15T19:30:00Z") for event_id in hostile
    ]
    props = fixture_json("oddsa_player_props-2024-01-15-HOUPHI")
    out = tmp_path / "out"

    async def scenario() -> tuple[subprocess.CompletedProcess[str], list[str]]:
        async with Upstream({EVENTS_PATH: respond_json(events), PROPS_PATH: respond_json(props)}) as upstream:
            argv = ["run-many", "oddsa_events", "--game_date", "2024-01-15", "--json", "--out", str(out)]
            done = await asyncio.to_thread(_scrapers, _env(upstream), *argv)
            return done, [request.path for request in upstream.requests]

    done, paths = asyncio.run(scenario())

    assert done.returncode == BAD_INPUT, done.stderr  # the worst run decides: the refused children
    views = json.loads(done.stdout)
    (parent,) = views
    children = {view["label"]: view for view in parent["children"]["runs"]}
    assert parent["result"]["status"] == "success"
    assert set(children) == {HOU_AT_PHI, *hostile}
    assert children[HOU_AT_PHI]["result"]["status"] == "success"
    for event_id in hostile:
        child = children[event_id]
        assert child["result"] is None
        assert child["error"]["type"] == "invalid_options"
        assert "is not an Odds API event id" in child["error"]["message"]
    # One request for the events, one for the well-formed child; none for a hostile id.
    assert sorted(paths) == sorted([EVENTS_PATH, PROPS_PATH])
    # Nothing landed outside the scraper folders, and no landed name carries a hostile id.
    landed = [path.relative_to(out).as_posix() for path in _written(out)]
    assert all(path.startswith(("odds-api/events/", "odds-api/player-props/", "_")) for path in landed), (
        landed
    )
    # Our own records (`_runs/`, `_ledger/`, `_outbox/`) are named by hex ids and digests, which can
    # contain "abc" by chance; the hostile ids could only reach the documents' names.
    documents = [path for path in landed if not path.startswith("_")]
    assert not [path for path in documents if any(part in path for part in ("abc", "escape", "apiKey"))]
    assert len([path for path in landed if path.startswith("odds-api/player-props/")]) == 1
