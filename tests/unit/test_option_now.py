"""`NOW` in the option vocabulary: the moment for a datetime, and for an option that is one part of a
report time (the injury report's hour, period and quarter hour) that part of the current Eastern time.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scrapers.cli import main
from scrapers.core.clock import EASTERN, FrozenClock
from scrapers.core.errors import InvalidOptions
from scrapers.core.options import NowPart, OptionSpec, OptionType, option, resolve_options
from scrapers.core.registry import load_registry


def _at(text: str) -> FrozenClock:
    return FrozenClock(datetime.fromisoformat(text.replace("Z", "+00:00")))


@pytest.mark.parametrize(
    ("moment", "hour", "period", "minute"),
    [
        ("2026-01-15T22:07:00Z", 5, "PM", "00"),  # 17:07 EST
        ("2026-01-15T22:59:59Z", 5, "PM", "45"),
        ("2026-01-16T05:20:00Z", 12, "AM", "15"),  # 00:20 EST: 12 AM, never 0
        ("2026-01-15T17:30:00Z", 12, "PM", "30"),  # noon EST
        ("2026-07-15T16:45:00Z", 12, "PM", "45"),  # EDT: 12:45
    ],
)
def test_the_injury_reports_hour_period_and_minute_take_now(
    moment: str, hour: int, period: str, minute: str
) -> None:
    entry = load_registry().get("nbac_injury_report")
    raw = {"game_date": "TODAY", "hour": "NOW", "period": "now", "minute": " NOW "}
    resolved = resolve_options(entry.options, raw, _at(moment))
    assert (resolved["hour"], resolved["period"], resolved["minute"]) == (hour, period, minute)
    assert resolved["game_date"] == _at(moment).now().astimezone(EASTERN).date()


def test_now_is_refused_where_it_means_nothing_with_the_option_and_an_example() -> None:
    entry = load_registry().get("nbac_scoreboard_v2")
    with pytest.raises(InvalidOptions) as caught:
        resolve_options(entry.options, {"game_date": "NOW"}, _at("2026-01-15T22:07:00Z"))
    [problem] = caught.value.problems
    assert problem.option == "game_date"
    assert "takes no NOW" in problem.problem
    assert problem.example == "2024-01-15"


def test_a_datetime_takes_now_as_the_moment() -> None:
    spec = OptionSpec(
        "snapshot_timestamp", OptionType.DATETIME, required=True, example="2024-01-15T16:00:00Z"
    )
    clock = _at("2024-01-15T16:03:09Z")
    assert spec.resolve("NOW", clock) == datetime(2024, 1, 15, 16, 3, 9, tzinfo=UTC)


def test_a_now_part_must_fit_the_options_type_and_choices() -> None:
    with pytest.raises(TypeError, match="only applies to an int or choice"):
        option("date", example="2024-01-15", now=NowPart.HOUR12)
    with pytest.raises(TypeError, match="outside the choices"):
        option("choice", example="00", choices=("00", "30"), now=NowPart.QUARTER)


def test_scrapers_list_says_which_options_take_now() -> None:
    entry = load_registry().get("nbac_injury_report")
    described = {spec.name: spec.describe() for spec in entry.options}
    assert described["hour"] == "hour (int, required, or NOW)"
    assert described["minute"] == "minute (choice, one of 00|15|30|45, default 00, or NOW)"
    assert "NOW" not in described["game_date"]


def test_now_works_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded 5 PM report of the demo day, asked for as `--hour NOW --period NOW` at 17:10."""
    monkeypatch.setenv("COURTSIDE_STATE", "memory")
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(
            [
                "run-many",
                "nbac_injury_report",
                "--game_date",
                "TODAY",
                "--hour",
                "NOW",
                "--period",
                "NOW",
                "--replay",
                "--at",
                "2024-01-15T22:10:00Z",
                "--out",
                str(tmp_path),
                "--json",
            ]
        )
    assert code == 0, captured.getvalue()
    [run] = json.loads(captured.getvalue())
    assert run["result"]["status"] == "success"
    assert run["options"] == {"game_date": "2024-01-15", "hour": 5, "period": "PM", "minute": "00"}
    assert (tmp_path / "nba-com" / "injury-report-data" / str(date(2024, 1, 15)) / "17").is_dir()
