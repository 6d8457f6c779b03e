"""Season arithmetic: a season starts in October, and it is written `2023-24` everywhere."""

from __future__ import annotations

from datetime import date

import pytest

from scrapers.core.season import Season


@pytest.mark.parametrize(
    ("day", "start_year"),
    [
        pytest.param(date(2024, 1, 4), 2023, id="January is in the season that started the year before"),
        pytest.param(date(2023, 10, 1), 2023, id="first day of October starts the season"),
        pytest.param(date(2023, 9, 30), 2022, id="last day of September is still the old season"),
        pytest.param(date(2023, 12, 31), 2023, id="New Year's Eve"),
        pytest.param(date(2024, 6, 17), 2023, id="the Finals"),
        pytest.param(date(2024, 7, 15), 2023, id="the off-season belongs to the season just ended"),
        pytest.param(date(2000, 1, 1), 1999, id="century turn"),
    ],
)
def test_season_of_day(day: date, start_year: int) -> None:
    assert Season.of(day) == Season(start_year)


@pytest.mark.parametrize(
    ("text", "start_year"),
    [
        pytest.param("2023", 2023, id="start year"),
        pytest.param("2023-24", 2023, id="nba format"),
        pytest.param(" 2023-24 ", 2023, id="padded"),
        pytest.param("1999-00", 1999, id="century turn"),
        pytest.param("2009-10", 2009, id="decade turn"),
    ],
)
def test_season_parse(text: str, start_year: int) -> None:
    assert Season.parse(text) == Season(start_year)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2023-25", id="end year does not follow"),
        pytest.param("2023-23", id="end year equals start"),
        pytest.param("1999-01", id="century turn wrong"),
        pytest.param("23-24", id="two-digit start year"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("2023-2024", id="four-digit end year"),
        pytest.param("2023/24", id="slash"),
        pytest.param("2023-4", id="one-digit end year"),
        pytest.param("twenty-three", id="words"),
        pytest.param("202", id="three digits"),
        pytest.param("2023-24x", id="trailing junk"),
    ],
)
def test_season_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a season"):
        Season.parse(text)


def test_season_parse_names_the_expected_end_year() -> None:
    with pytest.raises(ValueError, match="2023 is followed by 24"):
        Season.parse("2023-25")


@pytest.mark.parametrize(
    ("start_year", "text"),
    [
        pytest.param(2023, "2023-24", id="2023"),
        pytest.param(1999, "1999-00", id="1999"),
        pytest.param(2008, "2008-09", id="zero padded end"),
        pytest.param(2099, "2099-00", id="2099"),
    ],
)
def test_nba_format_and_str(start_year: int, text: str) -> None:
    season = Season(start_year)

    assert season.nba_format == text
    assert str(season) == text
    assert Season.parse(season.nba_format) == season


def test_seasons_order_and_hash_by_start_year() -> None:
    seasons = [Season(2024), Season(2022), Season(2023), Season(2023)]

    assert sorted(seasons) == [Season(2022), Season(2023), Season(2023), Season(2024)]
    assert len(set(seasons)) == 3
    assert Season(2022) < Season(2023)
