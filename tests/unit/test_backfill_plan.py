"""Backfill planning: the option vocabulary's ranges, lists and files, seasons from a schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions
from scrapers.core.fanout import GameRef
from scrapers.core.registry import load_registry
from scrapers.pipeline.backfill import BackfillError, plan_backfill
from scrapers.pipeline.jobs import MalformedJob
from scrapers.pipeline.queue import JobMessage

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))  # 22:00 Eastern on 2024-01-15
REGISTRY = load_registry()


def _dates(plan_jobs: object) -> list[str]:
    return [job.option_texts()["game_date"] for job in plan_jobs]  # type: ignore[attr-defined]


def test_a_date_range_is_every_day_with_both_ends_and_keywords_resolve() -> None:
    plan = plan_backfill(REGISTRY, "nbac_scoreboard_v2", {"game_date": "2024-01-10..2024-01-12"}, CLOCK)
    assert _dates(plan.jobs) == ["2024-01-10", "2024-01-11", "2024-01-12"]
    relative = plan_backfill(REGISTRY, "nbac_scoreboard_v2", {"gamedate": "TODAY-2..YESTERDAY"}, CLOCK)
    assert _dates(relative.jobs) == ["2024-01-13", "2024-01-14"]


def test_lists_files_and_several_options_give_every_combination_once(tmp_path: Path) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text("# the demo day\n20240115/GSWMEM\n\n20240115/HOUPHI\n")
    plan = plan_backfill(
        REGISTRY, "nbac_gamebook_pdf", {"game_code": f"@{codes}", "version": "short,full"}, CLOCK
    )
    assert sorted((j.option_texts()["game_code"], j.option_texts()["version"]) for j in plan.jobs) == [
        ("20240115/GSWMEM", "full"),
        ("20240115/GSWMEM", "short"),
        ("20240115/HOUPHI", "full"),
        ("20240115/HOUPHI", "short"),
    ]
    # Two spellings of one date are one job.
    same = plan_backfill(REGISTRY, "nbac_scoreboard_v2", {"game_date": "2024-01-15,20240115"}, CLOCK)
    assert len(same.jobs) == 1


def test_a_list_option_keeps_its_commas_and_seasons_and_integers_take_ranges() -> None:
    listed = plan_backfill(
        REGISTRY,
        "bdl_player_averages",
        {"season": "2021-22..2023-24", "player_ids": "901101,901201"},
        CLOCK,
    )
    assert sorted(job.option_texts()["season"] for job in listed.jobs) == ["2021-22", "2022-23", "2023-24"]
    assert {tuple(job.option_texts()["player_ids"]) for job in listed.jobs} == {("901101", "901201")}
    hours = plan_backfill(
        REGISTRY, "nbac_injury_report", {"game_date": "2024-01-15", "hour": "1..3", "period": "PM"}, CLOCK
    )
    assert sorted(job.option_texts()["hour"] for job in hours.jobs) == [1, 2, 3]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"game_date": "2024-01-15..2024-01-10"}, "ends before it starts"),
        ({"game_date": "2024-01-10..soon"}, "is not a range"),
        ({"game_date": "1900-01-01..2024-01-01"}, "spans more than"),
        ({"game_date": "2024-01-10..2024-01-11", "gamedte": "x"}, "is not an option of this scraper"),
        ({"game_date": "@/nonexistent/dates.txt"}, "cannot read"),
    ],
)
def test_a_bad_range_or_option_is_exit_2_naming_it(raw: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidOptions) as caught:
        plan_backfill(REGISTRY, "nbac_scoreboard_v2", raw, CLOCK)
    assert caught.value.exit_code == 2
    assert problem in str(caught.value)


SEASON_GAMES = [
    GameRef("0022300601", "2024-01-15", "20240115/HOUPHI", "HOU", "PHI"),
    GameRef("0022300603", "2024-01-15", "20240115/GSWMEM", "GSW", "MEM"),
    GameRef("0022300700", "2024-01-20", "20240120/BOSNYK", "BOS", "NYK"),
]


def test_a_season_is_its_game_dates_or_its_games_through_the_schedule_plans() -> None:
    dates = plan_backfill(
        REGISTRY, "nbac_scoreboard_v2", {"season": "2023-24"}, CLOCK, schedule=lambda s: SEASON_GAMES
    )
    assert _dates(dates.jobs) == ["2024-01-15", "2024-01-20"]
    assert dates.note == "2 game dates of 2023-24 from the landed schedule"
    books = plan_backfill(
        REGISTRY, "nbac_gamebook_pdf", {"season": "2023-24"}, CLOCK, schedule=lambda s: SEASON_GAMES
    )
    assert [job.option_texts()["game_code"] for job in books.jobs] == [g.game_code for g in SEASON_GAMES]
    feeds = plan_backfill(
        REGISTRY, "nbac_play_by_play", {"season": "2023-24"}, CLOCK, schedule=lambda s: SEASON_GAMES
    )
    assert [(j.option_texts()["game_id"], j.option_texts()["game_date"]) for j in feeds.jobs] == [
        (g.game_id, g.game_date) for g in SEASON_GAMES
    ]


def test_a_season_cannot_fill_a_scraper_without_dates_or_games_nor_twice() -> None:
    with pytest.raises(BackfillError, match="has neither"):
        plan_backfill(REGISTRY, "bdl_teams", {"season": "2023-24"}, CLOCK, schedule=lambda s: SEASON_GAMES)
    with pytest.raises(BackfillError, match="not both"):
        plan_backfill(
            REGISTRY,
            "nbac_scoreboard_v2",
            {"season": "2023-24", "game_date": "2024-01-15"},
            CLOCK,
            schedule=lambda s: SEASON_GAMES,
        )
    # A scraper with a season option of its own takes --season as that option.
    standings = plan_backfill(REGISTRY, "bdl_standings", {"season": "2022..2023"}, CLOCK)
    assert sorted(job.option_texts()["season"] for job in standings.jobs) == ["2022-23", "2023-24"]


def test_a_job_message_reads_the_same_in_the_queue_form_and_as_a_scrape_body() -> None:
    queued = JobMessage.from_bytes(
        b'{"scraper": "nbac_scoreboard_v2", "options": {"game_date": "2024-01-15"}, "fan_out": true,'
        b' "force": "force-1", "workflow": "daily", "deadline_seconds": 30, "trigger": "backfill"}'
    )
    body = JobMessage.from_bytes(
        b'{"scraper": "nbac_scoreboard_v2", "game_date": "2024-01-15", "fan_out": true,'
        b' "workflow": "daily", "deadline_seconds": 30, "source": "backfill"}'
    )
    assert (queued.scraper, dict(queued.options), queued.fan_out) == (
        "nbac_scoreboard_v2",
        {"game_date": "2024-01-15"},
        True,
    )
    assert (queued.force, queued.workflow, queued.deadline_seconds, queued.trigger) == (
        "force-1",
        "daily",
        30.0,
        "backfill",
    )
    assert (body.scraper, dict(body.options), body.fan_out, body.force) == (
        queued.scraper,
        queued.options,
        True,
        None,
    )
    assert (body.workflow, body.deadline_seconds, body.trigger) == ("daily", 30.0, "backfill")
    # What it writes, it reads back.
    assert JobMessage.from_bytes(queued.to_bytes()) == queued
    for bad in (
        b"[]",
        b'{"options": {}}',
        b'{"scraper": "x", "options": {}, "force": 3}',
        b'{"scraper": "x", "options": {}, "fan_out": 2}',
    ):
        with pytest.raises(MalformedJob):
            JobMessage.from_bytes(bad)
