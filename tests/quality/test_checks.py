"""The shared check helpers and join keys: the sources' spellings of minutes, odds and names."""

from __future__ import annotations

import pytest

from scrapers.core.verdict import Check, Status, worst
from scrapers.nba.keys import game_key, player_key, tricode
from scrapers.quality.checks import PriceFormat, judged, line_problem, minutes, price_problem, structure


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (34, 34.0),
        ("34", 34.0),
        ("00", 0.0),
        ("34:30", 34.5),
        ("PT34M30.00S", 34.5),
        ("", 0.0),
        (None, 0.0),
        ("34:75", None),
        ("-3", None),
        (True, None),
        ("DNP", None),
    ],
)
def test_minutes_in_every_spelling(value: object, expected: float | None) -> None:
    assert minutes(value) == expected


def test_a_check_names_its_first_offenders_and_counts_the_rest() -> None:
    check = judged("ids_present", [f"#{n}" for n in range(5)], 9, "rows")
    assert check == Check("ids_present", Status.FAIL, "5 of 9 rows: #0; #1; #2 (+2 more)")
    assert judged("ids_present", [], 9, "rows") == Check("ids_present", Status.OK, "9 rows checked")
    assert worst([Status.OK, Status.WARN]) is Status.WARN
    assert worst([]) is Status.OK


def test_structure_tells_missing_keys_from_wrong_types() -> None:
    required, types = structure({"count": True, "rows": []}, {"count": int, "rows": list, "date": str})
    assert (required.status, required.detail) == (Status.FAIL, "1 of 3 keys: missing 'date'")
    assert (types.status, types.detail) == (Status.FAIL, "1 of 2 keys: 'count' is bool, not int")


@pytest.mark.parametrize(
    ("price", "fmt", "ok"),
    [
        (1.91, PriceFormat.DECIMAL, True),
        (1.0, PriceFormat.DECIMAL, False),
        (-110, PriceFormat.AMERICAN, True),
        ("+185", PriceFormat.AMERICAN, True),
        (-50, PriceFormat.AMERICAN, False),
        ("n/a", PriceFormat.AMERICAN, False),
    ],
)
def test_prices(price: object, fmt: PriceFormat, ok: bool) -> None:
    assert (price_problem(price, fmt) is None) is ok


@pytest.mark.parametrize(
    ("market", "line", "ok"),
    [
        ("player_points", 24.5, True),
        ("player_points_alternate", 80.5, False),
        ("rebounds", 0.0, False),
        ("spreads", -4.5, True),
        ("totals", 31.5, False),
        ("player_double_double", 0.5, True),  # no bounds known: only a number is required
    ],
)
def test_lines(market: str, line: float, ok: bool) -> None:
    assert (line_problem(market, line) is None) is ok


def test_join_keys() -> None:
    assert game_key("2024-01-15", "GS", "NY") == "20240115_GSW_NYK"
    assert game_key("2024-01-15T00:00:00", "Los Angeles Clippers", "LA Clippers") == "20240115_LAC_LAC"
    assert tricode("UTAH") == "UTA"
    assert tricode("PHO") == "PHX"
    assert tricode("phi") == "PHI"
    assert player_key("Jabari Smith Jr.") == player_key("jabari smith") == "jabari smith"
    assert player_key("Nikola Jokić") == "nikola jokic"
    assert player_key("Gary Payton II") == "gary payton"
    assert player_key("De'Aaron Fox") == "deaaron fox"
