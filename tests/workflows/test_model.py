"""workflows.yaml: what `scrapers check` refuses (exit 2, naming the workflow and the key, with an
example), how the file reads, and the windows each trigger opens on a league day."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from scrapers.cli import main
from scrapers.core.errors import EXIT_USAGE
from scrapers.core.registry import load_registry
from scrapers.workflows.calendar import Game, LeagueDay
from scrapers.workflows.jobs import check_jobs, workflow_jobs
from scrapers.workflows.model import Every, read_workflows
from scrapers.workflows.triggers import NoWindow, Window, windows
from tests.conftest import PROJECT_ROOT

DAY = date(2024, 1, 15)


def _check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "workflows.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("COURTSIDE_WORKFLOWS", str(path))
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check"])
    return code, [line.removeprefix("problem: ") for line in captured.getvalue().splitlines()]


def test_the_project_workflows_pass_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURTSIDE_WORKFLOWS", raising=False)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(["check"])
    assert code == 0, captured.getvalue()
    assert f"8 workflows in {PROJECT_ROOT / 'workflows.yaml'}" in captured.getvalue()
    # Every job of every workflow resolves at a window of a game day in the file's own season too.
    workflows = read_workflows(PROJECT_ROOT / "workflows.yaml")
    assert check_jobs(load_registry(), workflows, datetime(2026, 1, 15, 22, 5, tzinfo=UTC)) == []


def test_an_unknown_scraper_option_keyword_or_child_is_exit_2_naming_the_workflow_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, problems = _check(
        tmp_path,
        monkeypatch,
        """
workflows:
  morning:
    description: the morning
    trigger: {at: "08:00"}
    jobs:
      - scraper: nbac_scorebord_v2
        options: {game_date: TODAY}
  injuries:
    description: injuries
    trigger: {every: 15m, from: "08:00", to: "23:45"}
    jobs:
      - scraper: nbac_injury_report
        options: {game_date: YESTERDAYY, period: NOW, hours: NOW}
  lines:
    description: lines
    trigger: {before_first_tip: 3h}
    jobs:
      - scraper: oddsa_events
        options: {game_date: TODAY}
        fan_out: [oddsa_player_propz]
      - scraper: nbac_scoreboard_v2
        options: {game_date: NOW}
""",
    )
    assert code == EXIT_USAGE
    assert problems == [
        "workflow 'morning', job 1 (nbac_scorebord_v2): unknown scraper 'nbac_scorebord_v2' "
        "(did you mean 'nbac_scoreboard_v2'?) (`scrapers list` names them; example: nbac_scoreboard_v2)",
        "workflow 'injuries', job 1 (nbac_injury_report): option 'hours': is not an option of this scraper "
        "(did you mean 'hour'?) (its options: game_date, hour, minute, period) (example: 2024-01-15)",
        "workflow 'injuries', job 1 (nbac_injury_report): option 'game_date': 'YESTERDAYY' is not a date; "
        "use YYYY-MM-DD, YYYYMMDD, TODAY, YESTERDAY or TODAY-3 (example: 2024-01-15)",
        "workflow 'injuries', job 1 (nbac_injury_report): option 'hour': is required and missing "
        "(example: 5)",
        "workflow 'lines', job 1 (oddsa_events): option 'fan_out': oddsa_events has no child "
        "oddsa_player_propz (its children: oddsa_player_props, oddsa_game_lines) (example: true)",
        "workflow 'lines', job 2 (nbac_scoreboard_v2): option 'game_date': takes no NOW (NOW is the current "
        "time for datetimes, and the current hour, period or quarter hour for an option that is part of a "
        "report time; game_date is a date) (example: 2024-01-15)",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "workflows:\n  m:\n    description: d\n    trigger: {at: '25:00'}\n"
            "    jobs: [{scraper: bdl_teams}]\n",
            "workflows.yaml: workflow 'm': trigger.at: '25:00' is not a time of day HH:MM (24-hour clock) "
            "(example: '08:00')",
        ),
        (
            "workflows:\n  m:\n    description: d\n    trigger: {every: 15 min, from: '08:00', to: '09:00'}\n"
            "    jobs: [{scraper: bdl_teams}]\n",
            "workflows.yaml: workflow 'm': trigger.every: '15 min' is not a duration: "
            "a number and a unit s, m, h or d (example: 15m)",
        ),
        (
            "workflows:\n  m:\n    description: d\n    trigger: {at: '08:00', every: 15m}\n"
            "    jobs: [{scraper: bdl_teams}]\n",
            "workflows.yaml: workflow 'm': trigger: a trigger has exactly one of at, every, "
            "before_first_tip, after_last_final, morning_after (example: {at: '08:00'})",
        ),
        (
            "workflows:\n  m:\n    description: d\n    trigger: {at: '08:00'}\n"
            "    jobs: [{scraper: bdl_teams, fan_ot: true}]\n",
            "workflows.yaml: workflow 'm': job 1: fan_ot: is not a key here "
            "(known: scraper, options, fan_out, child_options, refresh)",
        ),
        (
            "workflows:\n  Morning-Ops:\n    description: d\n    trigger: {at: '08:00'}\n"
            "    jobs: [{scraper: bdl_teams}]\n",
            "workflows.yaml: workflow name 'Morning-Ops' is not lower-case letters, digits and _ "
            "(at most 48, starting with a letter; example: morning_operations)",
        ),
        (
            "workflows:\n  after:\n    description: d\n    trigger: {morning_after: '06:00'}\n"
            "    recover: [post_game]\n",
            "workflows.yaml: workflow 'after': recover: 'post_game' is not a workflow of this file "
            "(its workflows: after)",
        ),
        (
            "workflows:\n  m:\n    description: d\n    trigger: {at: '08:00'}\n    recover: [m]\n",
            "workflows.yaml: workflow 'm': 'recover' belongs to a {morning_after: ...} trigger "
            "(yesterday's games)",
        ),
    ],
)
def test_a_bad_file_is_exit_2_naming_the_workflow_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    code, problems = _check(tmp_path, monkeypatch, text)
    assert code == EXIT_USAGE
    assert problems == [problem]


def test_times_and_team_codes_need_no_quotes(tmp_path: Path) -> None:
    """YAML 1.1 would read 17:00 as the number 1020 and NO (New Orleans' ESPN code) as false."""
    path = tmp_path / "workflows.yaml"
    path.write_text(
        "workflows:\n"
        "  rosters:\n"
        "    description: two rosters\n"
        "    trigger: {every: 30m, from: 17:00, to: 23:30}\n"
        "    jobs: [{scraper: espn_roster, options: {team_abbr: [NO, NY]}, refresh: yes}]\n",
        encoding="utf-8",
    )
    workflows = read_workflows(path)
    trigger = workflows.workflows["rosters"].trigger
    assert isinstance(trigger, Every)
    assert (trigger.start, trigger.end) == (time(17, 0), time(23, 30))
    jobs = workflow_jobs(load_registry(), workflows, "rosters", DAY, datetime(2024, 1, 15, 22, 0, tzinfo=UTC))
    assert [job.describe() for job in jobs] == ["espn_roster team_abbr=NO", "espn_roster team_abbr=NY"]


def test_date_keywords_count_from_the_windows_league_day_not_the_clock() -> None:
    """A post-game window due at 00:40 still fetches the evening's games (the old system's
    yesterday/today mix-up)."""
    workflows = read_workflows(PROJECT_ROOT / "workflows.yaml")
    after_midnight = datetime(2024, 1, 16, 5, 40, tzinfo=UTC)  # 00:40 Eastern on the 16th
    [scoreboard] = workflow_jobs(load_registry(), workflows, "post_game", DAY, after_midnight)
    assert scoreboard.job.option_texts() == {"game_date": "2024-01-15"}
    assert [f.child for f in scoreboard.fan_out] == [
        "nbac_gamebook_pdf",
        "nbac_play_by_play",
        "nbac_team_boxscore",
    ]
    assert scoreboard.refresh


def _league(day: date, tips: list[int], finals: list[datetime | None] | None = None) -> LeagueDay:
    finals = finals or [None] * len(tips)
    games = tuple(
        Game(
            f"00223006{i:02d}",
            None,
            "AAA",
            "BBB",
            datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
            False,
            final,
        )
        for i, (hour, final) in enumerate(zip(tips, finals, strict=True))
    )
    return LeagueDay(day, True, games, "schedule.json", 1)


def test_an_overnight_range_keeps_its_league_day() -> None:
    trigger = Every.model_validate({"every": "30m", "from": "23:00", "to": "01:00"})
    opened = windows("w", trigger, timedelta(minutes=30), _league(DAY, [23]), None, DAY)
    assert isinstance(opened, list)
    assert [(w.id, w.day) for w in opened] == [
        ("2024-01-15@23:00", DAY),
        ("2024-01-15@23:30", DAY),
        ("2024-01-15@00:00+1", DAY),
        ("2024-01-15@00:30+1", DAY),
        ("2024-01-15@01:00+1", DAY),
    ]
    assert all(isinstance(w, Window) for w in opened)


def test_a_day_without_games_opens_no_game_day_window_and_says_so() -> None:
    trigger = Every.model_validate({"every": "15m", "from": "08:00", "to": "09:00"})
    off = LeagueDay(DAY, True, (), "schedule.json", 0)
    assert windows("w", trigger, timedelta(minutes=15), off, None, DAY) == NoWindow(DAY, "no game today")
    unknown = LeagueDay(DAY, False, unknown_reason="no schedule of 2023-24 has landed")
    found = windows("w", trigger, timedelta(minutes=15), unknown, None, DAY)
    assert found == NoWindow(DAY, "no schedule of 2023-24 has landed", unknown=True)


def test_after_last_final_waits_for_every_game_then_is_due_after_the_last() -> None:
    workflows = read_workflows(PROJECT_ROOT / "workflows.yaml")
    post = workflows.workflows["post_game"]
    first_final = datetime(2024, 1, 16, 2, 30, tzinfo=UTC)
    waiting = windows(
        "post_game", post.trigger, post.stale, _league(DAY, [0, 3], [first_final, None]), None, DAY
    )
    assert isinstance(waiting, list)
    [pending] = waiting
    assert pending.due is None
    assert pending.waiting.startswith("1 of 2 games final")
    last_final = datetime(2024, 1, 16, 5, 40, tzinfo=UTC)
    done = windows(
        "post_game", post.trigger, post.stale, _league(DAY, [0, 3], [first_final, last_final]), None, DAY
    )
    assert isinstance(done, list)
    [due] = done
    assert due.due == last_final + timedelta(minutes=30)
    assert due.about == "2 games final since 2024-01-16 00:40"
