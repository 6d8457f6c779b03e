"""A recorded slice of the 2023-24 season for the game-aware schedule, replayed phase by phase.

    A  Mon 2024-01-15  4 games (the demo's day): NOP@DAL 14:30, HOU@PHI 15:00, GSW@MEM 20:00,
                       OKC@LAL 22:30 Eastern
    B  Tue 2024-01-16  no game (the slice's off day)
    C  Wed 2024-01-17  2 games: BOS@MIL 19:30, DEN@LAC 22:00
    from Thu 2024-01-18: no game

A live fleet polls the same URL all evening and gets a newer answer each time; a replay serves one
recording per URL. So each phase of the slice is its own replay folder, the recordings as they were
at that time: the project's fixtures (tests/fixtures) with the slice's own over them (same slugs
replace, new slugs add). All values are synthetic, like every project fixture:

    a_day       the season schedule as published that morning (A's and C's games, none final yet),
                A's scoreboard at 17:00 (2 final, 2 to come), props for all 4 of A's events
    a_night     A's scoreboard at 23:30 (3 final, OKC@LAL in the 3rd quarter)
    a_final     A's scoreboard after 01:00 (all final); 3 of A's gamebooks not published yet (404)
    b_morning   A's 4 gamebooks published
    c_day       C's scoreboard at 20:00 (BOS@MIL in the 2nd quarter, DEN@LAC not started)
    after_gap   C's final scoreboard and both of its gamebooks
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from scrapers.core.clock import EASTERN
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.gamebook_pdf import Team as BookTeam
from tests.gamebook_pdf import demo_gamebook, render

WORKFLOWS = PROJECT_ROOT / "tests" / "workflows" / "slice_workflows.yaml"
A, B, C = date(2024, 1, 15), date(2024, 1, 16), date(2024, 1, 17)
PHASES = ("a_day", "a_night", "a_final", "b_morning", "c_day", "after_gap")


@dataclass(frozen=True)
class Team:
    team_id: int
    abbr: str
    city: str
    name: str


TEAMS = {
    team.abbr: team
    for team in (
        Team(1610612745, "HOU", "Houston", "Rockets"),
        Team(1610612755, "PHI", "Philadelphia", "76ers"),
        Team(1610612740, "NOP", "New Orleans", "Pelicans"),
        Team(1610612742, "DAL", "Dallas", "Mavericks"),
        Team(1610612744, "GSW", "Golden State", "Warriors"),
        Team(1610612763, "MEM", "Memphis", "Grizzlies"),
        Team(1610612760, "OKC", "Oklahoma City", "Thunder"),
        Team(1610612747, "LAL", "Los Angeles", "Lakers"),
        Team(1610612738, "BOS", "Boston", "Celtics"),
        Team(1610612749, "MIL", "Milwaukee", "Bucks"),
        Team(1610612743, "DEN", "Denver", "Nuggets"),
        Team(1610612746, "LAC", "LA", "Clippers"),
    )
}


@dataclass(frozen=True)
class Game:
    game_id: str
    day: date
    away: str
    home: str
    tip: datetime  # Eastern
    arena: str

    @property
    def code(self) -> str:
        return f"{self.day:%Y%m%d}/{self.away}{self.home}"


def _tip(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=EASTERN)


GAMES_A = (
    Game("0022300602", A, "NOP", "DAL", _tip(A, 14, 30), "American Airlines Center"),
    Game("0022300601", A, "HOU", "PHI", _tip(A, 15, 0), "Wells Fargo Center"),
    Game("0022300603", A, "GSW", "MEM", _tip(A, 20, 0), "FedExForum"),
    Game("0022300604", A, "OKC", "LAL", _tip(A, 22, 30), "Crypto.com Arena"),
)
GAMES_C = (
    Game("0022300621", C, "BOS", "MIL", _tip(C, 19, 30), "Fiserv Forum"),
    Game("0022300622", C, "DEN", "LAC", _tip(C, 22, 0), "Crypto.com Arena"),
)
# The Odds API events of A (tests/fixtures/oddsapi/oddsa_events-2024-01-15) without a props recording.
PROPS_TO_ADD = {
    "e2a6c4f8b1d34e79a5c0b3d7f9e1a2c4": GAMES_A[2],
    "71f5d9b3e7a24c6880d2f4b6a8c0e3d5": GAMES_A[3],
}

# A game's state in a scoreboard recording: 1 not started, 2 in progress (period), 3 final.
State = tuple[int, int]  # (status, period)
PRE, FINAL = (1, 0), (3, 4)


def build(root: Path) -> dict[str, Path]:
    """Every phase's replay folder under `root`, by phase name."""
    base = root / "base"
    shutil.copytree(PROJECT_FIXTURES, base)
    _schedule(base / "nbac")
    _props(base / "oddsapi")
    folders: dict[str, Path] = {}
    layers: dict[str, list[tuple[Sequence[Game], Mapping[str, State]]]] = {
        "a_day": [(GAMES_A, {"0022300602": FINAL, "0022300601": FINAL})],
        "a_night": [
            (GAMES_A, {"0022300602": FINAL, "0022300601": FINAL, "0022300603": FINAL, "0022300604": (2, 3)})
        ],
        "a_final": [(GAMES_A, dict.fromkeys((g.game_id for g in GAMES_A), FINAL))],
        "b_morning": [(GAMES_A, dict.fromkeys((g.game_id for g in GAMES_A), FINAL))],
        "c_day": [(GAMES_C, {"0022300621": (2, 2)})],
        "after_gap": [(GAMES_C, dict.fromkeys((g.game_id for g in GAMES_C), FINAL))],
    }
    for phase in PHASES:
        folder = root / phase
        shutil.copytree(base, folder)
        for games, states in layers[phase]:
            _scoreboard(folder / "nbac", games, states)
        folders[phase] = folder
    # Gamebooks: the demo's GSW@MEM is in the fixtures; the other three of A appear overnight.
    for game in GAMES_A:
        if game.code != "20240115/GSWMEM":
            _gamebook_missing(folders["a_final"] / "nbac", game)
            _gamebook(folders["b_morning"] / "nbac", game)
    for game in GAMES_C:
        _gamebook(folders["after_gap"] / "nbac", game)
    return folders


# --------------------------------------------------------------------------------- writing


def _exchange(
    folder: Path, slug: str, url: str, status: int, content_type: str, body: bytes, ext: str
) -> None:
    body_file = f"{slug}.body.{ext}"
    (folder / body_file).write_bytes(body)
    exchange = {
        "request": {"method": "GET", "url": url, "body_sha256": None},
        "response": {"status": status, "headers": {"content-type": content_type}, "body_file": body_file},
    }
    (folder / f"{slug}.exchange.json").write_text(json.dumps(exchange, indent=2) + "\n", encoding="utf-8")


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _schedule(folder: Path) -> None:
    """The 2023-24 schedule as published the morning of A: A's and C's games, none played yet."""
    path = folder / "nbac_schedule_cdn-2023-24.body.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    days = document["leagueSchedule"]["gameDates"]
    template = next(day for day in days if day["gameDate"].startswith("01/15/2024"))["games"][0]
    kept = [day for day in days if not day["gameDate"].startswith("01/15/2024")]
    for day, games in ((A, GAMES_A), (C, GAMES_C)):
        kept.append(
            {
                "gameDate": f"{day:%m/%d/%Y} 00:00:00",
                "games": [_scheduled(template, g, i) for i, g in enumerate(games)],
            }
        )
    kept.sort(key=lambda day: datetime.strptime(day["gameDate"], "%m/%d/%Y %H:%M:%S"))
    document["leagueSchedule"]["gameDates"] = kept
    document["meta"]["time"] = "2024-01-15T11:58:00.0000Z"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def _scheduled(template: Mapping[str, Any], game: Game, index: int) -> dict[str, Any]:
    row = copy.deepcopy(dict(template))
    away, home = TEAMS[game.away], TEAMS[game.home]
    local = game.tip
    row.update(
        gameId=game.game_id,
        gameCode=game.code,
        gameStatus=1,
        gameStatusText=f"{local:%I:%M %p} ET".lstrip("0").lower().replace(" et", " ET"),
        gameSequence=index + 1,
        gameDateEst=f"{game.day}T00:00:00Z",
        gameTimeEst=f"1900-01-01T{local:%H:%M}:00Z",
        gameDateTimeEst=f"{game.day}T{local:%H:%M}:00Z",
        gameDateUTC=f"{game.day}T05:00:00Z",
        gameTimeUTC=f"1900-01-01T{_z(local)[11:]}",
        gameDateTimeUTC=_z(local),
        awayTeamTime=f"{game.day}T{local:%H:%M}:00Z",
        homeTeamTime=f"{game.day}T{local:%H:%M}:00Z",
        day=f"{game.day:%a}",
        arenaName=game.arena,
    )
    for side, team in (("homeTeam", home), ("awayTeam", away)):
        row[side] = {
            **row[side],
            "teamId": team.team_id,
            "teamName": team.name,
            "teamCity": team.city,
            "teamTricode": team.abbr,
            "teamSlug": team.name.lower(),
            "score": 0,
        }
    return row


def _scoreboard(folder: Path, games: Sequence[Game], states: Mapping[str, State]) -> None:
    """scoreboardV2 of the games' day with each game in its state (not started unless given)."""
    day = games[0].day
    template = json.loads((PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_text())
    sets = {result["name"]: result for result in template["resultSets"]}
    header_row = dict(zip(sets["GameHeader"]["headers"], sets["GameHeader"]["rowSet"][0], strict=True))
    line_row = dict(zip(sets["LineScore"]["headers"], sets["LineScore"]["rowSet"][0], strict=True))
    headers, lines = [], []
    for index, game in enumerate(games):
        status, period = states.get(game.game_id, PRE)
        text = {1: f"{game.tip:%-I:%M} pm ET", 2: f"Q{period} 5:12", 3: "Final"}[status]
        headers.append(
            {
                **header_row,
                "GAME_DATE_EST": f"{day}T00:00:00",
                "GAME_SEQUENCE": index + 1,
                "GAME_ID": game.game_id,
                "GAME_STATUS_ID": status,
                "GAME_STATUS_TEXT": text,
                "GAMECODE": game.code,
                "HOME_TEAM_ID": TEAMS[game.home].team_id,
                "VISITOR_TEAM_ID": TEAMS[game.away].team_id,
                "LIVE_PERIOD": period,
                "ARENA_NAME": game.arena,
            }
        )
        for side, team in ((0, TEAMS[game.away]), (1, TEAMS[game.home])):
            quarters = [25 + side + index + q for q in range(4)][:period] if status != 1 else []
            if status == 3:
                quarters[-1] += 3 * side  # the home side wins by a few
            row = {
                **line_row,
                "GAME_DATE_EST": f"{day}T00:00:00",
                "GAME_SEQUENCE": index + 1,
                "GAME_ID": game.game_id,
                "TEAM_ID": team.team_id,
                "TEAM_ABBREVIATION": team.abbr,
                "TEAM_CITY_NAME": team.city,
                "TEAM_NAME": team.name,
                "PTS": sum(quarters) if quarters else None,
            }
            for number in range(1, 5):
                row[f"PTS_QTR{number}"] = quarters[number - 1] if number <= len(quarters) else None
            lines.append(row)
    sets["GameHeader"]["rowSet"] = [[row[h] for h in sets["GameHeader"]["headers"]] for row in headers]
    sets["LineScore"]["rowSet"] = [[row[h] for h in sets["LineScore"]["headers"]] for row in lines]
    for name in ("SeriesStandings", "Available", "TicketLinks"):
        sets[name]["rowSet"] = []
    template["parameters"]["GameDate"] = day.isoformat()
    url = f"https://stats.nba.com/stats/scoreboardV2?GameDate={day:%m}%2F{day:%d}%2F{day:%Y}&LeagueID=00&DayOffset=0"
    body = json.dumps(template).encode()
    _exchange(folder, f"nbac_scoreboard_v2-{day}", url, 200, "application/json; charset=utf-8", body, "json")


def _props(folder: Path) -> None:
    """Player props of A's two events the fixtures lack, in the recorded event's shape."""
    exchange = json.loads((folder / "oddsa_player_props-2024-01-15-HOUPHI.exchange.json").read_text())
    body = json.loads((folder / "oddsa_player_props-2024-01-15-HOUPHI.body.json").read_text())
    for event_id, game in PROPS_TO_ADD.items():
        url = exchange["request"]["url"].replace("4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9", event_id)
        away, home = TEAMS[game.away], TEAMS[game.home]
        event = {
            **body,
            "id": event_id,
            "commence_time": _z(game.tip),
            "home_team": f"{home.city} {home.name}",
            "away_team": f"{away.city} {away.name}",
        }
        slug = f"oddsa_player_props-2024-01-15-{game.away}{game.home}"
        _exchange(
            folder, slug, url, 200, "application/json; charset=utf-8", json.dumps(event).encode(), "json"
        )


def _gamebook_url(game: Game) -> str:
    return f"https://statsdmz.nba.com/pdfs/{game.day:%Y%m%d}/{game.day:%Y%m%d}_{game.away}{game.home}.pdf"


def _gamebook(folder: Path, game: Game) -> None:
    """The game's short gamebook: the demo's players under this game's teams and date."""
    book = demo_gamebook()
    away, home = TEAMS[game.away], TEAMS[game.home]
    day = game.day
    book = replace(
        book,
        title=f"Box Score {away.name} - {home.name}",
        date_line=f"{day:%A}, {day:%B} {day.day}, {day.year}",
        venue=f"{game.arena}, {home.city}",
        visitor=_book_team(book.visitor, away),
        home=_book_team(book.home, home),
    )
    slug = f"nbac_gamebook_pdf-{day:%Y%m%d}-{game.away}{game.home}"
    _exchange(folder, slug, _gamebook_url(game), 200, "application/pdf", render(book), "pdf")


def _book_team(team: BookTeam, which: Team) -> BookTeam:
    return replace(team, name=f"{which.city} {which.name}", nickname=which.name)


def _gamebook_missing(folder: Path, game: Game) -> None:
    """Not published yet: the PDF host answers 404 (the run fails not_found)."""
    slug = f"nbac_gamebook_pdf-{game.day:%Y%m%d}-{game.away}{game.home}"
    body = b"<html><body><h1>404 Not Found</h1></body></html>"
    _exchange(folder, slug, _gamebook_url(game), 404, "text/html", body, "html")


def eastern(day: date, hour: int, minute: int) -> str:
    """An Eastern wall time as the `--at` text (UTC, with Z)."""
    return _z(datetime(day.year, day.month, day.day, hour, minute, tzinfo=EASTERN))


def after(moment: str, hours: float) -> str:
    start = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return _z(start + timedelta(hours=hours))
