"""How long a metrics push may take: its own timeouts, or after a stop what is left of Cloud Run's
10 s before closing, never less than MIN_PUSH_SECONDS."""

from __future__ import annotations

import time

from scrapers.metrics.exposition import PUSH_TIMEOUT_SECONDS
from scrapers.pipeline.runs import CLOSE_SECONDS, MIN_PUSH_SECONDS, STOP_SECONDS, push_budget


def test_without_a_stop_a_push_keeps_its_own_timeouts() -> None:
    assert push_budget(None) is None


def test_after_a_stop_a_push_gets_what_is_left_before_closing() -> None:
    budget = push_budget(time.monotonic())
    assert budget is not None
    assert MIN_PUSH_SECONDS < budget <= STOP_SECONDS - CLOSE_SECONDS < PUSH_TIMEOUT_SECONDS


def test_a_drain_that_used_up_the_stop_still_leaves_the_push_its_minimum() -> None:
    assert push_budget(time.monotonic() - (STOP_SECONDS - CLOSE_SECONDS)) == MIN_PUSH_SECONDS
    assert push_budget(time.monotonic() - 3600.0) == MIN_PUSH_SECONDS
