"""Injury-report parse time as a ratio to pdfplumber's plain text extraction of the same PDF.

    .venv/bin/python -m bench.parsers_injury [--repeats N]

Both sides open the PDF from bytes and read every page; the baseline stops at `extract_text()`,
ours goes on to put words in columns and rows. Each figure is the best of N runs, the two sides
alternating so that machine noise hits both alike. Target: ratio <= 1.5. Exits 1 above it.

Inputs: the real report from ../shared/fixtures (skipped with a message when absent), the demo
fixture, and a larger synthetic report (three full pages, wrapped reasons, NOT YET SUBMITTED rows).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.pdf_ratio import PdfInput, repeats_from, report
from scrapers.sources.nbac.injury_report_parser import parse_injury_report
from tests.injury_report_pdfs import DEMO_PAGES, Row, not_submitted, player, report_pdf

ROOT = Path(__file__).resolve().parents[1]
REAL_REPORT = ROOT.parent / "shared" / "fixtures" / "recorded" / "nbac_injury_report" / "raw_f4391904.pdf"
DEMO_FIXTURE = ROOT / "tests" / "fixtures" / "nbac" / "nbac_injury_report-2024-01-15-05PM.body.pdf"


def _large_synthetic() -> bytes:
    """Three pages of 17 rows: the size of a busy game day's report."""
    teams = ("Houston Rockets", "Philadelphia 76ers", "Dallas Mavericks", "Memphis Grizzlies")
    pages: list[list[Row]] = []
    for page in range(3):
        rows: list[Row] = []
        for index in range(17):
            number = page * 17 + index
            first = index % 6 == 0
            game = {"time": "07:00 (ET)", "matchup": "HOU@PHI"} if first else {}
            team = teams[number % 4] if index % 3 == 0 else ""
            if number % 11 == 5:
                rows.append(not_submitted(team or teams[0], **game))
            elif number % 5 == 0:
                reason = ("Injury/Illness - Left Knee; Return to", "Competition Reconditioning")
                rows.append(player(f"Player{number}, Wrapped", "Out", *reason, team=team, **game))
            else:
                rows.append(
                    player(f"Player{number}, Single", "Questionable", "G League - Two-Way", team=team, **game)
                )
        pages.append(rows)
    pages[0][0] = player(
        "Player0, Wrapped",
        "Out",
        "G League - Two-Way",
        date="01/15/2024",
        time="07:00 (ET)",
        matchup="HOU@PHI",
        team="Houston Rockets",
    )
    return report_pdf(pages)


def main(argv: list[str] | None = None) -> int:
    repeats = repeats_from(argv, __doc__.splitlines()[0] if __doc__ else None)
    inputs: list[tuple[str, bytes]] = []
    if REAL_REPORT.is_file():
        inputs.append(("real 2024-01-04 12PM", REAL_REPORT.read_bytes()))
    else:
        print(f"skipped the real report: {REAL_REPORT} is absent")
    inputs.append(("synthetic demo fixture", DEMO_FIXTURE.read_bytes() if DEMO_FIXTURE.is_file() else b""))
    if not inputs[-1][1]:
        inputs[-1] = ("synthetic demo (generated)", report_pdf(DEMO_PAGES))
    inputs.append(("synthetic 3 full pages", _large_synthetic()))

    pdfs = [PdfInput(name, pdf) for name, pdf in inputs]
    return report(pdfs, parse_injury_report, lambda parsed: len(parsed.records), "records", repeats)


if __name__ == "__main__":
    sys.exit(main())
