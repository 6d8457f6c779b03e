"""Synthetic NBA gamebook PDFs in the real layout (../shared/reference/GAMEBOOK-LAYOUT.md).

No intact real gamebook PDF exists, so tests render one from a data structure: the header with date
and venue, officials, duration and attendance, a team block per side (visitor first) with the column
header, player lines, DNP lines and a totals row, the Inactive lists (which wrap), the sections a
parser must not mistake for players, and for the `_book` version play-by-play pages after page 1.

Every value below is authored by this project; `gamebook_from_landed` builds the spec of a landed
document that a test reads from ../shared at test time, so nothing from there is copied here.

`python -m tests.gamebook_pdf [DIR]` writes the demo-day replay fixture (tests/fixtures/nbac).
"""

from __future__ import annotations

import io
import itertools
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from scrapers.sources.nbac.gamebook_parser import STAT_HEADERS, STAT_KEYS

FONT, BOLD = "Helvetica", "Helvetica-Bold"
# Helvetica's WinAnsi encoding has no ć, č or Đ (Jokić, Dončić); a variation prints names in Vera, a
# TrueType font that ships with reportlab, embedded as a subset the way real gamebooks embed theirs.
UNICODE_FONT = "Vera"
SIZE = 7.0
LEADING = 10.0
LEFT = 24.0
RIGHT: float = letter[0] - 24.0
TOP: float = letter[1] - 36.0
# Column anchors: text columns by their left edge, numbers right-aligned on their right edge.
X_NO, X_PLAYER, X_POS, X_MIN_RIGHT = LEFT, 42.0, 150.0, 196.0
X_STATUS = 172.0  # a DNP code and its reason start under MIN
STAT_RIGHTS = tuple(222.0 + 22.0 * index for index in range(len(STAT_HEADERS)))


@dataclass(frozen=True)
class Player:
    number: str
    name: str
    position: str = ""  # F, G or C for starters; empty for the bench (and, as a variation, a starter)
    minutes: str | None = None  # None: a DNP/DND/NWT line
    stats: tuple[int, ...] = ()  # STAT_HEADERS order
    dnp: str | None = None  # "DNP - Coach's Decision", "NWT - Injury/Illness - Right Foot; Strain"


@dataclass(frozen=True)
class Team:
    name: str  # "Memphis Grizzlies", as in the VISITOR:/HOME: line
    nickname: str  # "Grizzlies", as in the Inactive line and the score by periods
    record: str | None
    players: tuple[Player, ...]
    inactive: tuple[tuple[str, str], ...] = ()  # (surname as printed, reason)
    # None: the column sums of the players; a None cell is printed blank.
    totals: tuple[int | None, ...] | None = None
    periods: tuple[int, ...] | None = None  # None: the players' points split over four quarters


@dataclass(frozen=True)
class Gamebook:
    title: str
    date_line: str  # "Wednesday, April 10, 2024"
    venue: str  # "Rocket Mortgage FieldHouse, Cleveland, OH"
    officials: tuple[tuple[int, str], ...]
    duration: str
    attendance: int | None
    attendance_note: str | None
    visitor: Team
    home: Team
    # True: both teams' Inactive lists flow as one paragraph, the second starting mid-line.
    inactive_inline: bool = False
    pbp_pages: int = 0
    print_totals: bool = True
    extra_lines: tuple[str, ...] = field(default=())
    name_font: str = FONT


def team_totals(team: Team) -> tuple[int | None, ...]:
    if team.totals is not None:
        return team.totals
    played = [p.stats for p in team.players if p.minutes is not None]
    return tuple(sum(stats[i] for stats in played) for i in range(len(STAT_HEADERS)))


def team_periods(team: Team) -> tuple[int, ...]:
    if team.periods is not None:
        return team.periods
    points = sum(p.stats[-1] for p in team.players if p.minutes is not None)
    quarter = points // 4
    return (quarter + 1, quarter - 1, quarter + 2, points - 3 * quarter - 2)


def active(number: str, name: str, position: str, minutes: str, printed: str) -> Player:
    """A player who played: `printed` is the 16 numbers as the line shows them, FG first, PTS last.

    REB and PTS are checked so that a spec meant to be consistent cannot carry a typo; a deliberately
    inconsistent line is built as a Player directly.
    """
    values = tuple(int(value) for value in printed.split())
    if len(values) != len(STAT_HEADERS):
        raise ValueError(f"a stat line has {len(STAT_HEADERS)} values, got {len(values)}")
    fg, _, three, _, ft, _, oreb, dreb, reb = values[:9]
    if reb != oreb + dreb or values[-1] != 2 * fg + three + ft:
        raise ValueError(f"inconsistent stat line {values}: fix the spec, or build the Player directly")
    return Player(number=number, name=name, position=position, minutes=minutes, stats=values)


def dnp(number: str, name: str, reason: str) -> Player:
    return Player(number=number, name=name, dnp=reason)


# --- rendering ------------------------------------------------------------------------------------


class _Writer:
    """A cursor over pages: one call per printed line, a new page when the bottom is reached."""

    def __init__(self, canvas: Canvas, name_font: str) -> None:
        self.canvas = canvas
        self.name_font = name_font
        self.y = TOP

    def advance(self, step: float = LEADING) -> float:
        if self.y < 48.0:
            self.canvas.showPage()
            self.y = TOP
        y = self.y
        self.y -= step
        return y

    def text(self, x: float, y: float, value: str, font: str = FONT, size: float = SIZE) -> None:
        self.canvas.setFont(font, size)
        self.canvas.drawString(x, y, value)

    def right(self, x: float, y: float, value: str) -> None:
        self.canvas.setFont(FONT, SIZE)
        self.canvas.drawRightString(x, y, value)

    def paragraph(self, value: str, font: str = FONT) -> None:
        for part in simpleSplit(value, font, SIZE, RIGHT - LEFT):
            self.text(LEFT, self.advance(), part, font)


def render(book: Gamebook) -> bytes:
    """The PDF bytes. `invariant` keeps the output byte-stable (no creation date, fixed document id)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=True, pageCompression=1)
    canvas.setTitle(book.title)
    if book.name_font == UNICODE_FONT and UNICODE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(UNICODE_FONT, "Vera.ttf"))
    writer = _Writer(canvas, book.name_font)
    _header(writer, book)
    for label, team in (("VISITOR", book.visitor), ("HOME", book.home)):
        _team_block(writer, label, team, book.print_totals)
    _inactive(writer, book)
    _trailer(writer, book)
    for page in range(book.pbp_pages):
        canvas.showPage()
        writer.y = TOP
        _play_by_play(writer, book, page)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _header(writer: _Writer, book: Gamebook) -> None:
    writer.text(LEFT, writer.advance(16.0), book.title, BOLD, 11.0)
    writer.text(LEFT, writer.advance(), f"{book.date_line} {book.venue}")
    officials = ", ".join(f"#{number} {name}" for number, name in book.officials)
    writer.text(LEFT, writer.advance(), f"Officials: {officials}")
    y = writer.advance(14.0)
    writer.text(LEFT, y, f"Game Duration: {book.duration}")
    if book.attendance is not None:
        note = f" ({book.attendance_note})" if book.attendance_note else ""
        writer.text(200.0, y, f"Attendance: {book.attendance}{note}")


def _team_block(writer: _Writer, label: str, team: Team, print_totals: bool) -> None:
    record = f" ({team.record})" if team.record else ""
    writer.text(LEFT, writer.advance(12.0), f"{label}: {team.name}{record}", BOLD, 8.0)
    y = writer.advance()
    for x, title in ((X_NO, "NO"), (X_PLAYER, "PLAYER"), (X_POS, "POS")):
        writer.text(x, y, title, BOLD)
    writer.canvas.setFont(BOLD, SIZE)
    writer.canvas.drawRightString(X_MIN_RIGHT, y, "MIN")
    for right, title in zip(STAT_RIGHTS, STAT_HEADERS, strict=True):
        writer.canvas.drawRightString(right, y, title)
    for player in team.players:
        _player_line(writer, player)
    if print_totals:
        y = writer.advance()
        writer.text(X_PLAYER, y, "TOTALS", BOLD)
        writer.right(X_MIN_RIGHT, y, "240:00")
        for right, value in zip(STAT_RIGHTS, team_totals(team), strict=True):
            if value is not None:
                writer.right(right, y, str(value))
    writer.advance(4.0)


def _player_line(writer: _Writer, player: Player) -> None:
    y = writer.advance()
    writer.text(X_NO, y, player.number)
    writer.text(X_PLAYER, y, player.name, writer.name_font)
    if player.position:
        writer.text(X_POS, y, player.position)
    if player.minutes is None:
        first, *wrapped = simpleSplit(player.dnp or "", FONT, SIZE, RIGHT - X_STATUS)
        writer.text(X_STATUS, y, first)
        for part in wrapped:
            writer.text(X_STATUS, writer.advance(), part)
        return
    writer.right(X_MIN_RIGHT, y, player.minutes)
    for right, value in zip(STAT_RIGHTS, player.stats, strict=True):
        writer.right(right, y, str(value))


def _inactive_text(team: Team) -> str:
    return f"Inactive: {team.nickname} - " + ", ".join(f"{name} ({reason})" for name, reason in team.inactive)


def _inactive(writer: _Writer, book: Gamebook) -> None:
    texts = [_inactive_text(team) for team in (book.visitor, book.home) if team.inactive]
    if book.inactive_inline:
        writer.paragraph(" ".join(texts))
        return
    for text in texts:
        writer.paragraph(text)


def _trailer(writer: _Writer, book: Gamebook) -> None:
    """Sections after the box score that must never become players."""
    writer.advance(4.0)
    visitor, home = book.visitor, book.home
    writer.text(LEFT, writer.advance(), f"Points in the Paint: {visitor.nickname} 44, {home.nickname} 52")
    periods = {team.name: team_periods(team) for team in (visitor, home)}
    if all(periods.values()):
        y = writer.advance()
        writer.text(LEFT, y, "SCORE BY PERIODS", BOLD)
        count = len(periods[visitor.name])
        for index, title in enumerate([*(str(n) for n in range(1, count + 1)), "FINAL"]):
            writer.right(200.0 + 24.0 * index, y, title)
        for team in (visitor, home):
            y = writer.advance()
            writer.text(LEFT, y, team.name)
            for index, value in enumerate([*periods[team.name], sum(periods[team.name])]):
                writer.right(200.0 + 24.0 * index, y, str(value))
    writer.text(LEFT, writer.advance(), "Technical fouls: None")
    for extra in book.extra_lines:
        writer.text(LEFT, writer.advance(), extra)
    writer.text(LEFT, writer.advance(), "MEMO: synthetic gamebook rendered by tests/gamebook_pdf.py")
    writer.text(LEFT, writer.advance(), "\u00a9 2024 NBA Properties, Inc. All Rights Reserved.")


def _play_by_play(writer: _Writer, book: Gamebook, page: int) -> None:
    """A play-by-play page: clock times, scores and player names that must not parse as box lines."""
    writer.text(LEFT, writer.advance(16.0), f"{book.title} - Play-By-Play (page {page + 2})", BOLD, 11.0)
    writer.text(LEFT, writer.advance(), f"{book.date_line} {book.venue}")
    visitor = [p for p in book.visitor.players if p.minutes is not None]
    home = [p for p in book.home.players if p.minutes is not None]
    clock = 12 * 60
    for index in range(40):
        shooter = (visitor if index % 2 else home)[index % min(len(visitor), len(home))]
        clock -= 17
        stamp = f"{clock // 60}:{clock % 60:02d}"
        y = writer.advance()
        writer.text(LEFT, y, stamp)
        writer.text(60.0, y, f"{shooter.number} {shooter.name} 18' Jump Shot (2 PTS) 1 2 3 4 5 6 7 8 9")
        writer.right(RIGHT, y, f"{index + 40} - {index + 38}")


# --- specs ------------------------------------------------------------------------------------------


def gamebook_from_landed(
    document: Mapping[str, Any], inactive: Mapping[str, Sequence[tuple[str, str]]]
) -> Gamebook:
    """The gamebook that carries a landed document's values, for a parser to read back.

    `inactive` maps a full team name to its (surname, reason) list: the caller says what is true,
    since an old landed document may hold a wrong split. Jersey numbers, positions, records and the
    score by periods are not in a landed document; they are authored here.
    """
    away = document["active_players"][0]["team"]
    names = list(dict.fromkeys(p["team"] for p in document["active_players"]))
    home = next(name for name in names if name != away)
    number = iter(range(1, 100))
    teams = []
    for name, record in ((away, "27-54"), (home, "47-34")):
        rows: list[Player] = []
        starters = iter(("F", "F", "C", "G", "G"))
        for entry in document["active_players"]:
            if entry["team"] != name:
                continue
            stats = tuple(int(entry["stats"][key]) for key in STAT_KEYS)
            rows.append(
                Player(str(next(number)), entry["name"], next(starters, ""), entry["stats"]["minutes"], stats)
            )
        for entry in document["dnp_players"]:
            if entry["team"] == name:
                rows.append(dnp(str(next(number)), entry["name"], entry["dnp_reason"]))
        teams.append(
            Team(
                name=name,
                nickname=name.split()[-1],
                record=record,
                players=tuple(rows),
                inactive=tuple(inactive.get(name, ())),
            )
        )
    visitor, home_team = teams
    city_state = document["location"]
    return Gamebook(
        title=f"Box Score {visitor.nickname} - {home_team.nickname}",
        date_line=_weekday_line(document["date"]),
        venue=f"{document['arena']}, {city_state}",
        officials=tuple((int(o["number"]), str(o["name"])) for o in document["officials"]),
        duration=document["game_duration"],
        attendance=document["attendance"],
        attendance_note=document["attendance_note"],
        visitor=visitor,
        home=home_team,
        inactive_inline=True,
    )


def true_inactive(document: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The Inactive lists an old landed document should have held, per full team name.

    When the second team's list started mid-line, the old parser kept reading the first list to the
    end of the text: the first list's last reason swallowed `) Inactive: <team> - <first entry>` and
    the second list's other entries were landed for both teams. Undo exactly that.
    """
    lists: dict[str, list[tuple[str, str]]] = {}
    for entry in document["inactive_players"]:
        lists.setdefault(entry["team"], []).append((entry["name"], entry["reason"]))
    teams = list(lists)
    for first, second in itertools.pairwise(teams):
        later = set(lists[second])
        lists[first] = [item for item in lists[first] if item not in later]
        lists[first] = [(name, reason.split(") Inactive: ", 1)[0]) for name, reason in lists[first]]
    return lists


def _weekday_line(iso_day: str) -> str:
    day = date.fromisoformat(iso_day)
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def demo_gamebook() -> Gamebook:
    """The demo day's Warriors at Grizzlies (2024-01-15; final 111-104 as in the scoreboard fixture).

    Player names are invented: the replay fixture carries synthetic values only.
    """
    warriors = Team(
        name="Golden State Warriors",
        nickname="Warriors",
        record="18-21",
        players=(
            active("11", "Jalen Brooks", "F", "36:10", "9 17 3 7 4 4 1 6 7 3 2 1 2 0 9 25"),
            active("23", "Marcus Vale", "F", "33:02", "6 12 1 4 2 2 2 5 7 5 3 2 1 1 6 15"),
            active("5", "Theo Granger", "C", "28:45", "7 10 0 0 1 3 4 6 10 2 4 0 2 2 4 15"),
            active("30", "Devon Price", "G", "35:30", "10 21 5 11 5 5 0 4 4 8 1 2 3 0 11 30"),
            active("3", "Caleb Ortiz", "G", "30:18", "4 9 2 5 0 0 0 3 3 4 2 1 1 0 -2 10"),
            active("0", "Nate Ellison", "", "42:15", "5 11 2 6 4 5 1 4 5 3 3 1 1 1 7 16"),
            active("8", "Ruben Diaz", "", "34:00", "0 2 0 1 0 0 0 1 1 1 1 0 0 0 0 0"),
            dnp("32", "Owen Pike", "DNP - Coach's Decision"),
        ),
        inactive=(("Harlan", "Injury/Illness - Left Ankle; Sprain"), ("Mbeki", "G League - Two-Way")),
        periods=(29, 25, 30, 27),
    )
    grizzlies = Team(
        name="Memphis Grizzlies",
        nickname="Grizzlies",
        record="15-25",
        players=(
            active("13", "Ty Wallace", "F", "34:40", "8 16 2 6 6 7 2 7 9 2 3 1 2 3 -6 24"),
            active("22", "Andre Kim", "F", "31:12", "5 11 1 3 2 2 1 5 6 3 2 2 1 0 -9 13"),
            active("17", "Sam Okafor", "C", "29:55", "6 8 0 0 2 4 5 8 13 1 4 0 2 2 -3 14"),
            active("12", "Luis Moreno Jr.", "G", "36:20", "9 20 4 10 5 6 0 3 3 9 2 2 4 0 -8 27"),
            active("9", "Eli Brandt", "G", "30:05", "5 12 3 7 1 1 1 2 3 4 3 1 1 0 2 14"),
            active("45", "Kofi Mensah", "", "47:48", "4 9 1 3 3 4 1 5 6 2 2 1 0 1 -11 12"),
            active("1", "Drew Hollis", "", "30:00", "0 3 0 2 0 0 1 2 3 1 2 0 1 0 -5 0"),
            dnp("4", "Jonah Reyes", "DND - Injury/Illness - Right Knee; Soreness"),
        ),
        inactive=(("Castillo", "Injury/Illness - Right Hand; Fracture"),),
        periods=(24, 27, 26, 27),
    )
    return Gamebook(
        title="Box Score Warriors - Grizzlies",
        date_line="Monday, January 15, 2024",
        venue="FedExForum, Memphis, TN",
        officials=((11, "Pat Rowe"), (27, "Dana Cole"), (62, "Lee Marsh")),
        duration="2:14",
        attendance=17794,
        attendance_note="Sellout",
        visitor=warriors,
        home=grizzlies,
    )


# --- variations a real parser must survive (project-authored values) ---------------------------------


def suffixes_and_accents() -> Gamebook:
    """Suffixes, apostrophes, accents (in an embedded font), a starter without a position letter,
    0:00 minutes and jersey 00."""
    base = demo_gamebook()
    visitor = replace(
        base.visitor,
        periods=None,
        players=(
            active("2", "Royce O'Neale", "F", "36:10", "9 17 3 7 4 4 1 6 7 3 2 1 2 0 9 25"),
            active("22", "Larry Nance Jr.", "F", "33:02", "6 12 1 4 2 2 2 5 7 5 3 2 1 1 6 15"),
            active("44", "Robert Williams III", "", "28:45", "7 10 0 0 1 3 4 6 10 2 4 0 2 2 4 15"),
            active("15", "Nikola Jokić", "C", "33:41", "11 19 1 3 4 4 3 9 12 9 2 1 3 1 5 27"),
            active("13", "Théo Maledon", "G", "35:30", "10 21 5 11 5 5 0 4 4 8 1 2 3 0 11 30"),
            active("77", "Luka Dončić", "", "30:18", "4 9 2 5 0 0 0 3 3 4 2 1 1 0 -2 10"),
            active("10", "Đorđe Šarić", "", "42:15", "5 11 2 6 4 5 1 4 5 3 3 1 1 1 7 16"),
            active("00", "Ömer Yurtseven", "", "34:00", "0 2 0 1 0 0 0 1 1 1 1 0 0 0 0 0"),
            active("7", "Jaime Jaquez Jr.", "", "0:00", "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"),
            active("9", "Tidjane Salaün", "", "04:12", "1 1 0 0 0 0 0 1 1 0 0 0 0 0 2 2"),
            dnp("1", "José Alvarado", "NWT - Personal"),
        ),
    )
    return replace(base, visitor=visitor, name_font=UNICODE_FONT)


def wrapped_inactive_no_home_inactives() -> Gamebook:
    """A visitor Inactive list long enough to wrap twice; the home team has no inactive players and
    a DND reason long enough to wrap under its own column."""
    base = demo_gamebook()
    long_reason = (
        "DND - Injury/Illness - Left Hamstring; Strain, Right Ankle; Sprain, Lower Back; Soreness, "
        "Left Knee; Patellofemoral Pain Syndrome Management"
    )
    home_players = (*base.home.players[:-1], dnp("4", "Jonah Reyes", long_reason))
    long_list = tuple(
        (surname, reason)
        for surname, reason in (
            ("Harlan", "Injury/Illness - Left Ankle; Sprain"),
            ("Mbeki", "G League - Two-Way"),
            ("Ortega Jr.", "Injury/Illness - Right Quadriceps; Tendonitis"),
            ("Lindqvist", "Injury/Illness - Right Plantar; Fasciitis"),
            ("Adeyemi", "Injury/Illness - Right Shoulder; Labral Repair"),
            ("Brennan", ""),
            ("Nakamura", "Personal"),
            ("Whitfield II", "Injury/Illness - Right Ring Finger; Central Slip Tear"),
            ("Kowalski", "Injury/Illness - Left Patellar; Tendonitis"),
        )
    )
    return replace(
        base,
        visitor=replace(base.visitor, inactive=long_list),
        home=replace(base.home, inactive=(), players=home_players),
    )


def full_book() -> Gamebook:
    """The `_book` version: the same box score on page 1, then play-by-play pages."""
    return replace(demo_gamebook(), pbp_pages=3)


def all_star() -> Gamebook:
    """An All-Star game: conference teams, no season records, an officials crew of four."""
    base = demo_gamebook()
    west = replace(base.visitor, name="Western Conference All-Stars", nickname="West", record=None)
    east = replace(base.home, name="Eastern Conference All-Stars", nickname="East", record=None)
    return replace(
        base,
        title="Box Score West - East",
        date_line="Sunday, February 18, 2024",
        venue="Gainbridge Fieldhouse, Indianapolis, IN",
        officials=((11, "Pat Rowe"), (27, "Dana Cole"), (62, "Lee Marsh"), (8, "Kim Ayers")),
        attendance_note=None,
        visitor=west,
        home=east,
    )


def preseason_non_nba() -> Gamebook:
    """A preseason game against a club that is not an NBA franchise (digits in its nickname)."""
    base = demo_gamebook()
    adelaide = replace(base.visitor, name="Adelaide 36ers", nickname="36ers", record="0-1")
    return replace(
        base,
        title="Box Score 36ers - Grizzlies",
        date_line="Thursday, October 5, 2023",
        attendance=None,
        attendance_note=None,
        visitor=adelaide,
    )


def points_do_not_sum() -> Gamebook:
    """The totals row says 112 where the Warriors' players scored 111."""
    base = demo_gamebook()
    totals = (*team_totals(base.visitor)[:-1], 112)
    return replace(base, visitor=replace(base.visitor, totals=totals))


VARIANTS: Mapping[str, Callable[[], Gamebook]] = {
    "demo": demo_gamebook,
    "suffixes_accents": suffixes_and_accents,
    "wrapped_inactive": wrapped_inactive_no_home_inactives,
    "full_book": full_book,
    "all_star": all_star,
    "preseason": preseason_non_nba,
    "points_mismatch": points_do_not_sum,
}


# --- the demo replay fixture ---------------------------------------------------------------------

DEMO_GAME = "20240115/GSWMEM"
DEMO_URL = "https://statsdmz.nba.com/pdfs/20240115/20240115_GSWMEM.pdf"
DEMO_SLUG = "nbac_gamebook_pdf-20240115-GSWMEM"


def write_demo_fixture(directory: Path) -> Iterator[Path]:
    """Write the exchange and body of the demo gamebook (tests/fixtures/README.md describes it)."""
    directory.mkdir(parents=True, exist_ok=True)
    body = directory / f"{DEMO_SLUG}.body.pdf"
    body.write_bytes(render(demo_gamebook()))
    yield body
    exchange = {
        "request": {"method": "GET", "url": DEMO_URL, "body_sha256": None},
        "response": {"status": 200, "headers": {"content-type": "application/pdf"}, "body_file": body.name},
    }
    target = directory / f"{DEMO_SLUG}.exchange.json"
    target.write_text(json.dumps(exchange, indent=2) + "\n", encoding="utf-8")
    yield target


if __name__ == "__main__":
    for written in write_demo_fixture(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/nbac")):
        print(f"wrote {written}")
