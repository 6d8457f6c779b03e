"""nbac_injury_report against a real report: raw PDF through to_page + parse must land what the old
platform landed, record for record. Where the old output was wrong, the truth is asserted and the
reason is given beside it.

Reference files are read from ../shared/fixtures and never copied; the tests skip without them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scrapers.core.scraper import ParseContext, Parsed
from scrapers.http.decode import to_page
from scrapers.sources.nbac.injury_report import InjuryReportOptions, NbacInjuryReport

RUN_ID = "f4391904"
# The old run's own clock and id, so scrape_time and run_id can be compared too.
CTX = ParseContext(fetched_at=datetime(2024, 1, 5, 0, 14, 38, tzinfo=UTC), run_id=RUN_ID)
OPTS = InjuryReportOptions(game_date=date(2024, 1, 4), hour=12, period="PM", minute="00")
RECORD_FIELDS = ("date", "gametime", "matchup", "team", "player", "status", "reason")


def _recording(shared: Path) -> tuple[bytes, dict[str, Any]]:
    folder = shared / "recorded" / "nbac_injury_report"
    expected: dict[str, Any] = json.loads((folder / f"exp_{RUN_ID}.json").read_text(encoding="utf-8"))
    return (folder / f"raw_{RUN_ID}.pdf").read_bytes(), expected


def _parse(raw: bytes) -> Parsed:
    scraper = NbacInjuryReport()
    (request,) = scraper.requests(OPTS)
    assert request.full_url.endswith("/Injury-Report_2024-01-04_12PM.pdf")
    page = to_page(request, 200, {"content-type": "application/pdf"}, raw)
    return scraper.parse(OPTS, [page], CTX)


def test_every_record_is_what_the_old_platform_landed(shared_fixtures: Path) -> None:
    raw, expected = _recording(shared_fixtures)

    parsed = _parse(raw)

    records = parsed.document["records"]
    assert parsed.record_count == len(records) == len(expected["records"]) == 14
    for ours, old in zip(records, expected["records"], strict=True):
        assert {k: ours[k] for k in RECORD_FIELDS} == {k: old[k] for k in RECORD_FIELDS}
        assert list(ours) == list(old)
    # Old confidence scored how complete a reason sounded (any reason under 25 characters, like
    # "G League - Two-Way", got 0.9); ours scores the row's structure, complete here for every row.
    assert [old["confidence"] for old in expected["records"]].count(0.9) == 7
    assert {ours["confidence"] for ours in records} == {1.0}


def test_metadata_matches_except_the_old_season_bug(shared_fixtures: Path) -> None:
    raw, expected = _recording(shared_fixtures)

    metadata = dict(_parse(raw).document["metadata"])

    # The old platform took the season from the calendar year: January 2024 is in 2023-24.
    assert (expected["metadata"]["season"], metadata.pop("season")) == ("2024-25", "2023-24")
    # Additive: the old document predates these keys (is_empty_report was added to it later).
    assert (metadata.pop("is_empty_report"), metadata.pop("minute")) == (False, "00")
    assert len(metadata.pop("not_yet_submitted")) == 29
    assert metadata == {k: v for k, v in expected["metadata"].items() if k != "season"}


def test_parsing_stats_agree_where_they_measure_the_same_thing(shared_fixtures: Path) -> None:
    raw, expected = _recording(shared_fixtures)

    stats = _parse(raw).document["parsing_stats"]
    old = expected["parsing_stats"]

    for key in ("total_records", "status_counts", "unparsed_lines_sample"):
        assert stats[key] == old[key], key
    for key in ("player_lines", "merged_multiline", "unparsed_count", "confidence_distribution"):
        assert stats["parsing_stats"][key] == old["parsing_stats"][key], key
    # Follow from the confidence change above (the old 0.97 also added a bonus per merged line).
    assert (old["overall_confidence"], stats["overall_confidence"]) == (0.97, 1.0)
    assert stats["confidence_distribution"] == {"100%": 14}
    # total_lines counts table lines (titles, header and footers excluded), the old count was
    # lines of its flattened text.
    assert (old["parsing_stats"]["total_lines"], stats["parsing_stats"]["total_lines"]) == (50, 45)


def test_teams_not_yet_submitted_are_kept_apart(shared_fixtures: Path) -> None:
    raw, _ = _recording(shared_fixtures)

    parsed = _parse(raw)

    # The old document dropped them: Milwaukee on 01/04 and all 28 teams of the 14 games on 01/05.
    pending = parsed.document["metadata"]["not_yet_submitted"]
    assert len(pending) == 29
    assert pending[0] == {"date": "01/04/2024", "gametime": "07:30 (ET)", "matchup": "MIL@SAS", "team": "MIL"}
    assert {team["date"] for team in pending[1:]} == {"01/05/2024"}
    assert pending[-1] == {
        "date": "01/05/2024",
        "gametime": "10:00 (ET)",
        "matchup": "TOR@SAC",
        "team": "SAC",
    }
    assert parsed.raw_artifact == raw
    assert parsed.path_values == {"hour24": "12"}
