"""Synthetic game days in the replay format (tests/fixtures/README.md), written at test time.

For each day: one scoreboardV2 answer listing `games` games (made-up tricodes such as AAD at HAD),
derived from the project's 2024-01-15 fixture so its shape is the recorded one, and one gamebook
PDF per game (the demo gamebook drawn by tests/gamebook_pdf.py, dated on that day; one rendering
per day serves every game of the day). Also the 2023-24 season schedule (scheduleleaguev2int)
listing every one of those games as a completed regular-season game, for `--season` backfills.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_FIXTURES
from tests.gamebook_pdf import demo_gamebook, render

SCOREBOARD = PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json"
SCHEDULE = PROJECT_FIXTURES / "nbac" / "nbac_schedule_api-2023-24.body.json"
SCHEDULE_URL = "https://stats.nba.com/stats/scheduleleaguev2int?GameSubType=&LeagueID=00&Season=2023-24"
FIRST_DAY = date(2024, 2, 1)


@dataclass(frozen=True)
class Game:
    day: date
    index: int

    @property
    def code(self) -> str:
        away, home = self.teams
        return f"{self.day:%Y%m%d}/{away}{home}"

    @property
    def game_id(self) -> str:
        return f"0022{(self.day - FIRST_DAY).days:04d}{self.index:02d}"

    @property
    def teams(self) -> tuple[str, str]:
        """Letters only (a schedule's backfill set skips games whose tricodes are not): AAA at HAA."""
        suffix = chr(65 + self.index // 26) + chr(65 + self.index % 26)
        return f"A{suffix}", f"H{suffix}"


def days(count: int) -> list[date]:
    return [FIRST_DAY + timedelta(days=offset) for offset in range(count)]


def write_days(directory: Path, day_count: int, games: int) -> list[Game]:
    """Scoreboards and gamebooks of `day_count` days from FIRST_DAY, and the season's schedule."""
    folder = directory / "nbac"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Game] = []
    for day in days(day_count):
        day_games = [Game(day, index) for index in range(games)]
        url = (
            "https://stats.nba.com/stats/scoreboardV2?"
            f"GameDate={day:%m}%2F{day:%d}%2F{day:%Y}&LeagueID=00&DayOffset=0"
        )
        _exchange(
            folder, f"scoreboard-{day}", url, "application/json", json.dumps(_scoreboard(day_games)).encode()
        )
        pdf = render(replace(demo_gamebook(), date_line=f"{day:%A}, {day:%B} {day.day}, {day.year}"))
        for game in day_games:
            compact = game.code.replace("/", "_")
            url = f"https://statsdmz.nba.com/pdfs/{day:%Y%m%d}/{compact}.pdf"
            _exchange(folder, f"gamebook-{compact}", url, "application/pdf", pdf)
        written.extend(day_games)
    _exchange(
        folder, "schedule-2023-24", SCHEDULE_URL, "application/json", json.dumps(_schedule(written)).encode()
    )
    return written


def _scoreboard(games: list[Game]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(SCOREBOARD.read_text(encoding="utf-8"))
    day = games[0].day
    body["parameters"]["GameDate"] = day.isoformat()
    sets = {result["name"]: result for result in body["resultSets"]}
    header_row, line_row = sets["GameHeader"]["rowSet"][0], sets["LineScore"]["rowSet"][0]
    header_cols, line_cols = sets["GameHeader"]["headers"], sets["LineScore"]["headers"]
    headers, lines = [], []
    for game in games:
        away_id, home_id = 1610613000 + 2 * game.index, 1610613001 + 2 * game.index
        at = f"{day.isoformat()}T00:00:00"
        headers.append(
            _row(
                header_cols,
                header_row,
                GAME_DATE_EST=at,
                GAME_SEQUENCE=game.index + 1,
                GAME_ID=game.game_id,
                GAMECODE=game.code,
                HOME_TEAM_ID=home_id,
                VISITOR_TEAM_ID=away_id,
            )
        )
        for team_id, tricode in zip((away_id, home_id), game.teams, strict=True):
            lines.append(
                _row(
                    line_cols,
                    line_row,
                    GAME_DATE_EST=at,
                    GAME_SEQUENCE=game.index + 1,
                    GAME_ID=game.game_id,
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


def _schedule(games: list[Game]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(SCHEDULE.read_text(encoding="utf-8"))
    league = body["leagueSchedule"]
    template = next(
        g for day in league["gameDates"] for g in day["games"] if g.get("weekName", "").startswith("Week")
    )
    dates = []
    for day in sorted({game.day for game in games}):
        entries = []
        for game in (g for g in games if g.day == day):
            away, home = game.teams
            entry = json.loads(json.dumps(template))
            entry.update(
                gameId=game.game_id,
                gameCode=game.code,
                gameStatus=3,
                gameStatusText="Final",
                gameSequence=game.index + 1,
                gameDateEst=f"{day.isoformat()}T00:00:00Z",
            )
            entry["awayTeam"] = {**entry["awayTeam"], "teamTricode": away}
            entry["homeTeam"] = {**entry["homeTeam"], "teamTricode": home}
            entries.append(entry)
        dates.append({"gameDate": f"{day:%m/%d/%Y} 00:00:00", "games": entries})
    league["gameDates"] = dates
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
