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

import json
import sys
from pathlib import Path

from bench.pdf_ratio import PdfInput, repeats_from, report
from scrapers.sources.nbac.gamebook_parser import parse_gamebook
from tests.gamebook_pdf import VARIANTS, gamebook_from_landed, render, true_inactive

ROOT = Path(__file__).resolve().parents[1]
LANDED = ROOT.parent / "shared" / "fixtures" / "recorded" / "nbac_gamebook_pdf" / "exp_0173bcd1.json"


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
    repeats = repeats_from(argv, __doc__.splitlines()[0] if __doc__ else None)
    inputs = [PdfInput(name, pdf) for name, pdf in _inputs()]
    return report(inputs, parse_gamebook, lambda book: book.player_count, "players", repeats)


if __name__ == "__main__":
    sys.exit(main())
