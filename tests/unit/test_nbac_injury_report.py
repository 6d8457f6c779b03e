"""nbac_injury_report: URLs, options, and the parse of project-authored PDFs in the real layout.

The PDFs are drawn by tests/injury_report_pdfs.py; the real report is only read by the
conformance test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions, OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import BodyKind, Page
from scrapers.core.scraper import Parsed
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.pipeline.runner import prepare
from scrapers.sources.nbac import headers
from scrapers.sources.nbac.injury_report import (
    PDF_HEADERS,
    InjuryReportOptions,
    NbacInjuryReport,
    hour24,
    report_url,
)
from scrapers.sources.nbac.injury_report_parser import parse_injury_report
from tests.injury_report_pdfs import (
    DEMO_PAGES,
    DEMO_RECORDS,
    DEMO_SLUG,
    Row,
    not_submitted,
    player,
    report_pdf,
)
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import landed_files, replay_json

SCRAPER = NbacInjuryReport()
DEMO = InjuryReportOptions(game_date=date(2024, 1, 15), hour=5, period="PM", minute="00")
PDF_CT = {"content-type": "application/pdf"}
CLOCK = FrozenClock(datetime(2024, 1, 15, 22, 0, tzinfo=UTC))

GAME = {"date": "01/15/2024", "time": "07:00 (ET)", "matchup": "HOU@PHI"}
ONE_PLAYER = player("Ames, Colt", "Out", "G League - Two-Way", team="Houston Rockets", **GAME)


def _opts(
    day: date = DEMO.game_date, hour: int = 5, period: str = "PM", minute: str = "00"
) -> InjuryReportOptions:
    return InjuryReportOptions(game_date=day, hour=hour, period=period, minute=minute)


def _page(body: bytes, opts: InjuryReportOptions = DEMO, status: int = 200) -> Page:
    (request,) = SCRAPER.requests(opts)
    return to_page(request, status, PDF_CT, body)


def _parse(body: bytes, opts: InjuryReportOptions = DEMO) -> Parsed:
    return SCRAPER.parse(opts, [_page(body, opts)], TEST_CTX)


def _records(parsed: Parsed) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = parsed.document["records"]
    return records


def _stats(parsed: Parsed) -> dict[str, Any]:
    stats: dict[str, Any] = parsed.document["parsing_stats"]
    return stats


# --- request plan and options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "url_tail"),
    [
        (_opts(), "Injury-Report_2024-01-15_05PM.pdf"),
        (_opts(date(2024, 1, 4), 12, "PM"), "Injury-Report_2024-01-04_12PM.pdf"),
        (_opts(date(2025, 12, 22), 11, "AM"), "Injury-Report_2025-12-22_11AM.pdf"),
        (_opts(date(2025, 12, 23), 6, "PM"), "Injury-Report_2025-12-23_06_00PM.pdf"),
        (_opts(date(2026, 1, 10), 1, "AM", "45"), "Injury-Report_2026-01-10_01_45AM.pdf"),
    ],
    ids=["hourly", "noon", "last-hourly-day", "first-quarter-hour-day", "quarter-hour"],
)
def test_url_has_minutes_from_2025_12_23_only(opts: InjuryReportOptions, url_tail: str) -> None:
    assert report_url(opts) == f"https://ak-static.cms.nba.com/referee/injury/{url_tail}"


def test_one_pdf_request_with_a_navigation_profile() -> None:
    (request,) = SCRAPER.requests(DEMO)

    assert request.full_url == report_url(DEMO)
    assert request.expect is BodyKind.PDF
    assert request.headers is PDF_HEADERS
    # Same browser identity as every NBA.com profile, but a link navigation, not a CORS fetch.
    for name in ("User-Agent", "Sec-Ch-Ua", "Sec-Ch-Ua-Platform", "Accept-Language"):
        assert PDF_HEADERS[name] == headers.DATA[name]
    assert "Origin" not in PDF_HEADERS
    assert PDF_HEADERS["Sec-Fetch-Mode"] == "navigate"
    assert "*/*" in PDF_HEADERS["Accept"]


@pytest.mark.parametrize(
    ("hour", "period", "expected"),
    [(12, "AM", "00"), (1, "AM", "01"), (5, "AM", "05"), (12, "PM", "12"), (5, "PM", "17"), (11, "PM", "23")],
)
def test_hour24_is_two_digits(hour: int, period: str, expected: str) -> None:
    assert hour24(_opts(hour=hour, period=period)) == expected


@pytest.mark.parametrize("hour", [0, 13, -1])
def test_hour_outside_a_12_hour_clock_is_an_option_error(hour: int) -> None:
    with pytest.raises(OptionError) as caught:
        SCRAPER.check_options(_opts(hour=hour))
    assert caught.value.option == "hour"
    assert caught.value.example == "5"


def test_a_quarter_hour_before_2025_12_23_is_an_option_error() -> None:
    with pytest.raises(OptionError) as caught:
        SCRAPER.check_options(_opts(date(2025, 12, 22), minute="15"))
    assert caught.value.option == "minute"
    assert caught.value.example == "00"
    assert "hourly" in str(caught.value)


def test_quarter_hours_are_accepted_from_2025_12_23() -> None:
    SCRAPER.check_options(_opts(date(2025, 12, 23), minute="15"))
    SCRAPER.check_options(_opts(date(2024, 1, 15), minute="00"))


@pytest.mark.parametrize(
    ("raw", "option"),
    [
        ({"gamedate": "2024-01-15", "hour": "13", "period": "PM"}, "hour"),
        ({"gamedate": "2024-01-15", "hour": "5", "period": "pm"}, "period"),
        ({"gamedate": "2024-01-15", "period": "PM"}, "hour"),
        ({"gamedate": "2024-01-15", "hour": "5", "period": "PM", "minute": "20"}, "minute"),
        ({"gamedate": "2024-01-15", "hour": "5", "period": "PM", "minute": "30"}, "minute"),
    ],
    ids=["hour-13", "lowercase-period", "missing-hour", "minute-not-a-quarter", "minute-before-switch"],
)
def test_prepare_rejects_bad_options_naming_them(raw: dict[str, object], option: str) -> None:
    with pytest.raises(InvalidOptions) as caught:
        prepare(load_registry(), "nbac_injury_report", raw, CLOCK)
    assert [problem.option for problem in caught.value.problems] == [option]
    assert "example:" in str(caught.value)


def test_prepare_defaults_minute_to_00() -> None:
    job = prepare(
        load_registry(), "nbac_injury_report", {"gamedate": "20240115", "hour": 5, "period": "PM"}, CLOCK
    )
    assert job.options == {"game_date": date(2024, 1, 15), "hour": 5, "period": "PM", "minute": "00"}


def test_options_type_mirrors_registry() -> None:
    registry, problems = inspect_registry()
    assert [p for p in problems if p.startswith("nbac_injury_report:")] == []
    entry = registry.get("nbac_injury_report")
    assert entry.path == "nba-com/injury-report-data/{date}/{hour24}/{timestamp}.json"
    assert entry.raw_path == "nba-com/injury-report-pdf/{date}/{hour24}/{timestamp}.pdf"


def test_fixture_exchange_is_what_requests_produces(project_fixtures: Path) -> None:
    (request,) = SCRAPER.requests(DEMO)
    exchange = json.loads((project_fixtures / "nbac" / f"{DEMO_SLUG}.exchange.json").read_text())
    assert exchange["request"]["url"] == request.full_url
    assert canonical_key(request.method, request.full_url, None) in load_recordings(project_fixtures / "nbac")


# --- parse: the demo fixture --------------------------------------------------------------------


def test_demo_fixture_lands_every_player_with_the_old_document_shape(project_fixtures: Path) -> None:
    page = replayed_page(SCRAPER.requests(DEMO)[0], project_fixtures / "nbac", DEMO_SLUG)

    parsed = SCRAPER.parse(DEMO, [page], TEST_CTX)

    assert parsed.record_count == 8
    assert parsed.no_data_reason is None
    assert _records(parsed) == list(DEMO_RECORDS)
    assert parsed.document["metadata"] == {
        "gamedate": "20240115",
        "hour": "5",
        "period": "PM",
        "hour24": "17",
        "season": "2023-24",
        "scrape_time": "03-00-00",
        "run_id": "test0001",
        "is_empty_report": False,
        "minute": "00",
        "not_yet_submitted": [
            {"date": "01/15/2024", "gametime": "10:30 (ET)", "matchup": "OKC@LAL", "team": "LAL"}
        ],
    }
    assert parsed.path_values == {"hour24": "17"}
    assert parsed.raw_artifact == page.body
    # The old production document's top level, exactly: additions live inside `metadata`.
    assert list(parsed.document) == ["metadata", "parsing_stats", "records"]


def test_the_title_gives_the_report_moment_and_is_never_a_row() -> None:
    report = parse_injury_report(report_pdf(DEMO_PAGES))

    assert (report.report_date, report.report_time, report.page_count) == (date(2024, 1, 15), "05:30 PM", 2)

    # A reworded title still repeats on every page and must not join the row that ends a page.
    reworded = parse_injury_report(report_pdf(DEMO_PAGES, title="Injury Report - Official"))
    assert reworded.report_date is None
    assert [r.as_dict() for r in reworded.records] == list(DEMO_RECORDS)
    assert reworded.unparsed_lines == ()


def test_demo_fixture_parsing_stats(project_fixtures: Path) -> None:
    page = replayed_page(SCRAPER.requests(DEMO)[0], project_fixtures / "nbac", DEMO_SLUG)

    stats = _stats(SCRAPER.parse(DEMO, [page], TEST_CTX))

    assert stats == {
        "total_records": 8,
        "overall_confidence": 1.0,
        "status_counts": {"Out": 4, "Questionable": 1, "Doubtful": 1, "Probable": 1, "Available": 1},
        "confidence_distribution": {"100%": 8},
        "parsing_stats": {
            "total_lines": 13,
            "player_lines": 8,
            "merged_multiline": 2,
            "unparsed_count": 0,
            "confidence_distribution": {},
        },
        "unparsed_lines_sample": [],
        "unknown_statuses": {},
        "unknown_teams": [],
        "not_yet_submitted_count": 1,
        "page_count": 2,
    }


# --- parse: layout cases ------------------------------------------------------------------------


def test_reasons_wrapped_over_several_lines_are_joined() -> None:
    body = report_pdf(
        [
            [
                player(
                    "Ames, Colt",
                    "Out",
                    "Injury/Illness - Left Knee; Return",
                    "to Competition",
                    "Reconditioning",
                    team="Houston Rockets",
                    **GAME,
                ),
                player("Birch, Dale", "Out", "Injury/Illness - Left Tibia; Non-", "Displaced Fracture"),
                player("Cole, Evan", "Doubtful", "Injury/", "Illness - Right Hip; Soreness"),
                player(("Delacroix-Montgomery", "Jr., Fitz"), "Questionable", "Personal Reasons"),
            ]
        ]
    )

    parsed = _parse(body)

    assert [(r["player"], r["reason"]) for r in _records(parsed)] == [
        ("Ames, Colt", "Injury/Illness - Left Knee; Return to Competition Reconditioning"),
        ("Birch, Dale", "Injury/Illness - Left Tibia; Non-Displaced Fracture"),
        ("Cole, Evan", "Injury/Illness - Right Hip; Soreness"),
        ("Delacroix-Montgomery Jr., Fitz", "Personal Reasons"),
    ]
    assert _stats(parsed)["parsing_stats"]["merged_multiline"] == 4
    assert {r["team"] for r in _records(parsed)} == {"HOU"}


def test_players_and_games_continue_across_pages() -> None:
    pages = [
        [
            player("Ames, Colt", "Out", "G League - Two-Way", team="Houston Rockets", **GAME),
            player("Birch, Dale", "Out", "Injury/Illness - Left Ankle; Sprain"),
        ],
        # No team cell: Houston's list goes on.
        [
            player("Cole, Evan", "Probable", "Injury/Illness - Right Calf; Strain"),
            player("Drew, Finn", "Out", "League Suspension", team="Philadelphia 76ers"),
        ],
        # No game cells: the game goes on with a new team row, as on page 3 of the real report.
        [
            player("Egan, Gus", "Questionable", "Injury/Illness - Neck; Spasms"),
            player(
                "Ford, Hal",
                "Out",
                "Concussion Protocol",
                date="01/16/2024",
                time="08:00 (ET)",
                matchup="LAC@NOP",
                team="LA Clippers",
            ),
        ],
    ]

    for header_on_every_page in (False, True):
        parsed = _parse(report_pdf(pages, header_on_every_page=header_on_every_page))

        assert [
            (r["player"], r["team"], r["matchup"], r["date"], r["gametime"]) for r in _records(parsed)
        ] == [
            ("Ames, Colt", "HOU", "HOU@PHI", "01/15/2024", "07:00 (ET)"),
            ("Birch, Dale", "HOU", "HOU@PHI", "01/15/2024", "07:00 (ET)"),
            ("Cole, Evan", "HOU", "HOU@PHI", "01/15/2024", "07:00 (ET)"),
            ("Drew, Finn", "PHI", "HOU@PHI", "01/15/2024", "07:00 (ET)"),
            ("Egan, Gus", "PHI", "HOU@PHI", "01/15/2024", "07:00 (ET)"),
            ("Ford, Hal", "LAC", "LAC@NOP", "01/16/2024", "08:00 (ET)"),
        ]
        assert _stats(parsed)["page_count"] == 3
        assert _stats(parsed)["parsing_stats"]["unparsed_count"] == 0


def test_not_yet_submitted_teams_are_listed_apart_from_players() -> None:
    body = report_pdf(
        [
            [
                not_submitted("Houston Rockets", **GAME),
                player("Ames, Colt", "Out", "G League - Two-Way", team="Philadelphia 76ers"),
                not_submitted("Utah Jazz", time="09:00 (ET)", matchup="UTA@DEN"),
                not_submitted("Denver Nuggets"),
            ]
        ]
    )

    parsed = _parse(body)

    assert parsed.record_count == 1
    assert _records(parsed)[0]["team"] == "PHI"
    assert parsed.document["metadata"]["not_yet_submitted"] == [
        {"date": "01/15/2024", "gametime": "07:00 (ET)", "matchup": "HOU@PHI", "team": "HOU"},
        {"date": "01/15/2024", "gametime": "09:00 (ET)", "matchup": "UTA@DEN", "team": "UTA"},
        {"date": "01/15/2024", "gametime": "09:00 (ET)", "matchup": "UTA@DEN", "team": "DEN"},
    ]


def test_an_unknown_status_is_kept_and_noted() -> None:
    body = report_pdf(
        [
            [
                player(
                    "Ames, Colt",
                    "Day-To-Day",
                    "Injury/Illness - Left Ankle; Sprain",
                    team="Houston Rockets",
                    **GAME,
                ),
                player("Birch, Dale", "Out", "G League - Two-Way"),
            ]
        ]
    )

    parsed = _parse(body)

    first, second = _records(parsed)
    assert (first["status"], first["confidence"]) == ("Day-To-Day", 0.5)
    assert second["confidence"] == 1.0
    assert _stats(parsed)["unknown_statuses"] == {"Day-To-Day": 1}
    assert _stats(parsed)["status_counts"]["Out"] == 1
    assert sum(_stats(parsed)["status_counts"].values()) == 1


def test_an_unknown_team_name_is_kept_as_printed_and_noted() -> None:
    body = report_pdf(
        [[player("Ames, Colt", "Out", "G League - Two-Way", team="Seattle SuperSonics", **GAME)]]
    )

    parsed = _parse(body)

    assert _records(parsed)[0]["team"] == "Seattle SuperSonics"
    assert _records(parsed)[0]["confidence"] == 0.7
    assert _stats(parsed)["unknown_teams"] == ["Seattle SuperSonics"]


def test_a_row_without_status_is_unparsed_and_visible_not_dropped_silently() -> None:
    body = report_pdf(
        [
            [
                ONE_PLAYER,
                Row(player=("Birch, Dale",), reason=("Injury/Illness - Left Ankle; Sprain",)),
            ]
        ]
    )

    parsed = _parse(body)

    assert parsed.record_count == 1
    assert _stats(parsed)["parsing_stats"]["unparsed_count"] == 1
    assert _stats(parsed)["unparsed_lines_sample"] == ["Birch, Dale Injury/Illness - Left Ankle; Sprain"]


@pytest.mark.parametrize(
    ("day", "season"),
    [(date(2024, 1, 15), "2023-24"), (date(2024, 6, 10), "2023-24"), (date(2024, 10, 22), "2024-25")],
)
def test_season_follows_the_nba_calendar_not_the_calendar_year(day: date, season: str) -> None:
    title = f"Injury Report: {day.strftime('%m/%d/%y')} 05:30 PM"
    body = report_pdf([[ONE_PLAYER]], title)

    parsed = _parse(body, _opts(day))

    assert parsed.document["metadata"]["season"] == season


def test_a_report_of_another_date_is_a_parse_error() -> None:
    body = report_pdf([[ONE_PLAYER]])

    with pytest.raises(ParseError, match="report of 2024-01-15, not of 2024-01-16"):
        _parse(body, _opts(date(2024, 1, 16)))


# --- empty reports are no_data, with the PDF kept -----------------------------------------------


def test_a_report_with_its_header_and_no_rows_is_no_data() -> None:
    body = report_pdf([[]])

    parsed = _parse(body)

    assert parsed.record_count == 0
    assert parsed.no_data_reason == "the injury report of 2024-01-15 5:00 PM has its table header and no rows"
    assert parsed.document["metadata"]["is_empty_report"] is True
    assert parsed.document["metadata"]["no_data_reason"] == parsed.no_data_reason
    assert parsed.document["records"] == []
    assert parsed.raw_artifact == body


def test_a_report_where_every_team_has_not_submitted_is_no_data() -> None:
    body = report_pdf([[not_submitted("Houston Rockets", **GAME), not_submitted("Philadelphia 76ers")]])

    parsed = _parse(body)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "all 2 teams are NOT YET SUBMITTED" in parsed.no_data_reason
    assert len(parsed.document["metadata"]["not_yet_submitted"]) == 2


def test_http_204_is_no_data_without_an_artifact() -> None:
    parsed = SCRAPER.parse(DEMO, [_page(b"", status=204)], TEST_CTX)

    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "HTTP 204" in parsed.no_data_reason
    assert parsed.raw_artifact is None
    assert parsed.path_values == {"hour24": "17"}


# --- bodies that are not a report are classified failures, never no_data ------------------------


def test_a_zero_byte_body_is_a_parse_error_in_the_parser_too() -> None:
    # The fetch already stops it as transient (test_malformed_bodies); the parser never trusts that.
    with pytest.raises(ParseError, match="not a PDF"):
        parse_injury_report(b"")


def test_a_pdf_without_the_report_header_is_structural() -> None:
    body = report_pdf([[ONE_PLAYER]], header=False)

    with pytest.raises(ParseError, match="no injury report header row") as caught:
        _parse(body)
    assert caught.value.outcome is Outcome.STRUCTURAL


def test_rows_that_cannot_be_read_are_structural_not_an_empty_report() -> None:
    body = report_pdf(
        [[Row(team="Houston Rockets", player=("Ames, Colt",), reason=("G League - Two-Way",), **GAME)]]
    )

    with pytest.raises(ParseError, match="no readable player row"):
        _parse(body)


# --- the CLI lands the document and the PDF -----------------------------------------------------


def test_cli_replay_lands_the_json_and_the_pdf(tmp_path: Path, project_fixtures: Path) -> None:
    result = replay_json(
        tmp_path, "nbac_injury_report", "--gamedate", "2024-01-15", "--hour", "5", "--period", "PM"
    )

    assert (result["status"], result["record_count"]) == ("success", 8)
    data, pdf = landed_files(result)
    assert data.parent == tmp_path / "nba-com" / "injury-report-data" / "2024-01-15" / "17"
    assert pdf.parent == tmp_path / "nba-com" / "injury-report-pdf" / "2024-01-15" / "17"
    assert (data.suffix, pdf.suffix, data.stem) == (".json", ".pdf", pdf.stem)
    assert pdf.read_bytes() == (project_fixtures / "nbac" / f"{DEMO_SLUG}.body.pdf").read_bytes()
    assert json.loads(data.read_text(encoding="utf-8"))["records"] == list(DEMO_RECORDS)
