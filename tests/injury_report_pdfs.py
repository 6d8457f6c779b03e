"""Synthetic NBA.com injury reports in the real report's layout, drawn with reportlab.

The geometry copies a real report (A4 landscape, the column edges of its header cells, 10 pt text,
22 pt rows, wrapped cell lines 14 pt apart, player/status/reason cells vertically centred, game and
team cells printed on the first row they span) with invented names. Helvetica stands in for
Calibri, so words are separated by real space glyphs here; the parser splits on gaps either way.

`python -m tests.injury_report_pdfs` rewrites the replay fixture of the demo day from
`DEMO_PAGES` (reportlab's invariant mode makes the bytes reproducible for one reportlab version).
"""

from __future__ import annotations

import io
import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfgen.canvas import Canvas

PAGE_WIDTH, PAGE_HEIGHT = 841.95, 595.35
# Left/right edges of the seven header cells of the real report.
CELL_EDGES = (19.15, 115.59, 195.95, 260.24, 420.98, 581.71, 662.07, 822.80)
HEADER_LABELS = ("Game Date", "Game Time", "Matchup", "Team", "Player Name", "Current Status", "Reason")
TEXT_INSET = 4.0  # text starts this far right of its cell edge
HEADER_TOP, HEADER_BOTTOM = 100.44, 121.73
BODY_TOP_CONTINUATION = 75.9  # later pages have no header row: the table resumes under the title
ROW_HEIGHT, LINE_PITCH, FONT_SIZE = 22.0, 14.0, 10.0
FOOTER_TOP = 538.1
TITLE_BAR = (0.114, 0.259, 0.541)
HEADER_FILL = (0.965, 0.973, 0.973)

DEMO_TITLE = "Injury Report: 01/15/24 05:30 PM"
DEMO_URL = "https://ak-static.cms.nba.com/referee/injury/Injury-Report_2024-01-15_05PM.pdf"
DEMO_SLUG = "nbac_injury_report-2024-01-15-05PM"


@dataclass(frozen=True)
class Row:
    """One table row; empty cells are not printed (as in the real report)."""

    date: str = ""
    time: str = ""
    matchup: str = ""
    team: str = ""
    player: tuple[str, ...] = ()  # one string per printed line
    status: str = ""
    reason: tuple[str, ...] = ()  # one string per printed line

    @property
    def line_count(self) -> int:
        return max(1, len(self.player), len(self.reason))


def player(
    name: str | tuple[str, ...],
    status: str,
    *reason: str,
    team: str = "",
    date: str = "",
    time: str = "",
    matchup: str = "",
) -> Row:
    names = (name,) if isinstance(name, str) else name
    return Row(date, time, matchup, team, names, status, reason)


def not_submitted(team: str, date: str = "", time: str = "", matchup: str = "") -> Row:
    return Row(date, time, matchup, team, (), "", ("NOT YET SUBMITTED",))


def report_pdf(
    pages: Sequence[Sequence[Row]],
    title: str = DEMO_TITLE,
    header: bool = True,
    header_on_every_page: bool = False,
) -> bytes:
    """The PDF bytes of a report whose table rows are `pages` (one list of rows per page)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1)
    for number, rows in enumerate(pages, start=1):
        _title(canvas, title)
        top = BODY_TOP_CONTINUATION
        if header and (number == 1 or header_on_every_page):
            _header(canvas)
            top = HEADER_BOTTOM
        for row in rows:
            top = _row(canvas, row, top)
        _text(canvas, f"Page {number} of {len(pages)}", 398.5, FOOTER_TOP, "Helvetica")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _y(top: float, size: float = FONT_SIZE) -> float:
    """reportlab draws at the baseline from the bottom; the layout is written in tops from the top."""
    return PAGE_HEIGHT - top - 0.78 * size


def _text(canvas: Canvas, text: str, x: float, top: float, font: str, size: float = FONT_SIZE) -> None:
    canvas.setFont(font, size)
    canvas.drawString(x, _y(top, size), text)


def _title(canvas: Canvas, title: str) -> None:
    canvas.setFillColorRGB(*TITLE_BAR)
    canvas.rect(0, PAGE_HEIGHT - 75.4, PAGE_WIDTH, 40.0, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    _text(canvas, title, 289.1, 45.5, "Helvetica-Bold", 22.0)
    canvas.setFillColorRGB(0, 0, 0)


def _header(canvas: Canvas) -> None:
    canvas.setFillColorRGB(*HEADER_FILL)
    for left, right in itertools.pairwise(CELL_EDGES):
        canvas.rect(
            left, PAGE_HEIGHT - HEADER_BOTTOM, right - left, HEADER_BOTTOM - HEADER_TOP, stroke=0, fill=1
        )
    canvas.setFillColorRGB(0, 0, 0)
    for left, label in zip(CELL_EDGES, HEADER_LABELS, strict=False):
        _text(canvas, label, left + TEXT_INSET, 107.7, "Helvetica-Bold")


def _row(canvas: Canvas, row: Row, top: float) -> float:
    height = ROW_HEIGHT + LINE_PITCH * (row.line_count - 1)
    first_line = top + (ROW_HEIGHT - FONT_SIZE) / 2 + 1
    # Game and team cells are top-aligned in the cells they span.
    for column, text in enumerate((row.date, row.time, row.matchup, row.team)):
        if text:
            _text(canvas, text, CELL_EDGES[column] + TEXT_INSET, first_line, "Helvetica")
    # Player, status and reason are centred vertically in their row.
    for column, lines in ((4, row.player), (5, (row.status,) if row.status else ()), (6, row.reason)):
        block = FONT_SIZE + LINE_PITCH * (len(lines) - 1)
        line_top = top + (height - block) / 2 + 1
        for offset, text in enumerate(lines):
            _text(canvas, text, CELL_EDGES[column] + TEXT_INSET, line_top + offset * LINE_PITCH, "Helvetica")
    canvas.setStrokeColorRGB(0.502, 0.502, 0.502)
    canvas.setLineWidth(0.5)
    canvas.line(CELL_EDGES[3], PAGE_HEIGHT - top - height, CELL_EDGES[-1], PAGE_HEIGHT - top - height)
    return top + height


# The demo day's 5 PM report: the four games of the scoreboard fixtures, invented players. Page 2
# continues Memphis's list without repeating the team, as the real report does.
DEMO_PAGES: tuple[tuple[Row, ...], ...] = (
    (
        player(
            "Marlow, Trent",
            "Out",
            "Injury/Illness - Left Ankle; Sprain",
            date="01/15/2024",
            time="01:00 (ET)",
            matchup="HOU@PHI",
            team="Houston Rockets",
        ),
        player("Quill, Devon", "Questionable", "G League - Two-Way"),
        player(
            "Ashby, Rowan",
            "Out",
            "Injury/Illness - Right Knee; Injury",
            "Management",
            team="Philadelphia 76ers",
        ),
        player(
            "Brandt, Caleb",
            "Doubtful",
            "Injury/Illness - Lower Back; Spasms",
            time="02:30 (ET)",
            matchup="NOP@DAL",
            team="New Orleans Pelicans",
        ),
        player("Ortega, Luis", "Out", "G League - On Assignment", team="Dallas Mavericks"),
        player(
            "Fenwick, Jonah",
            "Out",
            "Injury/Illness - Left Foot; Stress",
            "Reaction",
            time="05:00 (ET)",
            matchup="GSW@MEM",
            team="Memphis Grizzlies",
        ),
    ),
    (
        player("Halvorsen, Pete", "Probable", "Injury/Illness - Right Hand; Laceration"),
        player(
            "Okafor, Milo",
            "Available",
            "Injury/Illness - Left Wrist; Sprain",
            time="10:30 (ET)",
            matchup="OKC@LAL",
            team="Oklahoma City Thunder",
        ),
        not_submitted("Los Angeles Lakers"),
    ),
)

# What the parser must read from DEMO_PAGES (the fixture's expected records).
DEMO_RECORDS: tuple[dict[str, object], ...] = tuple(
    {
        "date": "01/15/2024",
        "gametime": gametime,
        "matchup": matchup,
        "team": team,
        "player": name,
        "status": status,
        "reason": reason,
        "confidence": 1.0,
    }
    for gametime, matchup, team, name, status, reason in (
        ("01:00 (ET)", "HOU@PHI", "HOU", "Marlow, Trent", "Out", "Injury/Illness - Left Ankle; Sprain"),
        ("01:00 (ET)", "HOU@PHI", "HOU", "Quill, Devon", "Questionable", "G League - Two-Way"),
        (
            "01:00 (ET)",
            "HOU@PHI",
            "PHI",
            "Ashby, Rowan",
            "Out",
            "Injury/Illness - Right Knee; Injury Management",
        ),
        ("02:30 (ET)", "NOP@DAL", "NOP", "Brandt, Caleb", "Doubtful", "Injury/Illness - Lower Back; Spasms"),
        ("02:30 (ET)", "NOP@DAL", "DAL", "Ortega, Luis", "Out", "G League - On Assignment"),
        (
            "05:00 (ET)",
            "GSW@MEM",
            "MEM",
            "Fenwick, Jonah",
            "Out",
            "Injury/Illness - Left Foot; Stress Reaction",
        ),
        (
            "05:00 (ET)",
            "GSW@MEM",
            "MEM",
            "Halvorsen, Pete",
            "Probable",
            "Injury/Illness - Right Hand; Laceration",
        ),
        ("10:30 (ET)", "OKC@LAL", "OKC", "Okafor, Milo", "Available", "Injury/Illness - Left Wrist; Sprain"),
    )
)


def write_demo_fixture(folder: Path) -> None:
    """Write the demo day's exchange and PDF body into `folder` (tests/fixtures/nbac)."""
    body_file = f"{DEMO_SLUG}.body.pdf"
    (folder / body_file).write_bytes(report_pdf(DEMO_PAGES))
    exchange = {
        "request": {"method": "GET", "url": DEMO_URL, "body_sha256": None},
        "response": {"status": 200, "headers": {"content-type": "application/pdf"}, "body_file": body_file},
    }
    (folder / f"{DEMO_SLUG}.exchange.json").write_text(
        json.dumps(exchange, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    write_demo_fixture(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/fixtures/nbac"))
