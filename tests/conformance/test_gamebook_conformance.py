"""nbac_gamebook_pdf against what the old platform landed for the 2024-04-10 Grizzlies at Cavaliers.

No intact real gamebook PDF exists (the old captures' binaries are damaged), so the test renders a
gamebook in the real layout carrying exactly the landed values (tests/gamebook_pdf.py) and requires
the parse to give them back. The landed document is read from ../shared and never copied; the tests
skip without it. `timestamp` is the old run's clock and `debug_info` is dropped on purpose.

Where the old document is wrong the truth is asserted: its parser let the Cavaliers' Inactive list,
which starts mid-line, run into the Grizzlies' last reason and landed Merrill and Wade for both teams.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.scraper import Parsed
from scrapers.http.decode import to_page
from scrapers.sources.nbac.gamebook import GamebookOptions, NbacGamebookPdf
from tests.gamebook_pdf import gamebook_from_landed, render, true_inactive
from tests.pages import TEST_CTX

GAME_CODE = "20240410/MEMCLE"
# Keys whose old values are wrong (the Inactive split) or not comparable (the old run's clock).
CORRECTED = {"inactive_players", "total_players", "inactive_count"}
NOT_COMPARED = {"timestamp", "debug_info", "data_status"}


@pytest.fixture
def landed(shared_fixtures: Path) -> dict[str, Any]:
    path = shared_fixtures / "recorded" / "nbac_gamebook_pdf" / "exp_0173bcd1.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _parse(pdf: bytes, version: str = "short") -> Parsed:
    scraper, opts = NbacGamebookPdf(), GamebookOptions(game_code=GAME_CODE, version=version)
    page = to_page(scraper.requests(opts)[0], 200, {"content-type": "application/pdf"}, pdf)
    return scraper.parse(opts, [page], TEST_CTX)


def _truth(landed: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": name, "team": team, "status": "inactive", "reason": reason, "category": "inactive"}
        for team, entries in true_inactive(landed).items()
        for name, reason in entries
    ]


def test_every_player_reason_and_stat_comes_back_as_landed(landed: dict[str, Any]) -> None:
    parsed = _parse(render(gamebook_from_landed(landed, true_inactive(landed))))
    document = parsed.document

    for key in landed.keys() - CORRECTED - NOT_COMPARED:
        assert document[key] == landed[key], key
    assert set(document) == (landed.keys() - {"debug_info"}) | {"data_status"}
    assert document["data_status"] == "complete"
    assert document["active_count"] == len(document["active_players"]) == 21
    assert document["dnp_count"] == 6


def test_inactive_lists_are_split_where_the_old_parser_merged_them(landed: dict[str, Any]) -> None:
    document = _parse(render(gamebook_from_landed(landed, true_inactive(landed)))).document

    assert document["inactive_players"] == _truth(landed)
    williams = next(p for p in document["inactive_players"] if p["name"] == "Williams Jr.")
    assert williams["reason"] == "Injury/Illness - Left Patellar; Tendonitis"
    assert [p["name"] for p in document["inactive_players"] if p["team"] == "Cleveland Cavaliers"] == [
        "Jerome",
        "Merrill",
        "Wade",
    ]
    # 14 landed = 12 real entries + Merrill and Wade counted a second time for Memphis.
    assert (document["inactive_count"], landed["inactive_count"]) == (12, 14)
    assert (document["total_players"], landed["total_players"]) == (39, 41)


def test_per_team_inactive_lines_read_the_same(landed: dict[str, Any]) -> None:
    inline = gamebook_from_landed(landed, true_inactive(landed))
    per_team = _parse(render(replace(inline, inactive_inline=False))).document
    assert per_team["inactive_players"] == _truth(landed)


def test_the_full_book_of_the_landed_game(landed: dict[str, Any]) -> None:
    book = replace(gamebook_from_landed(landed, true_inactive(landed)), pbp_pages=2)
    parsed = _parse(render(book), version="full")

    assert parsed.document["pdf_url"] == "https://statsdmz.nba.com/pdfs/20240410/20240410_MEMCLE_book.pdf"
    assert parsed.document["active_players"] == landed["active_players"]
    assert parsed.document["dnp_players"] == landed["dnp_players"]
    assert parsed.record_count == 39
