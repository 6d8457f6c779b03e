"""A synthetic 30-game day in the replay format (tests/fixtures/README.md), written at test time.

One scoreboardV2 answer listing 30 games (made-up tricodes V00..V29 at H00..H29), derived from the
project's 2024-01-15 fixture so its shape is the recorded one, and one gamebook PDF per game drawn
by tests/gamebook_pdf.py (the demo gamebook, dated on this day).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_FIXTURES
from tests.gamebook_pdf import demo_gamebook, render

DAY = date(2024, 3, 1)
GAMES = 30
TEMPLATE = PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json"


def game_codes(games: int = GAMES) -> list[str]:
    return [f"{DAY:%Y%m%d}/V{index:02d}H{index:02d}" for index in range(games)]


def write_fan_out_day(directory: Path, games: int = GAMES) -> list[str]:
    """Write the scoreboard and every gamebook under `directory/nbac`; return the game codes."""
    folder = directory / "nbac"
    folder.mkdir(parents=True, exist_ok=True)
    codes = game_codes(games)
    scoreboard_url = f"https://stats.nba.com/stats/scoreboardV2?GameDate={DAY:%m}%2F{DAY:%d}%2F{DAY:%Y}&LeagueID=00&DayOffset=0"
    _exchange(
        folder, "scoreboard", scoreboard_url, "application/json", json.dumps(_scoreboard(codes)).encode()
    )
    pdf = render(replace(demo_gamebook(), date_line=f"{DAY:%A}, {DAY:%B} {DAY.day}, {DAY.year}"))
    for code in codes:
        compact = code.replace("/", "_")
        url = f"https://statsdmz.nba.com/pdfs/{DAY:%Y%m%d}/{compact}.pdf"
        _exchange(folder, f"gamebook-{compact}", url, "application/pdf", pdf)
    return codes


def _scoreboard(codes: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    body["parameters"]["GameDate"] = DAY.isoformat()
    sets = {result["name"]: result for result in body["resultSets"]}
    header_row, line_row = sets["GameHeader"]["rowSet"][0], sets["LineScore"]["rowSet"][0]
    header_cols = sets["GameHeader"]["headers"]
    line_cols = sets["LineScore"]["headers"]
    headers, lines = [], []
    for index, code in enumerate(codes):
        game_id = f"00223009{index:02d}"
        away, home = code[-6:-3], code[-3:]
        away_id, home_id = 1610613000 + 2 * index, 1610613001 + 2 * index
        headers.append(
            _row(
                header_cols,
                header_row,
                GAME_DATE_EST=f"{DAY.isoformat()}T00:00:00",
                GAME_SEQUENCE=index + 1,
                GAME_ID=game_id,
                GAMECODE=code,
                HOME_TEAM_ID=home_id,
                VISITOR_TEAM_ID=away_id,
            )
        )
        for team_id, tricode in ((away_id, away), (home_id, home)):
            lines.append(
                _row(
                    line_cols,
                    line_row,
                    GAME_DATE_EST=f"{DAY.isoformat()}T00:00:00",
                    GAME_SEQUENCE=index + 1,
                    GAME_ID=game_id,
                    TEAM_ID=team_id,
                    TEAM_ABBREVIATION=tricode,
                )
            )
    sets["GameHeader"]["rowSet"] = headers
    sets["LineScore"]["rowSet"] = lines
    for name in ("SeriesStandings", "Available", "TicketLinks"):
        if name in sets:
            sets[name]["rowSet"] = []
    return body


def _row(columns: list[str], template: list[Any], **values: Any) -> list[Any]:
    return [values.get(column, cell) for column, cell in zip(columns, template, strict=True)]


def _exchange(folder: Path, slug: str, url: str, content_type: str, body: bytes) -> None:
    extension = "pdf" if content_type == "application/pdf" else "json"
    body_file = f"{slug}.body.{extension}"
    (folder / body_file).write_bytes(body)
    exchange = {
        "request": {"method": "GET", "url": url, "body_sha256": None},
        "response": {"status": 200, "headers": {"content-type": content_type}, "body_file": body_file},
    }
    (folder / f"{slug}.exchange.json").write_text(json.dumps(exchange, indent=2) + "\n", encoding="utf-8")
