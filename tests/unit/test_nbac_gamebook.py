"""nbac_gamebook_pdf: options, request, the parse of synthetic gamebooks in the real layout, CLI replay.

Every PDF here is rendered at test time by tests/gamebook_pdf.py from project-authored values, except
the committed demo fixture, which that module also wrote.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from reportlab.pdfgen.canvas import Canvas

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import BodyKind, Page
from scrapers.core.scraper import Parsed
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.pipeline.runner import prepare
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.gamebook import PDF_HEADERS, GamebookOptions, NbacGamebookPdf
from scrapers.sources.nbac.gamebook_parser import STAT_KEYS, Columns, Line, Word, read_stats, split_row
from tests import gamebook_pdf as gb
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import replay_json

SCRAPER = NbacGamebookPdf()
DEMO = GamebookOptions(game_code=gb.DEMO_GAME, version="short")
PDF_TYPE = {"content-type": "application/pdf"}
CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
DOCUMENT_KEYS = [
    "game_code",
    "date",
    "matchup",
    "away_team",
    "home_team",
    "pdf_version",
    "pdf_url",
    "arena",
    "city",
    "state",
    "location",
    "officials",
    "game_duration",
    "attendance",
    "attendance_note",
    "timestamp",
    "active_players",
    "dnp_players",
    "inactive_players",
    "total_players",
    "active_count",
    "dnp_count",
    "inactive_count",
    "source",
    "data_status",
]


@cache
def _pdf(book: gb.Gamebook) -> bytes:
    return gb.render(book)


def _parse(book: gb.Gamebook | bytes, game_code: str = gb.DEMO_GAME, version: str = "short") -> Parsed:
    opts = GamebookOptions(game_code=game_code, version=version)
    body = book if isinstance(book, bytes) else _pdf(book)
    page = to_page(SCRAPER.requests(opts)[0], 200, PDF_TYPE, body)
    return SCRAPER.parse(opts, [page], TEST_CTX)


def _raw_page(body: bytes, status: int = 200, outcome: Outcome = Outcome.OK) -> Page:
    """A page as if it had reached parse, bypassing the classifier (which stops most bad bodies)."""
    request = SCRAPER.requests(DEMO)[0]
    return Page(request=request, status=status, headers=PDF_TYPE, body=body, data=body, outcome=outcome)


def _names(document: Any, key: str, team: str | None = None) -> list[str]:
    return [p["name"] for p in document[key] if team is None or p["team"] == team]


# --- options and request --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "url"),
    [
        ("short", "https://statsdmz.nba.com/pdfs/20240410/20240410_MEMCLE.pdf"),
        ("full", "https://statsdmz.nba.com/pdfs/20240410/20240410_MEMCLE_book.pdf"),
    ],
)
def test_one_pdf_request_per_game_and_version(version: str, url: str) -> None:
    (request,) = SCRAPER.requests(GamebookOptions(game_code="20240410/MEMCLE", version=version))
    assert request.full_url == url
    assert request.method == "GET"
    assert request.expect is BodyKind.PDF
    assert request.headers is PDF_HEADERS


def test_pdf_profile_is_the_data_browser_asking_for_a_pdf() -> None:
    assert PDF_HEADERS["Accept"].startswith("application/pdf")
    assert {k: v for k, v in PDF_HEADERS.items() if k != "Accept"} == {
        k: v for k, v in headers.DATA.items() if k != "Accept"
    }
    with pytest.raises(TypeError):
        PDF_HEADERS["Accept"] = "*/*"  # type: ignore[index]


@pytest.mark.parametrize(
    ("game_code", "problem"),
    [
        ("20240410-MEMCLE", "is not YYYYMMDD/AWYHOM"),
        ("2024041/MEMCLE", "is not YYYYMMDD/AWYHOM"),
        ("20240410/memcle", "is not YYYYMMDD/AWYHOM"),
        ("20240410/MEMCLEX", "is not YYYYMMDD/AWYHOM"),
        ("20240230/MEMCLE", "'20240230' is not a date"),
    ],
)
def test_bad_game_code_names_the_option_with_an_example(game_code: str, problem: str) -> None:
    with pytest.raises(InvalidOptions) as caught:
        prepare(load_registry(), "nbac_gamebook_pdf", {"game_code": game_code}, CLOCK)
    (error,) = caught.value.problems
    assert (error.option, error.example) == ("game_code", "20240410/MEMCLE")
    assert problem in error.problem


def test_version_is_a_choice_and_game_code_is_required() -> None:
    with pytest.raises(InvalidOptions) as caught:
        prepare(load_registry(), "nbac_gamebook_pdf", {"version": "medium"}, CLOCK)
    assert sorted(problem.option for problem in caught.value.problems) == ["game_code", "version"]


def test_defaults_and_registry_entry() -> None:
    job = prepare(load_registry(), "nbac_gamebook_pdf", {"game_code": "20240410/MEMCLE"}, CLOCK)
    assert job.options == {"game_code": "20240410/MEMCLE", "version": "short"}
    registry, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_gamebook_pdf:")] == []
    entry = registry.get("nbac_gamebook_pdf")
    values = {
        "date": "2024-04-10",
        "clean_game_code_dashes": "20240410-MEMCLE",
        "timestamp": "20240411_031500",
    }
    assert (
        entry.path.format(**values)
        == "nba-com/gamebooks-data/2024-04-10/20240410-MEMCLE/20240411_031500.json"
    )
    assert entry.raw_path is not None
    assert (
        entry.raw_path.format(**values)
        == "nba-com/gamebooks-pdf/2024-04-10/20240410-MEMCLE/20240411_031500.pdf"
    )


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    (request,) = SCRAPER.requests(DEMO)
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


# --- the demo fixture -------------------------------------------------------------------------------


def _demo(project_fixtures: Path) -> Parsed:
    page = replayed_page(SCRAPER.requests(DEMO)[0], project_fixtures / "nbac", gb.DEMO_SLUG)
    return SCRAPER.parse(DEMO, [page], TEST_CTX)


def test_demo_fixture_carries_the_generator_spec(project_fixtures: Path) -> None:
    # Compared as parsed documents, not bytes, so a reportlab release cannot fail it. Regenerate with
    # `python -m tests.gamebook_pdf tests/fixtures/nbac` when demo_gamebook() changes.
    assert _demo(project_fixtures).document == _parse(gb.demo_gamebook()).document


def test_demo_gamebook_lands_every_player_with_game_info(project_fixtures: Path) -> None:
    parsed = _demo(project_fixtures)
    document = parsed.document

    assert list(document) == DOCUMENT_KEYS
    assert parsed.record_count == document["total_players"] == 19
    assert parsed.no_data_reason is None
    assert parsed.path_values == {"date": "2024-01-15", "clean_game_code_dashes": "20240115-GSWMEM"}
    assert parsed.metadata == {"game_key": "20240115_GSW_MEM", "game_code": "20240115/GSWMEM"}
    assert parsed.raw_artifact == (project_fixtures / "nbac" / f"{gb.DEMO_SLUG}.body.pdf").read_bytes()
    lists = ("active_players", "dnp_players", "inactive_players")
    assert {k: v for k, v in document.items() if k not in lists} == {
        "game_code": "20240115/GSWMEM",
        "date": "2024-01-15",
        "matchup": "GSW@MEM",
        "away_team": "GSW",
        "home_team": "MEM",
        "pdf_version": "short",
        "pdf_url": "https://statsdmz.nba.com/pdfs/20240115/20240115_GSWMEM.pdf",
        "arena": "FedExForum",
        "city": "Memphis",
        "state": "TN",
        "location": "Memphis, TN",
        "officials": [
            {"number": 11, "name": "Pat Rowe"},
            {"number": 27, "name": "Dana Cole"},
            {"number": 62, "name": "Lee Marsh"},
        ],
        "game_duration": "2:14",
        "attendance": 17794,
        "attendance_note": "Sellout",
        "timestamp": "2024-01-16T03:00:00.000000+00:00",
        "total_players": 19,
        "active_count": 14,
        "dnp_count": 2,
        "inactive_count": 3,
        "source": "nba_gamebook_pdf",
        "data_status": "complete",
    }
    json.dumps(document)  # lands as JSON


def test_demo_players_carry_the_full_stat_line(project_fixtures: Path) -> None:
    document = _demo(project_fixtures).document
    assert document["active_players"][3] == {
        "name": "Devon Price",
        "team": "Golden State Warriors",
        "status": "active",
        "stats": {
            "minutes": "35:30",
            "field_goals_made": 10,
            "field_goals_attempted": 21,
            "three_pointers_made": 5,
            "three_pointers_attempted": 11,
            "free_throws_made": 5,
            "free_throws_attempted": 5,
            "offensive_rebounds": 0,
            "defensive_rebounds": 4,
            "total_rebounds": 4,
            "assists": 8,
            "personal_fouls": 1,
            "steals": 2,
            "turnovers": 3,
            "blocks": 0,
            "plus_minus": 11,
            "points": 30,
            "field_goal_percentage": 0.476,
            "three_point_percentage": 0.455,
            "free_throw_percentage": 1.0,
        },
    }
    book = gb.demo_gamebook()
    for team in (book.visitor, book.home):
        played = [p for p in team.players if p.minutes is not None]
        landed = [p for p in document["active_players"] if p["team"] == team.name]
        assert [(p["name"], p["stats"]["minutes"]) for p in landed] == [(p.name, p.minutes) for p in played]
        assert [tuple(p["stats"][key] for key in STAT_KEYS) for p in landed] == [p.stats for p in played]


def test_demo_dnp_and_inactive_players(project_fixtures: Path) -> None:
    document = _demo(project_fixtures).document
    assert document["dnp_players"] == [
        {
            "name": "Owen Pike",
            "team": "Golden State Warriors",
            "status": "did_not_play",
            "dnp_reason": "DNP - Coach's Decision",
            "category": "DNP",
        },
        {
            "name": "Jonah Reyes",
            "team": "Memphis Grizzlies",
            "status": "did_not_play",
            "dnp_reason": "DND - Injury/Illness - Right Knee; Soreness",
            "category": "DND",
        },
    ]
    assert document["inactive_players"] == [
        {
            "name": "Harlan",
            "team": "Golden State Warriors",
            "status": "inactive",
            "reason": "Injury/Illness - Left Ankle; Sprain",
            "category": "inactive",
        },
        {
            "name": "Mbeki",
            "team": "Golden State Warriors",
            "status": "inactive",
            "reason": "G League - Two-Way",
            "category": "inactive",
        },
        {
            "name": "Castillo",
            "team": "Memphis Grizzlies",
            "status": "inactive",
            "reason": "Injury/Illness - Right Hand; Fracture",
            "category": "inactive",
        },
    ]


# --- variations ---------------------------------------------------------------------------------------


def test_suffixes_accents_missing_position_and_zero_minutes() -> None:
    document = _parse(gb.suffixes_and_accents()).document
    assert document["data_status"] == "complete"
    assert _names(document, "active_players", "Golden State Warriors") == [
        "Royce O'Neale",
        "Larry Nance Jr.",
        "Robert Williams III",
        "Nikola Jokić",
        "Théo Maledon",
        "Luka Dončić",
        "Đorđe Šarić",
        "Ömer Yurtseven",
        "Jaime Jaquez Jr.",
        "Tidjane Salaün",
    ]
    zero = document["active_players"][8]["stats"]
    assert zero["minutes"] == "0:00"
    assert {k: v for k, v in zero.items() if k != "minutes"} == dict.fromkeys(
        [*STAT_KEYS, "field_goal_percentage", "three_point_percentage", "free_throw_percentage"], 0
    )
    assert document["dnp_players"][0]["name"] == "José Alvarado"
    assert document["dnp_players"][0]["dnp_reason"] == "NWT - Personal"


def _word(text: str, x0: float, top: float = 100.0) -> Word:
    return Word(text, x0, x0 + 4.0 * len(text), top)


def _columns() -> Columns:
    return Columns(position_left=150.0, stat_centers=tuple(215.0 + 22.0 * i for i in range(16)))


def _cells(values: list[int], skip: int | None = None) -> list[Word]:
    return [_word(str(v), 212.0 + 22.0 * i) for i, v in enumerate(values) if i != skip]


def test_a_position_letter_counts_only_under_pos() -> None:
    stats = [1, 2, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 3, 2]
    in_name = Line((_word("8", 24), _word("Marcus", 42), _word("G", 72), _word("12:00", 175), *_cells(stats)))
    under_pos = Line(
        (_word("8", 24), _word("Marcus", 42), _word("G", 150), _word("12:00", 175), *_cells(stats))
    )

    named = split_row(in_name, _columns())
    positioned = split_row(under_pos, _columns())

    assert named is not None
    assert positioned is not None
    assert (named.name, named.position) == ("Marcus G", None)
    assert (positioned.name, positioned.position) == ("Marcus", "G")
    assert named.stats is not None
    assert named.stats.values == tuple(stats)


def test_numbers_go_to_the_column_they_sit_under() -> None:
    values = list(range(10, 26))
    stats, problem = read_stats("30:00", _cells(values, skip=9), _columns())
    assert problem == "no number under A"
    assert stats.values == (*values[:9], None, *values[10:])
    assert stats.as_dict()["field_goal_percentage"] == round(10 / 11, 3)


def test_wrapped_inactive_list_wrapped_dnp_reason_and_a_team_without_inactives() -> None:
    document = _parse(gb.wrapped_inactive_no_home_inactives()).document
    assert document["data_status"] == "complete"
    visitor = gb.wrapped_inactive_no_home_inactives().visitor
    assert [(p["name"], p["reason"], p["team"]) for p in document["inactive_players"]] == [
        (name, reason, visitor.name) for name, reason in visitor.inactive
    ]
    assert document["dnp_players"][1]["dnp_reason"] == (
        "DND - Injury/Illness - Left Hamstring; Strain, Right Ankle; Sprain, Lower Back; Soreness, "
        "Left Knee; Patellofemoral Pain Syndrome Management"
    )
    assert document["active_count"] == 14


def test_full_book_reads_the_box_score_of_page_one_only() -> None:
    book = gb.full_book()
    short = _parse(gb.demo_gamebook()).document
    full = _parse(book, version="full").document
    with pdfplumber.open(io.BytesIO(_pdf(book))) as pdf:
        assert len(pdf.pages) == 4
    assert full["pdf_version"] == "full"
    assert full["pdf_url"].endswith("20240115_GSWMEM_book.pdf")
    differing = {k for k in short if short[k] != full[k]}
    assert differing == {"pdf_version", "pdf_url"}


def test_all_star_teams_parse() -> None:
    book = gb.all_star()
    document = _parse(book, game_code="20240218/WSTEST").document
    assert document["data_status"] == "complete"
    assert (document["matchup"], document["attendance_note"]) == ("WST@EST", None)
    assert {p["team"] for p in document["active_players"]} == {
        "Western Conference All-Stars",
        "Eastern Conference All-Stars",
    }
    # The Inactive line says "West", which ends no team name: lists follow the blocks' order.
    assert [p["team"] for p in document["inactive_players"]] == [
        "Western Conference All-Stars",
        "Western Conference All-Stars",
        "Eastern Conference All-Stars",
    ]
    assert len(document["officials"]) == 4


def test_preseason_club_that_is_not_an_nba_franchise() -> None:
    document = _parse(gb.preseason_non_nba(), game_code="20231005/ADLMEM").document
    assert document["data_status"] == "complete"
    assert document["attendance"] is None
    assert {p["team"] for p in document["inactive_players"]} == {"Adelaide 36ers", "Memphis Grizzlies"}


def test_points_that_do_not_sum_land_partial_with_the_reason() -> None:
    parsed = _parse(gb.points_do_not_sum())
    assert parsed.record_count == 19
    assert parsed.document["data_status"] == "partial"
    assert parsed.document["data_status_reasons"] == [
        "Golden State Warriors: player points sum to 111 but the totals row says 112"
    ]


def test_inconsistent_stat_lines_land_partial_with_every_reason() -> None:
    base = gb.demo_gamebook()
    broken = (
        # FGM > FGA and TOT != OR + DR, both on purpose.
        gb.Player("11", "Jalen Brooks", "F", "36:10", (18, 17, 3, 7, 4, 4, 1, 6, 9, 3, 2, 1, 2, 0, 9, 25)),
        *base.visitor.players[1:],
    )
    totals = (*gb.team_totals(base.visitor)[:-1], 111)
    document = _parse(replace(base, visitor=replace(base.visitor, players=broken, totals=totals))).document
    assert document["data_status"] == "partial"
    assert document["data_status_reasons"] == [
        "Golden State Warriors: Jalen Brooks: field_goals_made 18 > field_goals_attempted 17",
        "Golden State Warriors: Jalen Brooks: total_rebounds 9 != offensive 1 + defensive 6",
        "Golden State Warriors: Jalen Brooks: points 25 != 2*FG + 3P + FT = 43",
    ]
    assert document["active_count"] == 14


def test_without_totals_the_score_by_periods_anchors_the_check() -> None:
    document = _parse(replace(gb.demo_gamebook(), print_totals=False)).document
    assert document["data_status"] == "complete"
    assert document["total_players"] == 19


def test_a_totals_row_with_a_blank_plus_minus_still_checks_points() -> None:
    base = gb.demo_gamebook()
    totals = (*gb.team_totals(base.home)[:-2], None, 104)
    document = _parse(replace(base, home=replace(base.home, totals=totals))).document
    assert document["data_status"] == "complete"


def test_without_any_team_total_the_points_are_reported_unchecked() -> None:
    base = gb.demo_gamebook()
    book = replace(
        base,
        print_totals=False,
        visitor=replace(base.visitor, periods=()),
        home=replace(base.home, periods=()),
    )
    document = _parse(book).document
    assert document["data_status_reasons"] == [
        "Golden State Warriors: no team total printed, player points (111) not checked",
        "Memphis Grizzlies: no team total printed, player points (104) not checked",
    ]


def test_an_unreadable_player_line_is_never_dropped_silently() -> None:
    base = gb.demo_gamebook()
    odd = gb.Player("9", "Broken Row", dnp="?? something new")
    document = _parse(replace(base, home=replace(base.home, players=(*base.home.players, odd)))).document
    assert document["data_status"] == "partial"
    assert document["data_status_reasons"] == [
        "Memphis Grizzlies: unreadable player line '9 Broken Row ?? something new'"
    ]


# --- structural failures --------------------------------------------------------------------------------


def test_a_gamebook_without_players_is_structural_not_no_data() -> None:
    base = gb.demo_gamebook()
    empty = replace(base, visitor=replace(base.visitor, players=()), home=replace(base.home, players=()))
    with pytest.raises(ParseError) as caught:
        _parse(empty)
    assert caught.value.outcome is Outcome.STRUCTURAL
    assert "no player" in str(caught.value)


def test_a_pdf_that_is_not_a_box_score_is_structural() -> None:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=True)
    canvas.drawString(72, 720, "Play-By-Play 12:00 Jump Ball")
    canvas.showPage()
    canvas.save()
    with pytest.raises(ParseError, match="no VISITOR:/HOME: team block"):
        _parse(buffer.getvalue())


@cache
def _demo_pdf() -> bytes:
    return _pdf(gb.demo_gamebook())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="zero-byte"),
        pytest.param(b"<html><body>Service Unavailable</body></html>", id="html"),
        pytest.param(b"%PDF-1.4\n%garbage only", id="header-only"),
        pytest.param(b"%PDF-1.4\n" + b"\x00" * 400, id="zeros"),
    ],
)
def test_bodies_that_are_no_pdf_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        SCRAPER.parse(DEMO, [_raw_page(body)], TEST_CTX)
    assert caught.value.outcome is Outcome.STRUCTURAL


# A cut at half is in test_malformed_bodies, through the classifier.
@pytest.mark.parametrize("cut", [0.25, 0.9])
def test_truncated_pdf_raises_parse_error(cut: float) -> None:
    pdf = _demo_pdf()
    with pytest.raises(ParseError, match=r"not a readable PDF|no VISITOR|no player"):
        SCRAPER.parse(DEMO, [_raw_page(pdf[: int(len(pdf) * cut)])], TEST_CTX)


def test_damaged_page_tree_raises_parse_error() -> None:
    # A page whose MediaBox is gone: pdfplumber fails with a TypeError, which must not escape.
    pdf = _demo_pdf().replace(b"/MediaBox", b"/MediaBax")
    with pytest.raises(ParseError, match="not a readable PDF"):
        SCRAPER.parse(DEMO, [_raw_page(pdf)], TEST_CTX)


def test_another_days_gamebook_never_lands_under_this_game() -> None:
    with pytest.raises(ParseError, match="dated 2024-01-15, not 2024-01-16"):
        _parse(gb.demo_gamebook(), game_code="20240116/GSWMEM")


def test_http_204_is_no_data_with_the_reason() -> None:
    parsed = SCRAPER.parse(DEMO, [_raw_page(b"", status=204, outcome=Outcome.NO_DATA)], TEST_CTX)
    assert parsed.record_count == 0
    assert (
        parsed.no_data_reason == "statsdmz.nba.com answered HTTP 204 without a gamebook for 20240115/GSWMEM"
    )
    assert parsed.raw_artifact is None
    assert parsed.document["active_players"] == []
    # The game code names the game even without its PDF.
    assert parsed.metadata == {"game_key": "20240115_GSW_MEM", "game_code": "20240115/GSWMEM"}


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_replay_lands_the_json_and_the_pdf(tmp_path: Path, project_fixtures: Path) -> None:
    result = replay_json(tmp_path, "nbac_gamebook_pdf", "--game_code", gb.DEMO_GAME)
    assert (result["status"], result["record_count"]) == ("success", 19)

    data = sorted((tmp_path / "nba-com" / "gamebooks-data" / "2024-01-15" / "20240115-GSWMEM").glob("*.json"))
    pdfs = sorted((tmp_path / "nba-com" / "gamebooks-pdf" / "2024-01-15" / "20240115-GSWMEM").glob("*.pdf"))
    assert len(data) == len(pdfs) == 1
    assert data[0].stem == pdfs[0].stem  # one landing timestamp for both
    assert [str(data[0]), str(pdfs[0])] == result["landed"]
    assert pdfs[0].read_bytes() == (project_fixtures / "nbac" / f"{gb.DEMO_SLUG}.body.pdf").read_bytes()
    landed = json.loads(data[0].read_text(encoding="utf-8"))
    assert (landed["game_code"], landed["total_players"], landed["data_status"]) == (
        gb.DEMO_GAME,
        19,
        "complete",
    )
