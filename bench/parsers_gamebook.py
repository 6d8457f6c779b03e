"""Gamebook parse time as a ratio to pdfplumber's plain text extraction of the same PDF.

    .venv/bin/python -m bench.parsers_gamebook [--repeats N]

The baseline opens the PDF from bytes and runs `extract_text()` on every page; ours opens it once,
reads words with positions page by page and stops after the box score (page 1), then builds the
players and runs the self-checks. Each figure is the best of N runs, the two sides alternating so
that machine noise hits both alike. Target: ratio <= 1.5. Exits 1 above it.

Inputs: every synthetic variant of tests/gamebook_pdf.py and, when ../shared/fixtures is present,
the gamebook rendered from the old platform's landed 2024-04-10 MEM@CLE document.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pdfplumber

from scrapers.sources.nbac.gamebook_parser import parse_gamebook
from tests.gamebook_pdf import VARIANTS, gamebook_from_landed, render, true_inactive

ROOT = Path(__file__).resolve().parents[1]
LANDED = ROOT.parent / "shared" / "fixtures" / "recorded" / "nbac_gamebook_pdf" / "exp_0173bcd1.json"
TARGET_RATIO = 1.5


def _extract_text(pdf: bytes) -> None:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            page.extract_text()


def _page_count(pdf: bytes) -> int:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


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


def _inputs() -> list[tuple[str, bytes]]:
    inputs = [(name, render(build())) for name, build in VARIANTS.items()]
    if LANDED.is_file():
        landed = json.loads(LANDED.read_text(encoding="utf-8"))
        inputs.insert(
            0, ("landed 2024-04-10 MEMCLE", render(gamebook_from_landed(landed, true_inactive(landed))))
        )
    else:
        print(f"skipped the landed gamebook: {LANDED} is absent")
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=20, help="runs per side; the best counts (default 20)")
    args = parser.parse_args(argv)

    print(f"best of {args.repeats}; ratio = ours / extract_text() of all pages; target <= {TARGET_RATIO}")
    print(f"{'input':<26} {'pages':>5} {'players':>7} {'ours ms':>8} {'text ms':>8} {'ratio':>6}")
    worst = 0.0
    for name, pdf in _inputs():
        book = parse_gamebook(pdf)
        ours, base = _best_of(args.repeats, partial(parse_gamebook, pdf), partial(_extract_text, pdf))
        ratio = ours / base
        worst = max(worst, ratio)
        print(
            f"{name:<26} {_page_count(pdf):>5} {book.player_count:>7} "
            f"{ours * 1000:>8.2f} {base * 1000:>8.2f} {ratio:>6.2f}"
        )
    verdict = "ok" if worst <= TARGET_RATIO else "ABOVE TARGET"
    print(f"worst ratio {worst:.2f}: {verdict}")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
