"""Fleet-wide rate limiting: 4 real `scrapers run-many` processes sharing a real redis-server send, together,
what the host allows, against a loopback upstream that enforces its limit.

Every figure asserted is a count the upstream recorded (tests/harness/fleet.py); none is a duration
the test measured. Why these numbers:

* The upstream admits 72 requests per sliding 12 s (6/s), counted over every connection, and
  answers the rest 429 + `Retry-After: 1`. BallDontLie's rate in the replicas' registry is 93 % of
  that (5.58/s; ceiling alike, burst 1), so a limiter that shares one budget sends just under it.
* "After warm-up": the span starts when the fourth replica's first request arrives (before, fewer
  than four compete) and holds the next 100 requests; then the replicas are stopped (SIGTERM). At
  5.58/s that is about 18 s, half again the window, so the window is full inside the span: a fleet
  sending more than allowed draws 429s there. A count, not a time, so on a loaded machine, where
  replicas start seconds apart, the span has the same weight.
* Accepted >= 90 % of the allowed rate over the span and <= 3 % 429s; the upstream's clock measures
  both the accepted requests and the span. Per-process limiters (4 x 5.58/s offered, the baseline
  in `python -m bench.fleet`) draw about 13 % 429s and then fall to under a third of the rate.
* Why this is about the limiter, not the machine: 5.58 one-request jobs a second is a few percent
  of a core, so every replica always has a request waiting for its turn, and the budget spaces
  what was actually sent, so a replica waking late pushes the next send back instead of sending
  right before it. What is left to the machine is its scheduling of the sends and of the upstream
  itself: requests would have to be recorded 0.9 s out of place (12 s x (1/0.93 - 1)) to push one
  more into a window.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis

from scrapers.core.outcome import Outcome
from scrapers.http.fleet_budget import BUDGET_NAMESPACE
from tests.harness.fleet import FleetPlan, most_in_any_window, run_fleet

pytestmark = pytest.mark.integration


# 30 s of real replicas: `make test-slow`. `make test` keeps the shared limiter's fast tests in
# test_fleet_budget.py (one bucket for concurrent first requests, a Retry-After seen across processes).
@pytest.mark.slow
def test_four_replicas_sharing_redis_send_what_the_host_allows(tmp_path: Path, redis_url: str) -> None:
    plan = FleetPlan(state=redis_url, replicas=4, allowed=72, window=12.0, share=0.93, steady_requests=100)

    run = asyncio.run(run_fleet(plan, tmp_path))

    steady = run.steady()
    print(
        f"\nfleet of {plan.replicas} sharing Redis, steady span {steady.seconds:.1f}s: "
        f"{steady.accepted} accepted ({steady.accepted_share:.0%} of the allowed rate), "
        f"{steady.refused} refused ({steady.refused_share:.1%}); whole run {run.whole()}"
    )
    # Every replica ran until the fleet was stopped (SIGTERM: its unfinished runs are `transient`).
    assert run.stopped_at is not None, "a replica ran out of jobs before the steady span was complete"
    assert all(code in (0, Outcome.TRANSIENT.exit_code) for code in run.exit_codes), run.exit_codes
    assert "rate_limited" not in run.failed_runs(), run.failed_runs()
    # The upstream enforced its limit (the harness is honest): never more than 72 in 12 s.
    assert most_in_any_window(run.arrivals, plan.window) <= plan.allowed
    # The fleet's figures after warm-up.
    assert steady.accepted + steady.refused >= plan.steady_requests
    assert steady.refused <= 0.03 * (steady.accepted + steady.refused), steady
    assert steady.accepted >= 0.9 * plan.allowed_rate * steady.seconds, steady
    # The budget the replicas shared is the one in Redis.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        budget = client.hgetall(f"courtside:{BUDGET_NAMESPACE}:api.balldontlie.io")
    finally:
        client.close()
    assert float(budget["rate"]) == pytest.approx(plan.configured_rate)
