"""The NBA.com injury report PDF to rows: pure bytes in, records out.

The report is one table (Game Date, Game Time, Matchup, Team, Player Name, Current Status,
Reason) printed as positioned glyphs with no space characters between words. Flattened text loses
the columns, and the old platform's parser guessed them back from status words and a medical
vocabulary. Here every word goes into its column by its x position, read from the header row, and
every printed line goes into its table row by its y position:

* a row is anchored by its status cell (a single word that never wraps) or by a
  NOT YET SUBMITTED cell;
* the other lines of a row (a reason or a name wrapped over several lines is printed vertically
  centred around the anchor) join the nearest anchor within their block of touching lines;
* the game cells (date, time, matchup) and the team cell are printed on the first row they span
  only, so they carry down the table and across pages.

pdfplumber gives the words with positions (DESIGN: prefer the library); the table is not read with
its table finder because the ruled lines only cover some columns and differ between pages.
"""

from __future__ import annotations

import bisect
import io
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import Any, NamedTuple

import pdfplumber
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from scrapers.core.errors import ParseError
from scrapers.nba.teams import tricode_for_name

KNOWN_STATUSES = ("Out", "Questionable", "Doubtful", "Probable", "Available")
NOT_YET_SUBMITTED = "NOT YET SUBMITTED"
UNPARSED_SAMPLE_SIZE = 10

# The glyphs carry no spaces: words are split where the gap between glyphs exceeds this share of
# the font size. The real report's word gap is 0.23 em and its glyphs touch inside a word.
WORD_GAP_RATIO = 0.15
# Glyphs of one printed line share their top exactly; this only absorbs rounding.
LINE_TOLERANCE = 1.5
# Lines of one table row touch or nearly touch (wrapped lines are 0.4 em apart), rows are separated
# by their cell padding (1.2 em): a gap above this share of the line height starts a new block.
BLOCK_GAP_RATIO = 0.7
# Cell text starts 1 pt right of its header label; a column starts this far left of its label.
COLUMN_SLACK = 4.0

_TITLE = re.compile(r"^Injury Report\b")
_TITLE_MOMENT = re.compile(
    r"^Injury Report:\s*(?P<date>\d{1,2}/\d{1,2}/\d{2,4})\s+(?P<time>\d{1,2}:\d{2}\s*[AP]M)"
)
_FOOTER = re.compile(r"^Page \d+ of \d+$")
_GAMETIME = re.compile(r"\s*\(ET\)$")
_PLAYER_NAME = re.compile(r"^[^,]+, [^,]+$")


class Column(IntEnum):
    DATE = 0
    TIME = 1
    MATCHUP = 2
    TEAM = 3
    PLAYER = 4
    STATUS = 5
    REASON = 6


# Header labels in table order. Matched with their spaces removed, so a header whose words touch
# ("GameDate") is still found.
HEADER_LABELS: tuple[tuple[Column, str], ...] = (
    (Column.DATE, "GameDate"),
    (Column.TIME, "GameTime"),
    (Column.MATCHUP, "Matchup"),
    (Column.TEAM, "Team"),
    (Column.PLAYER, "PlayerName"),
    (Column.STATUS, "CurrentStatus"),
    (Column.REASON, "Reason"),
)


@dataclass(frozen=True)
class InjuryRecord:
    date: str
    gametime: str
    matchup: str
    team: str
    player: str
    status: str
    reason: str
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "gametime": self.gametime,
            "matchup": self.matchup,
            "team": self.team,
            "player": self.player,
            "status": self.status,
            "reason": self.reason,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class PendingTeam:
    """A team listed as NOT YET SUBMITTED: no players yet, which is not the same as no injuries."""

    date: str
    gametime: str
    matchup: str
    team: str

    def as_dict(self) -> dict[str, str]:
        return {"date": self.date, "gametime": self.gametime, "matchup": self.matchup, "team": self.team}


@dataclass(frozen=True)
class InjuryReport:
    report_date: date | None  # from the title, e.g. "Injury Report: 01/04/24 12:30 PM"
    report_time: str | None  # "12:30 PM"
    records: tuple[InjuryRecord, ...]
    not_submitted: tuple[PendingTeam, ...]
    page_count: int
    table_lines: int  # printed lines inside the table body (title, header and footer excluded)
    multiline_rows: int  # rows printed over more than one line (a wrapped reason or name)
    unparsed_lines: tuple[str, ...]
    unknown_statuses: Mapping[str, int] = field(default_factory=dict)
    unknown_teams: tuple[str, ...] = ()


class _Word(NamedTuple):
    text: str
    x0: float
    top: float
    bottom: float


@dataclass
class _Line:
    page: int
    top: float
    bottom: float
    words: list[_Word]

    @property
    def centre(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


@dataclass
class _Row:
    anchor: _Line
    lines: list[_Line]


@dataclass(frozen=True)
class _Columns:
    """Left edges of the seven columns, from the header row."""

    starts: tuple[float, ...]

    def of(self, word: _Word) -> Column:
        # Words left of the first column (none in real reports) count as that column.
        return Column(max(0, bisect.bisect_right(self.starts, word.x0) - 1))

    def split(self, line: _Line) -> dict[Column, list[str]]:
        cells: dict[Column, list[str]] = {}
        for word in line.words:
            cells.setdefault(self.of(word), []).append(word.text)
        return cells


def parse_injury_report(pdf: bytes) -> InjuryReport:
    """Read every row of the report. Raises ParseError when the body is not an injury report PDF."""
    if pdf.lstrip()[:5] != b"%PDF-":
        raise ParseError("the injury report body is not a PDF (no %PDF- header)")
    return _read(_words_of_pages(pdf))


def _words_of_pages(pdf: bytes) -> list[list[_Word]]:
    try:
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            pages = []
            for page in document.pages:
                words = page.extract_words(x_tolerance_ratio=WORD_GAP_RATIO, y_tolerance=LINE_TOLERANCE)
                pages.append([_Word(w["text"], w["x0"], w["top"], w["bottom"]) for w in words])
                # Cached layout objects are large; a long report would otherwise keep every page's.
                page.close()
            return pages
    # pdfplumber wraps what pdfminer raises (PDFSyntaxError, PSEOF, encryption errors) in
    # PdfminerException; PSException is pdfminer's own root, for anything that escapes unwrapped.
    except (PdfminerException, MalformedPDFException, PSException) as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        raise ParseError(f"the injury report PDF cannot be read: {type(cause).__name__}: {cause}") from exc


def _lines(page: int, words: Sequence[_Word]) -> list[_Line]:
    lines: list[_Line] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        if lines and word.top - lines[-1].top <= LINE_TOLERANCE:
            line = lines[-1]
            line.words.append(word)
            line.bottom = max(line.bottom, word.bottom)
        else:
            lines.append(_Line(page, word.top, word.bottom, [word]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    return lines


def _header_columns(line: _Line) -> _Columns | None:
    """The column starts if `line` is the header row, else None."""
    texts = [word.text for word in line.words]
    starts: list[float] = []
    position = 0
    for _, label in HEADER_LABELS:
        found = _find_label(texts, label, position)
        if found is None:
            return None
        index, width = found
        starts.append(line.words[index].x0)
        position = index + width
    return _Columns(tuple(start - COLUMN_SLACK for start in starts))


def _find_label(texts: Sequence[str], label: str, start: int) -> tuple[int, int] | None:
    for index in range(start, len(texts)):
        joined = ""
        for width in range(1, len(texts) - index + 1):
            joined += texts[index + width - 1]
            if joined == label:
                return index, width
            if not label.startswith(joined):
                break
    return None


def _is_anchor(line: _Line, columns: _Columns) -> bool:
    cells = {column: " ".join(texts) for column, texts in columns.split(line).items()}
    return Column.STATUS in cells or _is_not_submitted(cells)


def _is_not_submitted(cells: Mapping[Column, str]) -> bool:
    # Where the phrase sits (reason column today) matters less than that it fills the player part.
    tail = (cells.get(column) for column in (Column.PLAYER, Column.STATUS, Column.REASON))
    return " ".join(text for text in tail if text) == NOT_YET_SUBMITTED


def _blocks(lines: Sequence[_Line]) -> Iterator[list[_Line]]:
    """Runs of lines that touch or nearly touch: one or more table rows, never part of one."""
    block: list[_Line] = []
    bottom = 0.0
    for line in lines:
        if block and line.top - bottom > BLOCK_GAP_RATIO * (block[-1].bottom - block[-1].top):
            yield block
            block = []
        bottom = line.bottom if not block else max(bottom, line.bottom)
        block.append(line)
    if block:
        yield block


@dataclass
class _Table:
    columns: _Columns | None = None
    report_date: date | None = None
    report_time: str | None = None
    rows: list[_Row] = field(default_factory=list)
    unparsed: list[_Line] = field(default_factory=list)
    body_lines: int = 0


def _read(pages: Sequence[Sequence[_Word]]) -> InjuryReport:
    table = _Table()
    page_blocks: list[list[list[_Line]]] = []
    for number, words in enumerate(pages, start=1):
        body: list[_Line] = []
        for line in _lines(number, words):
            text = line.text
            # Every page repeats the title; however it is worded, it is never a table line.
            if _TITLE.match(text):
                moment = _TITLE_MOMENT.match(text)
                if moment and table.report_date is None:
                    table.report_date = _title_date(moment.group("date"))
                    table.report_time = re.sub(r"\s+", " ", moment.group("time"))
                continue
            if _FOOTER.match(text):
                continue
            header = _header_columns(line)
            if header is not None:
                table.columns = header
                continue
            if table.columns is None:
                # Nothing precedes the header row in a real report; keep it visible, not silent.
                table.unparsed.append(line)
                continue
            body.append(line)
        table.body_lines += len(body)
        page_blocks.append(list(_blocks(body)))
    if table.columns is None:
        raise ParseError(
            "the PDF has no injury report header row (Game Date, Game Time, Matchup, Team, "
            "Player Name, Current Status, Reason)"
        )
    _assign_rows(table, table.columns, page_blocks)
    return _records(table, table.columns, len(pages))


def _title_date(text: str) -> date | None:
    for fmt in ("%m/%d/%y", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _assign_rows(table: _Table, columns: _Columns, page_blocks: Sequence[Sequence[list[_Line]]]) -> None:
    for page_index, blocks in enumerate(page_blocks):
        for block_index, block in enumerate(blocks):
            anchors = [line for line in block if _is_anchor(line, columns)]
            if not anchors:
                if block_index == 0 and page_index > 0 and table.rows:
                    # Lines above the first anchor of a page, apart from it: the rest of a row that
                    # the page break split, whose status was printed on the previous page.
                    table.rows[-1].lines.extend(block)
                else:
                    table.unparsed.extend(block)
                continue
            rows = [_Row(anchor, [anchor]) for anchor in anchors]
            for line in block:
                if any(line is anchor for anchor in anchors):
                    continue
                nearest = min(rows, key=lambda row: abs(row.anchor.centre - line.centre))
                nearest.lines.append(line)
            table.rows.extend(rows)


def _cells(row: _Row, columns: _Columns) -> dict[Column, str]:
    per_column: dict[Column, list[str]] = {}
    for line in sorted(row.lines, key=lambda line: (line.page, line.top)):
        for column, texts in columns.split(line).items():
            per_column.setdefault(column, []).append(" ".join(texts))
    return {column: _join_wrapped(parts) for column, parts in per_column.items()}


def _join_wrapped(parts: Sequence[str]) -> str:
    text = ""
    for part in parts:
        # A line broken inside a word ("Non-" / "Displaced", "Injury/" / "Illness") rejoins without
        # a space; the " - " separator printed as its own word keeps its space.
        glued = len(text) > 1 and text[-1] in "-/" and text[-2] != " "
        text = f"{text}{part}" if glued or not text else f"{text} {part}"
    return text


def _records(table: _Table, columns: _Columns, page_count: int) -> InjuryReport:
    records: list[InjuryRecord] = []
    pending: list[PendingTeam] = []
    unknown_statuses: Counter[str] = Counter()
    unknown_teams: list[str] = []
    game_date = gametime = matchup = team = ""
    for row in table.rows:
        cells = _cells(row, columns)
        game_date = cells.get(Column.DATE, game_date)
        if Column.TIME in cells:
            gametime = _GAMETIME.sub(" (ET)", cells[Column.TIME])
        if Column.MATCHUP in cells:
            matchup = cells[Column.MATCHUP]
            team = ""  # a new game always prints its team; never carry the last game's
        if Column.TEAM in cells:
            team = _tricode(cells[Column.TEAM])
            if team == cells[Column.TEAM] and team not in unknown_teams:
                unknown_teams.append(team)
        if _is_not_submitted(cells):
            pending.append(PendingTeam(game_date, gametime, matchup, team))
            continue
        player = cells.get(Column.PLAYER, "")
        status = cells.get(Column.STATUS, "")
        reason = cells.get(Column.REASON, "")
        if not player:
            table.unparsed.extend(row.lines)
            continue
        if status not in KNOWN_STATUSES:
            unknown_statuses[status] += 1
        confidence = _confidence(game_date, gametime, matchup, team, player, status, reason)
        records.append(InjuryRecord(game_date, gametime, matchup, team, player, status, reason, confidence))
    unparsed = sorted(table.unparsed, key=lambda line: (line.page, line.top))
    return InjuryReport(
        report_date=table.report_date,
        report_time=table.report_time,
        records=tuple(records),
        not_submitted=tuple(pending),
        page_count=page_count,
        table_lines=table.body_lines,
        multiline_rows=sum(1 for row in table.rows if len(row.lines) > 1),
        unparsed_lines=tuple(line.text for line in unparsed),
        unknown_statuses=dict(unknown_statuses),
        unknown_teams=tuple(unknown_teams),
    )


def _tricode(name: str) -> str:
    # An unknown name (a renamed franchise) is kept as printed rather than guessed.
    return tricode_for_name(name) or name


def _confidence(
    game_date: str, gametime: str, matchup: str, team: str, player: str, status: str, reason: str
) -> float:
    """How sure the row's reading is, from what the table itself shows (1.0: every cell as expected).

    The old parser scored how complete a reason *sounded*; with the columns read by position a
    short reason is as certain as a long one, so only structural doubts lower the score.
    """
    score = 1.0
    if status not in KNOWN_STATUSES:
        score -= 0.5
    if not reason:
        score -= 0.3
    if not (game_date and gametime and matchup):
        score -= 0.3
    if team not in matchup.split("@"):
        score -= 0.3
    if not _PLAYER_NAME.match(player):
        score -= 0.2
    return round(max(0.0, score), 1)
