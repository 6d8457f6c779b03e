"""Injury-report parse time as a ratio to pdfplumber's plain text extraction of the same PDF.

    .venv/bin/python -m bench.parsers_injury [--repeats N]

Both sides open the PDF from bytes and read every page; the baseline stops at `extract_text()`,
ours goes on to put words in columns and rows. Each figure is the best of N runs, the two sides
alternating so that machine noise hits both alike. Target: ratio <= 1.5. Exits 1 above it.

Inputs: the real report from ../shared/fixtures (skipped with a message when absent), the demo
fixture, and a larger synthetic report (three full pages, wrapped reasons, NOT YET SUBMITTED rows).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pdfplumber

from scrapers.sources.nbac.injury_report_parser import parse_injury_report
from tests.injury_report_pdfs import DEMO_PAGES, Row, not_submitted, player, report_pdf

ROOT = Path(__file__).resolve().parents[1]
REAL_REPORT = ROOT.parent / "shared" / "fixtures" / "recorded" / "nbac_injury_report" / "raw_f4391904.pdf"
DEMO_FIXTURE = ROOT / "tests" / "fixtures" / "nbac" / "nbac_injury_report-2024-01-15-05PM.body.pdf"
TARGET_RATIO = 1.5


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


def _extract_text(pdf: bytes) -> None:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            page.extract_text()


def _best_of(repeats: int, ours: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    best_ours = best_base = float("inf")
    ours(), baseline()  # warm imports and caches outside the measurement
    for _ in range(repeats):
        start = time.perf_counter()
        baseline()
        best_base = min(best_base, time.perf_counter() - start)
        start = time.perf_counter()
        ours()
        best_ours = min(best_ours, time.perf_counter() - start)
    return best_ours, best_base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=20, help="runs per side; the best counts (default 20)")
    args = parser.parse_args(argv)

    inputs: list[tuple[str, bytes]] = []
    if REAL_REPORT.is_file():
        inputs.append(("real 2024-01-04 12PM", REAL_REPORT.read_bytes()))
    else:
        print(f"skipped the real report: {REAL_REPORT} is absent")
    inputs.append(("synthetic demo fixture", DEMO_FIXTURE.read_bytes() if DEMO_FIXTURE.is_file() else b""))
    if not inputs[-1][1]:
        inputs[-1] = ("synthetic demo (generated)", report_pdf(DEMO_PAGES))
    inputs.append(("synthetic 3 full pages", _large_synthetic()))

    print(f"best of {args.repeats}; ratio = ours / pdfplumber extract_text(); target <= {TARGET_RATIO}")
    print(f"{'input':<26} {'pages':>5} {'records':>7} {'ours ms':>8} {'text ms':>8} {'ratio':>6}")
    worst = 0.0
    for name, pdf in inputs:
        report = parse_injury_report(pdf)
        ours, base = _best_of(args.repeats, partial(parse_injury_report, pdf), partial(_extract_text, pdf))
        ratio = ours / base
        worst = max(worst, ratio)
        print(
            f"{name:<26} {report.page_count:>5} {len(report.records):>7} "
            f"{ours * 1000:>8.2f} {base * 1000:>8.2f} {ratio:>6.2f}"
        )
    verdict = "ok" if worst <= TARGET_RATIO else "ABOVE TARGET"
    print(f"worst ratio {worst:.2f}: {verdict}")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
