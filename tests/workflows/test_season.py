"""The game-aware schedule over a recorded slice of a season, on a frozen clock (issue 19's Done when).

The clock steps through game day A (4 games), off day B, game day C (2 games) and, after a 45-hour
outage, a day without games. At every step `scrapers plan` and then `scrapers tick` run in this
process (replay, as `scrapers demo` does), against one SQLite state store and one output folder;
the tables below are exactly what they must decide, workflow by workflow, in file order.

Not sleeps: a step's clock is the `--at` moment; everything else is what the previous steps landed.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scrapers.cli import main
from tests.conftest import PROJECT_ROOT
from tests.workflows.season import WORKFLOWS, A, B, C, after, build, eastern

# (workflow, decision, window, a part of the reason)
Row = tuple[str, str, str | None, str]
NO_SCHEDULE = "no schedule of 2023-24 has landed"


@dataclass(frozen=True)
class Step:
    phase: str  # the replay folder: the recordings as they were at that time (season.py)
    at: str
    expected: list[Row]


GAP_START = eastern(C, 20, 5)
STEPS = (
    Step(
        "a_day",
        eastern(A, 7, 5),
        [
            (
                "morning_operations",
                "run",
                "2024-01-15",
                "running nbac_schedule_cdn, nbac_player_list, nbac_roster",
            ),
            ("injury_reports", "skip", None, NO_SCHEDULE),
            ("betting_lines", "skip", None, NO_SCHEDULE),
            ("live_scoreboard", "skip", None, NO_SCHEDULE),
            ("post_game", "skip", None, NO_SCHEDULE),
            ("morning_after", "skip", None, "the calendar of 2024-01-14 is unknown"),
        ],
    ),
    Step(
        "a_day",
        eastern(A, 11, 35),
        [
            ("morning_operations", "nothing_due", None, "07:00 window ran at 07:05 (3 jobs: 3 success)"),
            ("injury_reports", "nothing_due", None, "next: the 17:00 window"),
            ("betting_lines", "run", "2024-01-15", "first tip at 14:30, running oddsa_events, bp_events"),
            ("live_scoreboard", "nothing_due", None, "next: the 12:00 window"),
            ("post_game", "nothing_due", "2024-01-15", "0 of 4 games final (last tip 22:30)"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    Step(
        "a_day",
        eastern(A, 17, 5),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-16 07:00 window"),
            ("injury_reports", "run", "2024-01-15@17:00", "the 17:00 window, running nbac_injury_report"),
            ("betting_lines", "nothing_due", None, "ran at 11:35 (2 jobs: 6 success, 1 no_data)"),
            ("live_scoreboard", "stale", None, "10 windows missed from 12:00 to 16:30"),
            ("live_scoreboard", "run", "2024-01-15@17:00", "running nbac_scoreboard_v2"),
            ("post_game", "nothing_due", "2024-01-15", "no scoreboard of the day has landed"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    # A second tick in the same window: nothing runs.
    Step(
        "a_day",
        eastern(A, 17, 6),
        [
            ("morning_operations", "nothing_due", None, "ran at 07:05"),
            ("injury_reports", "nothing_due", None, "the 17:00 window ran at 17:05 (1 job: 1 success)"),
            ("betting_lines", "nothing_due", None, "ran at 11:35"),
            ("live_scoreboard", "nothing_due", None, "the 17:00 window ran at 17:05 (1 job: 1 success)"),
            ("post_game", "nothing_due", "2024-01-15", "2 of 4 games final"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    Step(
        "a_night",
        eastern(A, 23, 35),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-16 07:00 window"),
            (
                "injury_reports",
                "stale",
                "2024-01-15@18:00",
                "the 18:00 window was missed (due 18:00, 5 h 35 min ago",
            ),
            ("injury_reports", "nothing_due", None, "the 17:00 window ran at 17:05"),
            ("betting_lines", "nothing_due", None, "ran at 11:35"),
            ("live_scoreboard", "stale", None, "12 windows missed from 17:30 to 23:00"),
            ("live_scoreboard", "run", "2024-01-15@23:30", "running nbac_scoreboard_v2"),
            ("post_game", "nothing_due", "2024-01-15", "2 of 4 games final"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    Step(
        "a_final",
        eastern(B, 1, 40),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-16 07:00 window"),
            ("injury_reports", "skip", None, "no game today"),
            ("betting_lines", "skip", None, "no game today"),
            ("live_scoreboard", "stale", None, "3 windows missed from 00:00 to 01:00"),
            ("live_scoreboard", "run", "2024-01-15@01:30+1", "the 01:30+1 window"),
            ("post_game", "nothing_due", "2024-01-15", "3 of 4 games final (last tip 22:30)"),
            ("morning_after", "nothing_due", None, "next at 06:00 (the 4 games of 2024-01-15)"),
        ],
    ),
    Step(
        "a_final",
        eastern(B, 2, 15),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-16 07:00 window"),
            ("injury_reports", "skip", None, "no game today"),
            ("betting_lines", "skip", None, "no game today"),
            ("live_scoreboard", "run", "2024-01-15@02:00+1", "the 02:00+1 window"),
            (
                "post_game",
                "run",
                "2024-01-15",
                "4 games final since 2024-01-16 01:40, running nbac_scoreboard_v2, 4 × nbac_gamebook_pdf",
            ),
            ("morning_after", "nothing_due", None, "next at 06:00"),
        ],
    ),
    Step(
        "b_morning",
        eastern(B, 6, 5),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-16 07:00 window"),
            ("injury_reports", "skip", None, "no game today"),
            ("betting_lines", "skip", None, "no game today"),
            ("live_scoreboard", "skip", None, "no game today"),
            ("post_game", "skip", None, "no game today"),
            (
                "morning_after",
                "run",
                "2024-01-16",
                "3 failed of the 5 jobs of post_game for the games of 2024-01-15: "
                "re-running 3 × nbac_gamebook_pdf",
            ),
        ],
    ),
    Step(
        "b_morning",
        eastern(B, 7, 5),
        [
            ("morning_operations", "run", "2024-01-16", "the 2024-01-16 07:00 window"),
            ("injury_reports", "skip", None, "no game today"),
            ("betting_lines", "skip", None, "no game today"),
            ("live_scoreboard", "skip", None, "no game today"),
            ("post_game", "skip", None, "no game today"),
            (
                "morning_after",
                "nothing_due",
                None,
                "the 4 games of 2024-01-15 ran at 06:05 (3 jobs: 3 success)",
            ),
        ],
    ),
    Step(
        "c_day",
        eastern(C, 7, 5),
        [
            ("morning_operations", "run", "2024-01-17", "the 2024-01-17 07:00 window"),
            ("injury_reports", "nothing_due", None, "next: the 17:00 window"),
            ("betting_lines", "nothing_due", None, "next at 16:30 (the 2024-01-17 first tip at 19:30)"),
            ("live_scoreboard", "nothing_due", None, "next: the 12:00 window"),
            ("post_game", "nothing_due", "2024-01-17", "0 of 2 games final (last tip 22:00)"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    # The last tick before the outage: C's games are under way.
    Step(
        "c_day",
        GAP_START,
        [
            ("morning_operations", "nothing_due", None, "ran at 07:05"),
            ("injury_reports", "stale", None, "2 windows missed from 17:00 to 18:00"),
            ("injury_reports", "nothing_due", None, "no other window today"),
            (
                "betting_lines",
                "stale",
                "2024-01-17",
                "first tip at 19:30 was missed (due 16:30, 3 h 35 min ago",
            ),
            ("betting_lines", "nothing_due", None, "no other window today"),
            ("live_scoreboard", "stale", None, "16 windows missed from 12:00 to 19:30"),
            ("live_scoreboard", "run", "2024-01-17@20:00", "running nbac_scoreboard_v2"),
            ("post_game", "nothing_due", "2024-01-17", "0 of 2 games final"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    # 45 hours later: the recovery of C's games is caught up; what is too old is stale.
    Step(
        "after_gap",
        after(GAP_START, 45),
        [
            ("morning_operations", "stale", "2024-01-18", "the 2024-01-18 07:00 window was missed"),
            ("morning_operations", "catch_up", "2024-01-19", "(due 07:00, 10 h 05 min late)"),
            ("injury_reports", "skip", None, "no game today"),
            ("betting_lines", "skip", None, "no game today"),
            ("live_scoreboard", "stale", None, "12 windows missed from 2024-01-17 20:30 to 2024-01-18 02:00"),
            ("live_scoreboard", "skip", None, "no game today"),
            ("post_game", "stale", "2024-01-17", "0 of 2 games final (last tip 22:00) by 2024-01-18 08:30"),
            ("post_game", "skip", None, "no game today"),
            (
                "morning_after",
                "catch_up",
                "2024-01-18",
                "3 missing of the 3 jobs of post_game for the games of 2024-01-17: "
                "re-running 2 × nbac_gamebook_pdf, nbac_scoreboard_v2 "
                "(due 2024-01-18 06:00, 35 h 05 min late)",
            ),
        ],
    ),
)


@dataclass
class Stepped:
    step: Step
    planned: list[dict[str, Any]]
    ticked: list[dict[str, Any]]
    landed: set[str] = field(default_factory=set)  # documents landed by this step's tick


@dataclass
class Replayed:
    out: Path
    steps: list[Stepped]


def _cli(*argv: str) -> list[dict[str, Any]]:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(list(argv))
    assert code == 0, captured.getvalue()
    decisions: list[dict[str, Any]] = json.loads(captured.getvalue())
    return decisions


def _documents(out: Path) -> set[str]:
    """Landed documents (our own records under `_*/` left out)."""
    return {
        path.relative_to(out).as_posix()
        for path in out.rglob("*")
        if path.is_file() and not path.relative_to(out).parts[0].startswith("_")
    }


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    root = tmp_path_factory.mktemp("season")
    phases = build(root / "recordings")
    out = root / "out"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COURTSIDE_STATE", f"sqlite:{root / 'state.sqlite'}")
        env.setenv("COURTSIDE_WORKFLOWS", str(WORKFLOWS))
        env.delenv("COURTSIDE_PUSHGATEWAY", raising=False)
        env.delenv("COURTSIDE_JOBS_TOPIC", raising=False)
        steps = []
        for step in STEPS:
            before = _documents(out) if out.exists() else set()
            planned = _cli("plan", "--out", str(out), "--at", step.at, "--json")
            ticked = _cli(
                "tick", "--replay", str(phases[step.phase]), "--out", str(out), "--at", step.at, "--json"
            )
            steps.append(Stepped(step, planned, ticked, _documents(out) - before))
        yield Replayed(out, steps)


def _rows(decisions: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(d["workflow"], d["decision"], d["window"]) for d in decisions]


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[f"{s.phase}@{s.at}" for s in STEPS])
def test_plan_and_tick_make_exactly_the_expected_decisions(replayed: Replayed, index: int) -> None:
    stepped = replayed.steps[index]
    expected = [(workflow, decision, window) for workflow, decision, window, _ in stepped.step.expected]

    assert _rows(stepped.ticked) == expected
    # The dry run at the same moment, before the tick, said exactly what the tick then did.
    assert _rows(stepped.planned) == expected
    for decision, (_, _, _, reason) in zip(stepped.ticked, stepped.step.expected, strict=True):
        assert reason in decision["reason"], decision
    for planned, ticked in zip(stepped.planned, stepped.ticked, strict=True):
        assert planned["reason"] == ticked["reason"]


def test_the_jobs_the_ticks_run_land(replayed: Replayed) -> None:
    landed = {path for stepped in replayed.steps for path in stepped.landed}

    def under(prefix: str) -> set[str]:
        return {path for path in landed if path.startswith(prefix)}

    # Every gamebook of both game days: A's four (three of them by the morning-after recovery) and
    # C's two (caught up after the outage), each document with its PDF.
    gamebooks = {path.split("/")[3] for path in under("nba-com/gamebooks-data/")}
    assert gamebooks == {
        "20240115-NOPDAL",
        "20240115-HOUPHI",
        "20240115-GSWMEM",
        "20240115-OKCLAL",
        "20240117-BOSMIL",
        "20240117-DENLAC",
    }
    assert {path.split("/")[3] for path in under("nba-com/gamebooks-pdf/")} == gamebooks
    assert len(under("nba-com/injury-report-data/2024-01-15/17/")) == 1
    # Props of all four of A's events (one answered 204: no data, nothing lands) and BettingPros'.
    assert len(under("odds-api/player-props/2024-01-15/")) == 3
    assert under("bettingpros/player-props/points/2024-01-15/")
    # Schedules on each morning the workflow ran (A, B, C, and the one caught up after the gap).
    assert len(under("nba-com/schedule-cdn/2023-24/")) == 4
    # Every completion names what landed; none of the runs failed except A's three gamebooks that
    # were not published before the morning after.
    completions = [
        json.loads(line)
        for line in (replayed.out / "_events" / "completions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    failed = sorted(c["metadata"]["opts"]["game_code"] for c in completions if c["status"] == "failed")
    assert failed == ["20240115/HOUPHI", "20240115/NOPDAL", "20240115/OKCLAL"]
    # Each run says which workflow ran it, fan-out children included.
    by_scraper = {(c["processor_name"], c["metadata"]["workflow"]) for c in completions}
    assert ("nbac_injury_report", "injury_reports") in by_scraper
    assert {workflow for scraper, workflow in by_scraper if scraper == "nbac_gamebook_pdf"} == {
        "post_game",
        "morning_after",
    }
    assert {c["trigger_source"] for c in completions} == {"tick"}


def test_a_second_tick_in_the_same_window_runs_nothing(replayed: Replayed) -> None:
    first, second = replayed.steps[2], replayed.steps[3]
    assert first.step.at < second.step.at
    assert any(d["decision"] == "run" for d in first.ticked)
    assert second.landed == set()
    assert all(d["outcome"] is None for d in second.ticked)


def test_after_a_45_hour_gap_the_recovery_is_caught_up_and_the_stale_is_skipped(replayed: Replayed) -> None:
    last, gap = replayed.steps[-2], replayed.steps[-1]
    assert last.step.at == GAP_START
    assert gap.step.at == after(GAP_START, 45)
    recovery = next(d for d in gap.ticked if d["workflow"] == "morning_after")
    assert recovery["decision"] == "catch_up"
    assert recovery["outcome"] == "3 success"
    assert {path.split("/")[3] for path in gap.landed if path.startswith("nba-com/gamebooks-data/")} == {
        "20240117-BOSMIL",
        "20240117-DENLAC",
    }
    stale = {d["workflow"] for d in gap.ticked if d["decision"] == "stale"}
    assert stale == {"morning_operations", "live_scoreboard", "post_game"}
    # Stale windows are recorded as such and never run later.
    record = json.loads((replayed.out / "_workflows" / "post_game.json").read_text())
    assert record["windows"]["2024-01-17"]["state"] == "stale"


def test_every_decision_is_recorded_beside_the_data(replayed: Replayed) -> None:
    for name in (
        "morning_operations",
        "injury_reports",
        "betting_lines",
        "live_scoreboard",
        "post_game",
        "morning_after",
    ):
        record = json.loads((replayed.out / "_workflows" / f"{name}.json").read_text())
        made = [d for stepped in replayed.steps for d in stepped.ticked if d["workflow"] == name]
        assert [(d["at"], d["decision"]) for d in record["decisions"]] == [
            (d["at"], d["decision"]) for d in made
        ]


# --------------------------------------------------------------------------------- the real file


FIRST_TICK = "was before this output's first tick of the workflow"
REAL = [
    # (moment, the workflows decided (none: every one), the rows they decide)
    (
        eastern(A, 10, 5),
        (),
        [
            ("morning_operations", "nothing_due", None, f"the 2024-01-15 07:00 window {FIRST_TICK} (09:50)"),
            (
                "referee_assignments",
                "run",
                "2024-01-15",
                "the 2024-01-15 10:00 window, running nbac_referee_assignments",
            ),
            ("injury_reports", "run", "2024-01-15@10:00", "the 10:00 window, running nbac_injury_report"),
            ("betting_lines", "nothing_due", None, "next at 11:30 (the 2024-01-15 first tip at 14:30)"),
            ("closing_lines", "nothing_due", None, "next at 14:10 (the 2024-01-15 first tip at 14:30)"),
            ("live_scoreboard", "nothing_due", None, "next: the 12:00 window"),
            ("post_game", "nothing_due", "2024-01-15", "0 of 4 games final (last tip 22:30)"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
    (
        eastern(A, 11, 35),
        ("betting_lines", "closing_lines"),
        [
            (
                "betting_lines",
                "run",
                "2024-01-15",
                "running oddsa_events, bp_events, oddsa_player_props per event, oddsa_game_lines per event",
            ),
            ("closing_lines", "nothing_due", None, "next at 14:10"),
        ],
    ),
    (
        eastern(B, 2, 15),
        (),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-16 07:00 window"),
            ("referee_assignments", "skip", None, "no game today"),
            ("injury_reports", "skip", None, "no game today"),
            ("betting_lines", "skip", None, "no game today"),
            ("closing_lines", "skip", None, "no game today"),
            (
                "live_scoreboard",
                "run",
                "2024-01-15@02:15+1",
                "the 02:15+1 window, running nbac_scoreboard_v2",
            ),
            (
                "post_game",
                "run",
                "2024-01-15",
                "4 games final since 2024-01-16 01:40, running nbac_scoreboard_v2, 4 × nbac_gamebook_pdf, "
                "4 × nbac_play_by_play, 4 × nbac_team_boxscore",
            ),
            ("morning_after", "nothing_due", None, "next at 06:00 (the 4 games of 2024-01-15)"),
        ],
    ),
    (
        eastern(B, 6, 5),
        ("morning_after",),
        [
            (
                "morning_after",
                "run",
                "2024-01-16",
                "13 missing of the 13 jobs of post_game for the games of 2024-01-15: re-running "
                "4 × nbac_gamebook_pdf, 4 × nbac_play_by_play, nbac_scoreboard_v2, 4 × nbac_team_boxscore",
            ),
        ],
    ),
    (
        eastern(C, 17, 5),
        (),
        [
            ("morning_operations", "nothing_due", None, "next: the 2024-01-18 07:00 window"),
            ("referee_assignments", "nothing_due", None, f"the 2024-01-17 10:00 window {FIRST_TICK}"),
            ("injury_reports", "run", "2024-01-17@17:00", "the 17:00 window, running nbac_injury_report"),
            ("betting_lines", "nothing_due", None, f"the 2024-01-17 first tip at 19:30 {FIRST_TICK}"),
            ("closing_lines", "nothing_due", None, "next at 19:10 (the 2024-01-17 first tip at 19:30)"),
            ("live_scoreboard", "run", "2024-01-17@17:00", "the 17:00 window, running nbac_scoreboard_v2"),
            ("post_game", "nothing_due", "2024-01-17", "0 of 2 games final (last tip 22:00)"),
            ("morning_after", "skip", None, "no game yesterday"),
        ],
    ),
]


@pytest.mark.parametrize(("at", "only", "expected"), REAL, ids=[at for at, _, _ in REAL])
def test_the_project_workflows_decide_from_the_same_calendar(
    replayed: Replayed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    at: str,
    only: tuple[str, ...],
    expected: list[Row],
) -> None:
    """workflows.yaml itself, planned over what the slice landed (a fresh state store: a first tick)."""
    monkeypatch.setenv("COURTSIDE_STATE", f"sqlite:{tmp_path / 'state.sqlite'}")
    monkeypatch.setenv("COURTSIDE_WORKFLOWS", str(PROJECT_ROOT / "workflows.yaml"))
    flags = [flag for name in only for flag in ("--workflow", name)]
    planned = _cli("plan", "--out", str(replayed.out), "--at", at, "--json", *flags)

    assert _rows(planned) == [(workflow, decision, window) for workflow, decision, window, _ in expected]
    for decision, (_, _, _, reason) in zip(planned, expected, strict=True):
        assert reason in decision["reason"], decision
