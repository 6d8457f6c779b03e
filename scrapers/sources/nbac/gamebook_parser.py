"""Pure parse of an NBA gamebook PDF (bytes) into typed values; no I/O besides reading the bytes given.

The layout (../shared/reference/GAMEBOOK-LAYOUT.md): a date-and-venue line, officials, duration and
attendance, one team block per side (visitor first: `VISITOR: <team> (<record>)`, the column header
`NO PLAYER POS MIN FG FGA ...`, player lines, DNP/DND/NWT lines, a totals row), then `Inactive:`
lists that wrap, then sections that are not players. The full `_book` version has the same box score
on page 1, followed by play-by-play pages that are never read.

Lines are rebuilt from pdfplumber words grouped by `top`, so the columns stay known: a position
letter is a position only under the POS header (never the last letter of a name), and each number is
assigned to the stat column it sits under, not to its rank on the line.

Nothing is dropped silently: a line that looks like a player but cannot be read, a missing section or
a failed self-check (team points, made <= attempted, REB = OR + DR, PTS = 2*FG + 3P + FT) becomes a
`problem`, and the caller lands the document as partial with those reasons.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pdfplumber
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from scrapers.core.errors import ParseError

# The printed stat columns, left to right (the gamebook's own abbreviations).
STAT_HEADERS = (
    *("FG", "FGA", "3P", "3PA", "FT", "FTA", "OR", "DR"),
    *("TOT", "A", "PF", "ST", "TO", "BS", "+/-", "PTS"),
)
STAT_KEYS = (
    "field_goals_made",
    "field_goals_attempted",
    "three_pointers_made",
    "three_pointers_attempted",
    "free_throws_made",
    "free_throws_attempted",
    "offensive_rebounds",
    "defensive_rebounds",
    "total_rebounds",
    "assists",
    "personal_fouls",
    "steals",
    "turnovers",
    "blocks",
    "plus_minus",
    "points",
)
_INDEX = {key: index for index, key in enumerate(STAT_KEYS)}
# (made, attempted, percentage key) in the landed stats.
_PERCENTAGES = (
    ("field_goals_made", "field_goals_attempted", "field_goal_percentage"),
    ("three_pointers_made", "three_pointers_attempted", "three_point_percentage"),
    ("free_throws_made", "free_throws_attempted", "free_throw_percentage"),
)

# pdfplumber wraps most pdfminer failures in PdfminerException, but page geometry and lazily parsed
# objects can still surface pdfminer's own PSException family (PDFSyntaxError, PSEOF, ...), and a page
# whose MediaBox is damaged fails inside pdfplumber with a TypeError (found by fuzzing the PDFs).
PDF_ERRORS: tuple[type[Exception], ...] = (PdfminerException, MalformedPDFException, PSException, TypeError)

# Words whose tops differ by less than this share a line (rows are ~10 pt apart, fonts ~7 pt).
LINE_TOLERANCE = 2.5
# How far left of the POS header a position letter may start and still be under it.
COLUMN_SLACK = 4.0

_WEEKDAY_DATE_VENUE = re.compile(
    r"^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+"
    r"(?P<date>[A-Z][a-z]+\s+\d{1,2},\s+\d{4})\s+(?P<venue>\S.*)$"
)
_OFFICIAL = re.compile(r"#\s*(\d+)\s+([^,#]+)")
_DURATION = re.compile(r"Game Duration:\s*(\d{1,2}:\d{2})")
_ATTENDANCE = re.compile(r"Attendance:\s*(\d[\d,]*)(?:\s*\(([^)]*)\))?")
_TEAM = re.compile(r"^(?P<side>VISITOR|HOME):\s*(?P<name>.+?)(?:\s*\((?P<record>\d+-\d+)\))?\s*$")
_MINUTES = re.compile(r"^\d{1,3}:\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_JERSEY = re.compile(r"^\d{1,2}$")
_POSITION = re.compile(r"^[FGC](?:-[FGC])?$")
_STATUS_CODE = re.compile(r"^[A-Z]{2,4}$")
_KNOWN_CODES = frozenset({"DNP", "DND", "NWT"})
_TOTALS = re.compile(r"^totals?:?$", re.IGNORECASE)
_INACTIVE = "Inactive:"
# Sections after the box score that end an Inactive list (and are never players).
_SECTION_STARTS = (
    "points in the paint",
    "score by periods",
    "technical",
    "flagrant",
    "memo",
    "\u00a9",
    "copyright",
    "biggest lead",
    "lead changes",
    "times tied",
    "fast break",
    "second chance",
)


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class Line:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


@dataclass(frozen=True)
class Official:
    number: int
    name: str


@dataclass(frozen=True)
class StatLine:
    """Minutes as printed and the 16 numbers in STAT_KEYS order (None: the cell could not be read)."""

    minutes: str
    values: tuple[int | None, ...]

    def get(self, key: str) -> int | None:
        return self.values[_INDEX[key]]

    def as_dict(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"minutes": self.minutes}
        stats.update(zip(STAT_KEYS, self.values, strict=True))
        for made, attempted, name in _PERCENTAGES:
            stats[name] = _percentage(self.get(made), self.get(attempted))
        return stats


@dataclass(frozen=True)
class ActivePlayer:
    name: str
    team: str
    position: str | None
    stats: StatLine


@dataclass(frozen=True)
class DnpPlayer:
    name: str
    team: str
    reason: str  # the code and its text: "NWT - Injury/Illness - Right Foot; Strain"
    category: str  # the code: DNP, DND, NWT


@dataclass(frozen=True)
class InactivePlayer:
    name: str  # the surname as printed: "Jackson Jr."
    team: str
    reason: str


@dataclass(frozen=True)
class TeamBox:
    side: str  # VISITOR or HOME
    name: str
    record: str | None
    totals: StatLine | None
    final_score: int | None  # from the score by periods, when printed


@dataclass(frozen=True)
class Gamebook:
    game_date: date | None
    arena: str | None
    city: str | None
    state: str | None
    officials: tuple[Official, ...]
    game_duration: str | None
    attendance: int | None
    attendance_note: str | None
    teams: tuple[TeamBox, ...]
    active: tuple[ActivePlayer, ...]
    dnp: tuple[DnpPlayer, ...]
    inactive: tuple[InactivePlayer, ...]
    problems: tuple[str, ...]

    @property
    def location(self) -> str | None:
        parts = [part for part in (self.city, self.state) if part]
        return ", ".join(parts) or None

    @property
    def player_count(self) -> int:
        return len(self.active) + len(self.dnp) + len(self.inactive)


def parse_gamebook(pdf: bytes) -> Gamebook:
    """The gamebook's values, or ParseError when the bytes are not a readable gamebook."""
    if not pdf:
        raise ParseError("the gamebook body is empty (zero bytes)")
    builder = _Builder()
    with _pdf_errors_as_parse_errors():
        document = pdfplumber.open(io.BytesIO(pdf))
    try:
        for words in _page_words(document):
            for line in group_lines(words):
                builder.feed(line)
            # Page 1 holds the whole box score; later pages are play-by-play (the _book version)
            # unless a box score runs over a page, so read on only while it is unfinished.
            if builder.box_score_done:
                break
    finally:
        # Closing walks every page object, so a damaged later page can fail here too.
        with _pdf_errors_as_parse_errors():
            document.close()
    return builder.result()


@contextmanager
def _pdf_errors_as_parse_errors() -> Iterator[None]:
    """Around pdfplumber calls only, so a bug of ours is never mistaken for a damaged PDF."""
    try:
        yield
    except PDF_ERRORS as exc:
        raise ParseError(f"the gamebook is not a readable PDF: {type(exc).__name__}: {exc}") from None


def _page_words(document: Any) -> Iterator[list[Word]]:
    """Each page's words, one page at a time: the _book version's later pages are never parsed."""
    with _pdf_errors_as_parse_errors():
        pages = document.pages
    for page in pages:
        with _pdf_errors_as_parse_errors():
            raw = page.extract_words()
        yield _words(raw)


def _words(raw: Iterable[Mapping[str, Any]]) -> list[Word]:
    return [Word(str(w["text"]), float(w["x0"]), float(w["x1"]), float(w["top"])) for w in raw]


def group_lines(words: Sequence[Word]) -> list[Line]:
    """Words sharing a `top` (within LINE_TOLERANCE) form a line, left to right; lines top to bottom."""
    lines: list[list[Word]] = []
    anchor = float("-inf")
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        if word.top - anchor > LINE_TOLERANCE:
            lines.append([])
            anchor = word.top
        lines[-1].append(word)
    return [Line(tuple(sorted(group, key=lambda w: w.x0))) for group in lines]


def _percentage(made: int | None, attempted: int | None) -> float | None:
    if made is None or attempted is None:
        return None
    return round(made / attempted, 3) if attempted else 0.0


# --- the table's columns ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Where the header line put POS (the end of the name column) and the 16 stat columns."""

    position_left: float
    stat_centers: tuple[float, ...]

    @classmethod
    def from_header(cls, line: Line) -> Columns | None:
        titles = {word.text: word for word in line.words}
        if not {"POS", "MIN", *STAT_HEADERS} <= titles.keys():
            return None
        return cls(
            position_left=titles["POS"].x0,
            stat_centers=tuple(titles[title].center for title in STAT_HEADERS),
        )

    def column_of(self, word: Word) -> int:
        return min(range(len(self.stat_centers)), key=lambda i: abs(self.stat_centers[i] - word.center))


def is_column_header(line: Line) -> bool:
    texts = {word.text for word in line.words}
    return {"PLAYER", "MIN", "PTS"} <= texts


@dataclass(frozen=True)
class TableRow:
    """One table line split into its parts; `stats` for a player who played, `status` for a DNP."""

    name: str
    position: str | None = None
    stats: StatLine | None = None
    status: str | None = None
    problem: str | None = None


def split_row(line: Line, columns: Columns | None) -> TableRow | None:
    """A player or DNP line, or None when the line is not one (a TEAM row, a wrapped reason)."""
    words = line.words
    start = 1 if len(words) > 1 and _JERSEY.match(words[0].text) else 0
    end = _name_end(words, start, columns)
    if end is None or end == start:
        return None
    name = " ".join(word.text for word in words[start:end])
    rest = words[end:]
    position = None
    if _is_position(rest, 0, columns):
        position, rest = rest[0].text, rest[1:]
    if rest and _MINUTES.match(rest[0].text):
        stats, problem = read_stats(rest[0].text, rest[1:], columns)
        return TableRow(name=name, position=position, stats=stats, problem=problem)
    if rest and _is_status(rest, 0):
        return TableRow(name=name, position=position, status=" ".join(word.text for word in rest))
    return None


def _name_end(words: Sequence[Word], start: int, columns: Columns | None) -> int | None:
    for index in range(start, len(words)):
        text = words[index].text
        if _MINUTES.match(text) or _is_status(words, index) or _is_position(words, index, columns):
            return index
    return None


def _is_position(words: Sequence[Word], index: int, columns: Columns | None) -> bool:
    if index >= len(words) or not _POSITION.match(words[index].text):
        return False
    if columns is not None:
        # A name may end in a lone capital; only the POS column holds positions.
        return words[index].x0 >= columns.position_left - COLUMN_SLACK
    return index + 1 < len(words) and bool(_MINUTES.match(words[index + 1].text))


def _is_status(words: Sequence[Word], index: int) -> bool:
    text = words[index].text
    if not _STATUS_CODE.match(text):
        return False
    follows_dash = index + 1 < len(words) and words[index + 1].text in ("-", "\u2013")
    return text in _KNOWN_CODES or follows_dash


def read_stats(minutes: str, cells: Sequence[Word], columns: Columns | None) -> tuple[StatLine, str | None]:
    """The 16 numbers by column position (or by order without a header); a problem if any is unreadable."""
    values: list[int | None] = [None] * len(STAT_KEYS)
    if any(not _INTEGER.match(cell.text) for cell in cells):
        return StatLine(minutes, tuple(values)), "a stat cell is not a number"
    if columns is None:
        if len(cells) != len(STAT_KEYS):
            return StatLine(minutes, tuple(values)), f"{len(cells)} stat cells instead of {len(STAT_KEYS)}"
        return StatLine(minutes, tuple(int(cell.text) for cell in cells)), None
    problem = None
    for cell in cells:
        column = columns.column_of(cell)
        if values[column] is not None:
            problem = f"two numbers under {STAT_HEADERS[column]}"
        values[column] = int(cell.text)
    missing = [STAT_HEADERS[i] for i, value in enumerate(values) if value is None]
    if missing and problem is None:
        problem = f"no number under {', '.join(missing)}"
    return StatLine(minutes, tuple(values)), problem


# --- the line-by-line reader ----------------------------------------------------------------------


@dataclass
class _Team:
    side: str
    name: str
    record: str | None
    totals: StatLine | None = None


@dataclass
class _Builder:
    """Feeds on lines in reading order and keeps what each one says."""

    game_date: date | None = None
    venue: str | None = None
    officials: list[Official] = field(default_factory=list)
    game_duration: str | None = None
    attendance: int | None = None
    attendance_note: str | None = None
    teams: list[_Team] = field(default_factory=list)
    active: list[ActivePlayer] = field(default_factory=list)
    dnp: list[DnpPlayer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    inactive_text: list[str] = field(default_factory=list)
    score_lines: list[Line] = field(default_factory=list)
    columns: Columns | None = None
    in_table: bool = False
    in_inactive: bool = False
    in_scores: bool = False
    last_dnp_line: bool = False

    @property
    def box_score_done(self) -> bool:
        inactive_open = self.in_inactive and _inactive_list_open(" ".join(self.inactive_text))
        return any(team.side == "HOME" for team in self.teams) and not self.in_table and not inactive_open

    def feed(self, line: Line) -> None:
        text = line.text
        if self.in_inactive and self._continues_inactive(text):
            self.inactive_text.append(text)
            return
        self.in_inactive = False
        team = _TEAM.match(text)
        if team:
            self._start_team(team)
        elif _INACTIVE in text:
            self.in_table = False
            self.in_inactive = True
            self.inactive_text.append(text[text.index(_INACTIVE) :])
        elif self.in_table:
            self._table_line(line)
        else:
            self._info_line(line)

    def _start_team(self, match: re.Match[str]) -> None:
        self.teams.append(_Team(side=match["side"], name=match["name"].strip(), record=match["record"]))
        self.in_table = True
        self.last_dnp_line = False

    def _continues_inactive(self, text: str) -> bool:
        if text.startswith(_INACTIVE):
            return True
        if _is_section_start(text) or _TEAM.match(text):
            return False
        return _inactive_list_open(" ".join(self.inactive_text))

    def _info_line(self, line: Line) -> None:
        text = line.text
        if self.game_date is None and (venue := _WEEKDAY_DATE_VENUE.match(text)):
            self.game_date = _date_of(venue["date"])
            self.venue = venue["venue"].strip()
        if text.startswith("Officials:"):
            self.officials.extend(
                Official(int(number), name.strip()) for number, name in _OFFICIAL.findall(text)
            )
        if duration := _DURATION.search(text):
            self.game_duration = duration[1]
        if attendance := _ATTENDANCE.search(text):
            self.attendance = int(attendance[1].replace(",", ""))
            self.attendance_note = attendance[2].strip() if attendance[2] else None
        if text.lower().startswith("score by periods"):
            self.in_scores = True
        elif self.in_scores:
            self.score_lines.append(line)

    def _table_line(self, line: Line) -> None:
        team = self.teams[-1]
        if is_column_header(line):
            self.columns = Columns.from_header(line)
            return
        first = line.words[0].text
        if _TOTALS.match(first) or (len(line.words) > 1 and _TOTALS.match(line.words[1].text)):
            self._totals(team, line)
            return
        if _is_section_start(line.text):
            self.in_table = False
            self._info_line(line)
            return
        row = split_row(line, self.columns)
        if row is None:
            self._other_table_line(team, line)
            return
        self.last_dnp_line = row.status is not None
        if row.stats is not None:
            if row.problem:
                self.problems.append(f"{team.name}: {row.name}: {row.problem} in '{line.text}'")
            self.active.append(ActivePlayer(row.name, team.name, row.position, row.stats))
        elif row.status is not None:
            self.dnp.append(DnpPlayer(row.name, team.name, row.status, row.status.split()[0]))

    def _other_table_line(self, team: _Team, line: Line) -> None:
        first = line.words[0]
        # Right of the name column: the reason started somewhere after POS, never under PLAYER.
        under_status = self.columns is None or first.x0 >= self.columns.position_left - COLUMN_SLACK
        if self.last_dnp_line and under_status and not _JERSEY.match(first.text):
            # A DNP reason too long for its line wraps onto the next one, under the same column.
            last = self.dnp[-1]
            self.dnp[-1] = DnpPlayer(last.name, last.team, f"{last.reason} {line.text}", last.category)
            return
        if _JERSEY.match(first.text):
            self.problems.append(f"{team.name}: unreadable player line '{line.text}'")

    def _totals(self, team: _Team, line: Line) -> None:
        words = line.words
        minutes = next((i for i, word in enumerate(words) if _MINUTES.match(word.text)), None)
        if minutes is None:
            self.problems.append(f"{team.name}: totals row without minutes: '{line.text}'")
        else:
            team.totals, problem = read_stats(words[minutes].text, words[minutes + 1 :], self.columns)
            # Only PTS anchors a check; a totals row may leave other cells (like +/-) blank.
            if team.totals.get("points") is None:
                self.problems.append(f"{team.name}: totals row without points: {problem}")
        self.in_table = False
        self.last_dnp_line = False

    def result(self) -> Gamebook:
        if not self.teams:
            raise ParseError("no VISITOR:/HOME: team block: this is not a gamebook box score")
        if not (self.active or self.dnp):
            raise ParseError("the gamebook's team tables list no player at all")
        teams = [_team_box(team, self.score_lines) for team in self.teams]
        inactive, inactive_problems = read_inactive(" ".join(self.inactive_text), [t.name for t in teams])
        arena, city, state = _split_venue(self.venue)
        problems = [
            *self.problems,
            *inactive_problems,
            *self._missing_sections(),
            *check_teams(teams, self.active),
            *check_players(self.active),
        ]
        return Gamebook(
            game_date=self.game_date,
            arena=arena,
            city=city,
            state=state,
            officials=tuple(self.officials),
            game_duration=self.game_duration,
            attendance=self.attendance,
            attendance_note=self.attendance_note,
            teams=tuple(teams),
            active=tuple(self.active),
            dnp=tuple(self.dnp),
            inactive=tuple(inactive),
            problems=tuple(problems),
        )

    def _missing_sections(self) -> Iterator[str]:
        if self.venue is None:
            yield "no date-and-venue line (arena, city and state are unknown)"
        if not self.officials:
            yield "no officials line"
        if self.game_duration is None:
            yield "no game duration"
        if [team.side for team in self.teams] != ["VISITOR", "HOME"]:
            yield f"expected a VISITOR and a HOME block, found {[team.side for team in self.teams]}"


def _is_section_start(text: str) -> bool:
    return text.lower().startswith(_SECTION_STARTS)


def _date_of(text: str) -> date | None:
    try:
        return datetime.strptime(" ".join(text.split()), "%B %d, %Y").date()
    except ValueError:
        return None


def _split_venue(venue: str | None) -> tuple[str | None, str | None, str | None]:
    """`Rocket Mortgage FieldHouse, Cleveland, OH`: city and state are the last two parts."""
    if venue is None:
        return None, None, None
    parts = [part.strip() for part in venue.split(",")]
    if len(parts) < 3:
        return parts[0], parts[1] if len(parts) > 1 else None, None
    return ", ".join(parts[:-2]), parts[-2], parts[-1]


def _team_box(team: _Team, score_lines: Sequence[Line]) -> TeamBox:
    return TeamBox(team.side, team.name, team.record, team.totals, final_score(team.name, score_lines))


def final_score(team: str, score_lines: Sequence[Line]) -> int | None:
    """The last number of the team's line in the score by periods."""
    for line in score_lines:
        text = line.text
        if text.startswith(team + " "):
            numbers = text[len(team) :].split()
            if numbers and all(_INTEGER.match(n) for n in numbers):
                return int(numbers[-1])
    return None


# --- Inactive lists ---------------------------------------------------------------------------------


def _inactive_list_open(text: str) -> bool:
    """Whether the text so far ends mid-list: after a comma, inside a reason, or in a name awaiting `(`."""
    body = text.rsplit(_INACTIVE, 1)[-1]
    label, dash, entries = body.partition(" - ")
    if not dash:
        return bool(label.strip())
    stripped = entries.strip()
    if stripped in ("", "None"):
        return False
    if stripped.count("(") != stripped.count(")") or stripped.endswith(","):
        return True
    return not stripped.endswith(")")


def read_inactive(text: str, teams: Sequence[str]) -> tuple[list[InactivePlayer], list[str]]:
    """`Inactive: Grizzlies - Bane (reason), Goodwin (reason)` per team, however the lines wrapped.

    Lists are read as one text stream split at each `Inactive:`: a second team's list may start in
    the middle of a line (the old parser took that as part of the first list's last reason).
    """
    players: list[InactivePlayer] = []
    problems: list[str] = []
    segments = [segment.strip() for segment in text.split(_INACTIVE)[1:]]
    for order, segment in enumerate(segments):
        label, dash, body = segment.partition(" - ")
        if not dash:
            label, body = segment.rstrip(" -"), ""
        team = _team_for_label(label.strip(), teams, order)
        entries, problem = inactive_entries(body)
        players.extend(InactivePlayer(name, team, reason) for name, reason in entries)
        if problem:
            problems.append(f"{team}: Inactive list: {problem}")
    return players, problems


def _team_for_label(label: str, teams: Sequence[str], order: int) -> str:
    for team in teams:
        if team == label or team.endswith(" " + label):
            return team
    # All-Star lists may name a side ("West") that is not the end of the team's printed name.
    return teams[order] if order < len(teams) else label


def inactive_entries(body: str) -> tuple[list[tuple[str, str]], str | None]:
    """`Bane (Injury/Illness - Lumbar; Disc Bulge), Goodwin ()`: names and reasons, parentheses nested."""
    entries: list[tuple[str, str]] = []
    position, length = 0, len(body)
    while position < length:
        opening = body.find("(", position)
        comma = body.find(",", position)
        if opening < 0 or (0 <= comma < opening):
            # A name without a reason: up to the next comma or the end.
            stop = comma if comma >= 0 else length
            name = body[position:stop].strip()
            if name and name != "None":
                entries.append((name, ""))
            position = stop + 1
            continue
        closing = _matching_paren(body, opening)
        if closing < 0:
            return entries, f"unclosed reason after '{body[position:opening].strip()}'"
        entries.append((body[position:opening].strip(), " ".join(body[opening + 1 : closing].split())))
        position = closing + 1
        while position < length and body[position] in ", ":
            position += 1
    return entries, None


def _matching_paren(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


# --- self-checks --------------------------------------------------------------------------------------


def check_teams(teams: Sequence[TeamBox], active: Sequence[ActivePlayer]) -> Iterator[str]:
    """Each team's player points must add up to the totals row and the score by periods."""
    for team in teams:
        players = [player for player in active if player.team == team.name]
        if not players:
            yield f"{team.name}: no player with minutes"
            continue
        points = [player.stats.get("points") for player in players]
        if any(value is None for value in points):
            continue  # the unreadable cell is already a problem of its own
        scored = sum(value for value in points if value is not None)
        anchors = {"the totals row": team.totals.get("points") if team.totals else None}
        anchors["the score by periods"] = team.final_score
        printed = {name: value for name, value in anchors.items() if value is not None}
        if not printed:
            yield f"{team.name}: no team total printed, player points ({scored}) not checked"
        for where, value in printed.items():
            if value != scored:
                yield f"{team.name}: player points sum to {scored} but {where} says {value}"


def check_players(active: Sequence[ActivePlayer]) -> Iterator[str]:
    for player in active:
        for problem in stat_line_problems(player.stats):
            yield f"{player.team}: {player.name}: {problem}"


def stat_line_problems(stats: StatLine) -> Iterator[str]:
    values = dict(zip(STAT_KEYS, stats.values, strict=True))
    if any(value is None for value in values.values()):
        return
    v: dict[str, int] = {key: value for key, value in values.items() if value is not None}
    for made, attempted, _ in _PERCENTAGES:
        if v[made] > v[attempted]:
            yield f"{made} {v[made]} > {attempted} {v[attempted]}"
    if v["three_pointers_made"] > v["field_goals_made"]:
        yield f"three_pointers_made {v['three_pointers_made']} > field_goals_made {v['field_goals_made']}"
    if v["total_rebounds"] != v["offensive_rebounds"] + v["defensive_rebounds"]:
        yield (
            f"total_rebounds {v['total_rebounds']} != offensive {v['offensive_rebounds']}"
            f" + defensive {v['defensive_rebounds']}"
        )
    expected = 2 * v["field_goals_made"] + v["three_pointers_made"] + v["free_throws_made"]
    if v["points"] != expected:
        yield f"points {v['points']} != 2*FG + 3P + FT = {expected}"
