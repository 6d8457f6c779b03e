"""How many runs a process takes on: an in-flight cap and per-scraper slots.

The in-flight cap refuses work up front (the service answers 429 + Retry-After) instead of
queueing without bound; per-scraper slots queue runs of one scraper behind each other, so one
scraper's backlog never takes every connection to its upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


class InFlightGate:
    """Admitted runs not finished yet; `try_acquire` never waits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0

    def try_acquire(self, count: int = 1) -> bool:
        if count < 1 or self.in_use + count > self.capacity:
            return False
        self.in_use += count
        return True

    def release(self, count: int = 1) -> None:
        self.in_use = max(0, self.in_use - count)


class ScraperSlots:
    """One semaphore per scraper, created on first use."""

    def __init__(self, default: int, overrides: Mapping[str, int]) -> None:
        self.default = default
        self.overrides = dict(overrides)
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def __call__(self, scraper: str) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(scraper)
        if semaphore is None:
            semaphore = asyncio.Semaphore(self.overrides.get(scraper, self.default))
            self._semaphores[scraper] = semaphore
        return semaphore
