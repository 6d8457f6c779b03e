"""Option resolution: date keywords in Eastern time with a frozen clock, every option type,
`resolve_options` collecting every problem, and the JSON form of resolved values.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scrapers.core.clock import FrozenClock, eastern_today
from scrapers.core.errors import InvalidOptions, OptionError
from scrapers.core.options import OptionSpec, OptionType, option_to_text, resolve_day, resolve_options
from scrapers.core.season import Season

EASTERN = ZoneInfo("America/New_York")
MIDDAY = FrozenClock(datetime(2024, 1, 15, 17, 0, tzinfo=UTC))  # 12:00 EST, Monday 2024-01-15


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> FrozenClock:
    return FrozenClock(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


def spec(option_type: OptionType, **kwargs: Any) -> OptionSpec:
    values: dict[str, Any] = {"name": "opt", "required": False, "example": "EXAMPLE"} | kwargs
    return OptionSpec(type=option_type, **values)


# ---------------------------------------------------------------------------------------------
# Eastern "today" around midnight and across DST


@pytest.mark.parametrize(
    ("clock", "today"),
    [
        pytest.param(utc(2024, 1, 15, 4, 59, 59), date(2024, 1, 14), id="EST: 23:59:59 the evening before"),
        pytest.param(utc(2024, 1, 15, 5, 0, 0), date(2024, 1, 15), id="EST: midnight ET is 05:00 UTC"),
        pytest.param(
            utc(2024, 1, 15, 0, 30), date(2024, 1, 14), id="past midnight UTC is still yesterday ET"
        ),
        pytest.param(utc(2024, 3, 10, 4, 59), date(2024, 3, 9), id="spring forward day: 23:59 EST before"),
        pytest.param(utc(2024, 3, 10, 6, 59), date(2024, 3, 10), id="spring forward: 01:59 EST"),
        pytest.param(utc(2024, 3, 10, 7, 0), date(2024, 3, 10), id="spring forward: 03:00 EDT"),
        pytest.param(utc(2024, 3, 11, 3, 59), date(2024, 3, 10), id="first EDT evening: 23:59 EDT"),
        pytest.param(utc(2024, 3, 11, 4, 30), date(2024, 3, 11), id="first EDT midnight is 04:00 UTC"),
        pytest.param(utc(2024, 11, 3, 3, 59), date(2024, 11, 2), id="fall back eve: 23:59 EDT"),
        pytest.param(utc(2024, 11, 3, 4, 0), date(2024, 11, 3), id="fall back day: midnight EDT"),
        pytest.param(utc(2024, 11, 3, 6, 30), date(2024, 11, 3), id="fall back: the second 01:30 (EST)"),
        pytest.param(utc(2024, 11, 4, 4, 30), date(2024, 11, 3), id="first EST evening: 23:30 EST"),
        pytest.param(utc(2024, 11, 4, 5, 0), date(2024, 11, 4), id="first EST midnight is 05:00 UTC"),
    ],
)
def test_eastern_today(clock: FrozenClock, today: date) -> None:
    assert eastern_today(clock) == today
    assert resolve_day("TODAY", clock) == today


def test_a_clock_in_another_zone_gives_the_same_eastern_day() -> None:
    moment = datetime(2024, 3, 11, 4, 30, tzinfo=UTC)

    assert eastern_today(FrozenClock(moment.astimezone(ZoneInfo("Asia/Tokyo")))) == date(2024, 3, 11)
    assert eastern_today(FrozenClock(moment.astimezone(EASTERN))) == date(2024, 3, 11)


@pytest.mark.parametrize(
    ("text", "clock", "expected"),
    [
        pytest.param("TODAY", MIDDAY, date(2024, 1, 15), id="TODAY"),
        pytest.param("YESTERDAY", MIDDAY, date(2024, 1, 14), id="YESTERDAY"),
        pytest.param("TOMORROW", MIDDAY, date(2024, 1, 16), id="TOMORROW"),
        pytest.param("TODAY-3", MIDDAY, date(2024, 1, 12), id="TODAY-3"),
        pytest.param("TODAY+2", MIDDAY, date(2024, 1, 17), id="TODAY+2"),
        pytest.param("TODAY-0", MIDDAY, date(2024, 1, 15), id="TODAY-0"),
        pytest.param("YESTERDAY-1", MIDDAY, date(2024, 1, 13), id="YESTERDAY-1"),
        pytest.param("TOMORROW+1", MIDDAY, date(2024, 1, 17), id="TOMORROW+1"),
        pytest.param("today", MIDDAY, date(2024, 1, 15), id="lower case"),
        pytest.param("yesterday", MIDDAY, date(2024, 1, 14), id="lower-case yesterday"),
        pytest.param(" Tomorrow ", MIDDAY, date(2024, 1, 16), id="mixed case, padded"),
        pytest.param("today-30", MIDDAY, date(2023, 12, 16), id="lower case with offset across a year"),
        # keywords at the edges of the Eastern day
        pytest.param(
            "YESTERDAY", utc(2024, 1, 15, 4, 59), date(2024, 1, 13), id="YESTERDAY just before ET midnight"
        ),
        pytest.param(
            "YESTERDAY", utc(2024, 1, 15, 5, 0), date(2024, 1, 14), id="YESTERDAY just after ET midnight"
        ),
        pytest.param("YESTERDAY", utc(2024, 3, 1, 5, 0), date(2024, 2, 29), id="YESTERDAY is a leap day"),
        pytest.param("TODAY-3", utc(2024, 3, 10, 7, 0), date(2024, 3, 7), id="TODAY-3 on spring forward"),
        pytest.param(
            "TOMORROW", utc(2024, 3, 11, 3, 59), date(2024, 3, 11), id="TOMORROW late on spring forward"
        ),
        pytest.param("TODAY+2", utc(2024, 11, 3, 4, 0), date(2024, 11, 5), id="TODAY+2 on fall back"),
        pytest.param(
            "YESTERDAY", utc(2024, 11, 4, 4, 30), date(2024, 11, 2), id="YESTERDAY late on fall back"
        ),
        pytest.param(
            "TOMORROW", utc(2025, 1, 1, 4, 59), date(2025, 1, 1), id="TOMORROW on New Year's Eve ET"
        ),
        # literal dates ignore the clock
        pytest.param("2024-01-15", MIDDAY, date(2024, 1, 15), id="YYYY-MM-DD"),
        pytest.param("20240115", MIDDAY, date(2024, 1, 15), id="YYYYMMDD"),
        pytest.param(" 2024-02-29 ", MIDDAY, date(2024, 2, 29), id="padded leap day"),
        pytest.param("20231231", utc(2024, 11, 3, 6, 30), date(2023, 12, 31), id="YYYYMMDD at any clock"),
    ],
)
def test_resolve_day(text: str, clock: FrozenClock, expected: date) -> None:
    assert resolve_day(text, clock) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2024-02-30", id="February 30"),
        pytest.param("2023-02-29", id="not a leap year"),
        pytest.param("20240230", id="compact February 30"),
        pytest.param("2024-13-01", id="month 13"),
        pytest.param("2024115", id="seven digits is ambiguous"),
        pytest.param("202401150", id="nine digits"),
        pytest.param("yesterdayish", id="keyword with a suffix"),
        pytest.param("TODAY-", id="dangling sign"),
        pytest.param("TODAY - 3", id="spaces inside"),
        pytest.param("TODAY-10000", id="five-digit offset"),
        pytest.param("NOW", id="NOW is for datetimes"),
        pytest.param("15/01/2024", id="day first"),
        pytest.param("01/15/2024", id="NBA.com's own format"),
        pytest.param("", id="empty"),
    ],
)
def test_resolve_day_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        resolve_day(text, MIDDAY)


@pytest.mark.parametrize("text", ["2024-02-30", "yesterdayish"])
def test_bad_date_option_error_names_the_option_and_example(text: str) -> None:
    gamedate = OptionSpec(name="gamedate", type=OptionType.DATE, required=True, example="2024-01-15")

    with pytest.raises(OptionError) as caught:
        gamedate.resolve(text, MIDDAY)

    error = caught.value
    assert (error.option, error.example) == ("gamedate", "2024-01-15")
    assert text in error.problem
    assert str(error).startswith("option 'gamedate': ")
    assert str(error).endswith("(example: 2024-01-15)")
    assert error.__suppress_context__  # the message is the whole story: no chained traceback


# ---------------------------------------------------------------------------------------------
# Every option type

GOOD_VALUES = [
    # date
    pytest.param(spec(OptionType.DATE), date(2024, 1, 15), date(2024, 1, 15), id="date object"),
    pytest.param(spec(OptionType.DATE), "YESTERDAY", date(2024, 1, 14), id="date keyword"),
    pytest.param(spec(OptionType.DATE), 20240115, date(2024, 1, 15), id="date as an int"),
    # datetime
    pytest.param(
        spec(OptionType.DATETIME),
        "2024-01-15T23:00:00Z",
        datetime(2024, 1, 15, 23, tzinfo=UTC),
        id="datetime Z",
    ),
    pytest.param(
        spec(OptionType.DATETIME),
        "2024-01-15T18:00:00-05:00",
        datetime(2024, 1, 15, 23, tzinfo=UTC),
        id="datetime with an offset becomes UTC",
    ),
    pytest.param(
        spec(OptionType.DATETIME),
        datetime(2024, 7, 4, 19, 30, tzinfo=EASTERN),
        datetime(2024, 7, 4, 23, 30, tzinfo=UTC),
        id="aware datetime object in EDT becomes UTC",
    ),
    pytest.param(spec(OptionType.DATETIME), "NOW", MIDDAY.at, id="NOW"),
    pytest.param(spec(OptionType.DATETIME), " now ", MIDDAY.at, id="now, lower case"),
    # season
    pytest.param(spec(OptionType.SEASON), "2023", Season(2023), id="season start year"),
    pytest.param(spec(OptionType.SEASON), "2023-24", Season(2023), id="season nba format"),
    pytest.param(spec(OptionType.SEASON), 2023, Season(2023), id="season as an int"),
    pytest.param(spec(OptionType.SEASON), Season(2021), Season(2021), id="season object"),
    pytest.param(spec(OptionType.SEASON), "CURRENT", Season(2023), id="CURRENT in January"),
    pytest.param(spec(OptionType.SEASON), "current", Season(2023), id="current, lower case"),
    # str
    pytest.param(spec(OptionType.STR), " NBA ", "NBA", id="str is stripped"),
    pytest.param(spec(OptionType.STR), 42, "42", id="str from an int"),
    # int
    pytest.param(spec(OptionType.INT), "5", 5, id="int text"),
    pytest.param(spec(OptionType.INT), " -1 ", -1, id="negative int, padded"),
    pytest.param(spec(OptionType.INT), 7, 7, id="int"),
    # bool
    *[
        pytest.param(spec(OptionType.BOOL), raw, True, id=f"bool {raw!r}")
        for raw in ("true", "TRUE", "yes", "on", "1", 1, True)
    ],
    *[
        pytest.param(spec(OptionType.BOOL), raw, False, id=f"bool {raw!r}")
        for raw in ("false", "No", "off", "0", 0, False)
    ],
    # list
    pytest.param(spec(OptionType.LIST), "LAL,BOS", ("LAL", "BOS"), id="list text"),
    pytest.param(
        spec(OptionType.LIST), " LAL , BOS ,", ("LAL", "BOS"), id="list text, padded, trailing comma"
    ),
    pytest.param(spec(OptionType.LIST), "LAL", ("LAL",), id="list of one"),
    pytest.param(spec(OptionType.LIST), ["LAL", " BOS "], ("LAL", "BOS"), id="list object"),
    pytest.param(spec(OptionType.LIST), ("LAL",), ("LAL",), id="tuple object"),
    pytest.param(
        spec(OptionType.LIST), [401585183, 401585184], ("401585183", "401585184"), id="list of ints"
    ),
    # choice
    pytest.param(spec(OptionType.CHOICE, choices=("points", "rebounds")), "points", "points", id="choice"),
    pytest.param(
        spec(OptionType.CHOICE, choices=("points", "rebounds")), " rebounds ", "rebounds", id="choice padded"
    ),
]


@pytest.mark.parametrize(("option", "raw", "expected"), GOOD_VALUES)
def test_option_types_resolve(option: OptionSpec, raw: object, expected: object) -> None:
    value = option.resolve(raw, MIDDAY)

    assert value == expected
    assert type(value) is type(expected)
    if isinstance(value, datetime):
        assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("clock", "season"),
    [
        pytest.param(utc(2023, 10, 1, 3, 59), Season(2022), id="23:59 ET on Sep 30 is still 2022-23"),
        pytest.param(utc(2023, 10, 1, 4, 0), Season(2023), id="midnight ET on Oct 1 starts 2023-24"),
        pytest.param(utc(2024, 6, 17, 12, 0), Season(2023), id="June is the season ending"),
    ],
)
def test_current_season_follows_the_eastern_date(clock: FrozenClock, season: Season) -> None:
    assert spec(OptionType.SEASON).resolve("CURRENT", clock) == season


BAD_VALUES = [
    pytest.param(
        spec(OptionType.DATE), datetime(2024, 1, 15, 12, tzinfo=UTC), "datetime", id="date given a datetime"
    ),
    pytest.param(spec(OptionType.DATE), None, "NoneType", id="date given None"),
    pytest.param(spec(OptionType.DATETIME), "2024-01-15T23:00:00", "time zone", id="naive datetime text"),
    pytest.param(
        spec(OptionType.DATETIME), datetime(2024, 1, 15, 23), "time zone", id="naive datetime object"
    ),
    pytest.param(spec(OptionType.DATETIME), "2024-01-15", "time zone", id="a date is not a datetime"),
    pytest.param(spec(OptionType.DATETIME), "tonight", "tonight", id="datetime garbage"),
    pytest.param(spec(OptionType.DATETIME), "TODAY", "TODAY", id="date keyword for a datetime"),
    pytest.param(spec(OptionType.SEASON), "2023-25", "2023-25", id="season end year wrong"),
    pytest.param(spec(OptionType.SEASON), "23-24", "23-24", id="season two-digit year"),
    pytest.param(spec(OptionType.SEASON), 23, "23", id="season int that is not a year"),
    pytest.param(spec(OptionType.SEASON), True, "True", id="season given a bool"),
    pytest.param(spec(OptionType.STR), "   ", "empty", id="blank str"),
    pytest.param(spec(OptionType.STR), ["a"], "list", id="str given a list"),
    pytest.param(spec(OptionType.INT), "ten", "ten", id="int words"),
    pytest.param(spec(OptionType.INT), "1.5", "1.5", id="int text with a fraction"),
    pytest.param(spec(OptionType.INT), 1.5, "1.5", id="int given a float"),
    pytest.param(spec(OptionType.INT), True, "True", id="int given a bool"),
    pytest.param(spec(OptionType.BOOL), "maybe", "maybe", id="bool word"),
    pytest.param(spec(OptionType.BOOL), 2, "2", id="bool given 2"),
    pytest.param(spec(OptionType.LIST), " , ,", "empty list", id="list of blanks"),
    pytest.param(spec(OptionType.LIST), [], "empty list", id="empty list object"),
    pytest.param(
        spec(OptionType.CHOICE, choices=("points", "rebounds")),
        "Points",
        "points, rebounds",
        id="choice is case sensitive",
    ),
    pytest.param(
        spec(OptionType.CHOICE, choices=("points", "rebounds")), "steals", "steals", id="choice outside"
    ),
]


@pytest.mark.parametrize(("option", "raw", "fragment"), BAD_VALUES)
def test_option_types_reject(option: OptionSpec, raw: object, fragment: str) -> None:
    with pytest.raises(OptionError) as caught:
        option.resolve(raw, MIDDAY)

    assert caught.value.option == "opt"
    assert caught.value.example == "EXAMPLE"
    assert fragment in caught.value.problem


@pytest.mark.parametrize(
    ("option", "text"),
    [
        pytest.param(
            OptionSpec("gamedate", OptionType.DATE, True, "2024-01-15"),
            "gamedate (date, required)",
            id="required",
        ),
        pytest.param(
            OptionSpec("sport", OptionType.STR, False, "NBA", default="NBA"),
            "sport (str, default NBA)",
            id="default",
        ),
        pytest.param(
            OptionSpec("season", OptionType.SEASON, False, "2023-24"), "season (season)", id="optional"
        ),
        pytest.param(
            OptionSpec(
                "market", OptionType.CHOICE, False, "points", default="points", choices=("points", "assists")
            ),
            "market (choice, one of points|assists, default points)",
            id="choice",
        ),
    ],
)
def test_describe(option: OptionSpec, text: str) -> None:
    assert option.describe() == text


# ---------------------------------------------------------------------------------------------
# resolve_options

SPECS = (
    OptionSpec("gamedate", OptionType.DATE, required=True, example="2024-01-15"),
    OptionSpec("startDate", OptionType.DATE, required=False, example="2024-01-14", default="YESTERDAY"),
    OptionSpec("sport", OptionType.STR, required=False, example="NBA", default="NBA"),
    OptionSpec("limit", OptionType.INT, required=False, example="25", default="10"),
    OptionSpec("season", OptionType.SEASON, required=False, example="2023-24"),
    OptionSpec("teams", OptionType.LIST, required=False, example="LAL,BOS"),
)
DEFAULTS_AT_MIDDAY = {
    "startDate": date(2024, 1, 14),
    "sport": "NBA",
    "limit": 10,
    "season": None,
    "teams": None,
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"gamedate": "2024-01-10"},
            {"gamedate": date(2024, 1, 10), **DEFAULTS_AT_MIDDAY},
            id="only the required option: defaults fill the rest",
        ),
        pytest.param(
            {
                "gamedate": "20240110",
                "startDate": "TODAY-3",
                "sport": "WNBA",
                "limit": 3,
                "season": "2023-24",
                "teams": "LAL,BOS",
            },
            {
                "gamedate": date(2024, 1, 10),
                "startDate": date(2024, 1, 12),
                "sport": "WNBA",
                "limit": 3,
                "season": Season(2023),
                "teams": ("LAL", "BOS"),
            },
            id="everything given",
        ),
        pytest.param(
            {"gamedate": "2024-01-10", "sport": "   ", "limit": "", "startDate": None, "teams": None},
            {"gamedate": date(2024, 1, 10), **DEFAULTS_AT_MIDDAY},
            id="blank strings and None are missing",
        ),
    ],
)
def test_resolve_options(raw: dict[str, object], expected: dict[str, object]) -> None:
    assert resolve_options(SPECS, raw, MIDDAY) == expected


@pytest.mark.parametrize(
    ("clock", "start"),
    [
        pytest.param(utc(2024, 3, 10, 4, 59), date(2024, 3, 8), id="before ET midnight on spring forward"),
        pytest.param(utc(2024, 3, 10, 5, 0), date(2024, 3, 9), id="after ET midnight on spring forward"),
        pytest.param(utc(2024, 11, 4, 4, 59), date(2024, 11, 2), id="before ET midnight after fall back"),
        pytest.param(utc(2024, 11, 4, 5, 0), date(2024, 11, 3), id="after ET midnight after fall back"),
    ],
)
def test_registry_default_keywords_use_the_clock(clock: FrozenClock, start: date) -> None:
    resolved = resolve_options(SPECS, {"gamedate": "2024-01-10"}, clock)

    assert resolved["startDate"] == start


def test_every_problem_is_reported_together() -> None:
    raw = {"gamdate": "2024-01-15", "limit": "ten", "startDate": "2024-02-30", "season": "2023-25"}

    with pytest.raises(InvalidOptions) as caught:
        resolve_options(SPECS, raw, MIDDAY)

    problems = {problem.option: problem for problem in caught.value.problems}
    assert sorted(problems) == ["gamdate", "gamedate", "limit", "season", "startDate"]
    assert "is not an option of this scraper" in problems["gamdate"].problem
    assert "gamedate, limit, season, sport, startDate, teams" in problems["gamdate"].problem
    assert problems["gamedate"].problem == "is required and missing"
    assert problems["gamedate"].example == "2024-01-15"
    assert problems["limit"].example == "25"
    assert "2024-02-30" in problems["startDate"].problem
    for problem in caught.value.problems:
        assert str(problem) in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({}, id="absent"),
        pytest.param({"gamedate": ""}, id="empty string"),
        pytest.param({"gamedate": "  "}, id="blank string"),
        pytest.param({"gamedate": None}, id="None"),
    ],
)
def test_missing_required_option(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidOptions) as caught:
        resolve_options(SPECS, raw, MIDDAY)

    assert [(p.option, p.problem) for p in caught.value.problems] == [("gamedate", "is required and missing")]


def test_unknown_option_of_a_scraper_without_options() -> None:
    with pytest.raises(InvalidOptions) as caught:
        resolve_options((), {"date": "TODAY"}, MIDDAY)

    [problem] = caught.value.problems
    assert problem.option == "date"
    assert "its options: none" in problem.problem
    assert problem.example == "(this scraper takes no options)"


def test_no_options_at_all() -> None:
    assert resolve_options((), {}, MIDDAY) == {}


def test_a_bad_registry_default_names_the_option() -> None:
    specs = (
        OptionSpec(
            "startDate", OptionType.DATE, required=False, example="2024-01-14", default="YESTERDAYISH"
        ),
    )

    with pytest.raises(InvalidOptions) as caught:
        resolve_options(specs, {}, MIDDAY)

    [problem] = caught.value.problems
    assert problem.option == "startDate"
    assert "YESTERDAYISH" in problem.problem


# ---------------------------------------------------------------------------------------------
# option_to_text


@pytest.mark.parametrize(
    ("option", "value", "text"),
    [
        pytest.param(spec(OptionType.DATE), date(2024, 1, 15), "2024-01-15", id="date"),
        pytest.param(
            spec(OptionType.DATETIME),
            datetime(2024, 1, 15, 23, 0, 5, tzinfo=UTC),
            "2024-01-15T23:00:05Z",
            id="datetime",
        ),
        pytest.param(spec(OptionType.SEASON), Season(2023), "2023-24", id="season"),
        pytest.param(spec(OptionType.SEASON), Season(1999), "1999-00", id="season across a century"),
        pytest.param(spec(OptionType.LIST), ("LAL", "BOS"), ["LAL", "BOS"], id="list"),
        pytest.param(spec(OptionType.INT), 5, 5, id="int"),
        pytest.param(spec(OptionType.BOOL), True, True, id="bool true"),
        pytest.param(spec(OptionType.BOOL), False, False, id="bool false"),
        pytest.param(spec(OptionType.STR), "NBA", "NBA", id="str"),
        pytest.param(spec(OptionType.CHOICE, choices=("a", "b")), "b", "b", id="choice"),
    ],
)
def test_option_to_text_round_trips(option: OptionSpec, value: object, text: object) -> None:
    as_text = option_to_text(value)

    assert as_text == text
    assert json.loads(json.dumps(as_text)) == text
    assert option.resolve(as_text, MIDDAY) == value


def test_option_to_text_writes_datetimes_in_utc() -> None:
    eastern = datetime(2024, 1, 15, 18, 0, tzinfo=EASTERN)

    assert option_to_text(eastern) == "2024-01-15T23:00:00Z"


def test_option_to_text_of_a_missing_optional_value() -> None:
    assert option_to_text(None) is None
