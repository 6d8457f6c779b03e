"""Parse time of a PDF parser as a ratio to pdfplumber's plain `extract_text()` of the same file.

The floor is text extraction itself: both sides open the PDF from bytes. Each figure is the best of
N runs, the two sides alternating so that machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import pdfplumber

TARGET_RATIO = 1.5
ParsedT = TypeVar("ParsedT")


@dataclass(frozen=True)
class PdfInput:
    name: str
    pdf: bytes


def extract_text(pdf: bytes) -> None:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            page.extract_text()


def page_count(pdf: bytes) -> int:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def best_of(repeats: int, ours: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
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


def repeats_from(argv: list[str] | None, description: str | None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=20, help="runs per side; the best counts (default 20)")
    repeats: int = parser.parse_args(argv).repeats
    return repeats


def report(
    inputs: Sequence[PdfInput],
    parse: Callable[[bytes], ParsedT],
    count: Callable[[ParsedT], int],
    counted: str,
    repeats: int,
) -> int:
    """Print one row per input and the verdict; the exit code is 1 above the target."""
    print(f"best of {repeats}; ratio = ours / extract_text() of all pages; target <= {TARGET_RATIO}")
    print(f"{'input':<26} {'pages':>5} {counted:>7} {'ours ms':>8} {'text ms':>8} {'ratio':>6}")
    worst = 0.0
    for item in inputs:
        parsed = parse(item.pdf)
        ours, base = best_of(repeats, partial(parse, item.pdf), partial(extract_text, item.pdf))
        ratio = ours / base
        worst = max(worst, ratio)
        print(
            f"{item.name:<26} {page_count(item.pdf):>5} {count(parsed):>7} "
            f"{ours * 1000:>8.2f} {base * 1000:>8.2f} {ratio:>6.2f}"
        )
    verdict = "ok" if worst <= TARGET_RATIO else "ABOVE TARGET"
    print(f"worst ratio {worst:.2f}: {verdict}")
    return 0 if worst <= TARGET_RATIO else 1
