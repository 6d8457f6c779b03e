"""crawlee and Scrapy on the chaos benchmark beside the fleet: the peer table end to end.

Slow (about a minute: two framework processes and three simulators on the smoke scenario) and
it needs the `peers` extra, which `make test-slow` installs. No performance thresholds: only that
both peers run in their own processes, every job comes back accounted for, and the table has
every figure for every policy, with the Done-when verdicts under it.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.chaos import COURTSIDE, PEER_POLICIES, PEER_ROWS, ChaosReport, render_peers, run_chaos
from bench.jobs import Truth
from bench.peers.runner import INSTALL_HINT, PEERS, missing_extra
from bench.scenario import load_scenario

pytestmark = pytest.mark.slow

SCALE = 200.0  # the smoke scenario's own compression: a few seconds of wall time per policy
GUARD_SECONDS = 300.0  # a hung peer fails the test instead of the whole run


@pytest.fixture(scope="module")
def report() -> ChaosReport:
    missing = missing_extra(PEER_POLICIES)
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {INSTALL_HINT}")
    scenario = load_scenario("smoke")
    policies = (COURTSIDE, *PEER_POLICIES)
    return asyncio.run(asyncio.wait_for(run_chaos(scenario, scale=SCALE, policies=policies), GUARD_SECONDS))


def test_every_peer_accounts_for_every_job(report: ChaosReport) -> None:
    missing = sum(1 for job in report.jobs if job.truth is Truth.MISSING)
    assert [f.policy for f in report.figures] == [COURTSIDE, *PEER_POLICIES]
    for f in report.figures:
        assert f.jobs == len(report.jobs), f.policy
        # Data that does not exist can never be fetched: each missing job fails, whoever fetches.
        assert f.failed - f.false_positive_failures == missing, f.policy
        assert f.unfinished == 0, f.policy


def test_peer_requests_are_measured_from_outside(report: ChaosReport) -> None:
    for f in report.figures:
        # What the peer says it sent covers everything the simulator saw arrive (refused
        # connections to a proxy in an outage never arrive).
        assert 0 < f.first_hop_arrivals <= f.requests, f.policy
        assert sum(f.tier_requests.values()) == f.requests, f.policy
        # The smoke scenario's BettingPros and NBA.com jobs go through proxies: a cost to weigh.
        assert f.weighted_cost > 0, f.policy
        assert f.top_tier_requests <= f.first_hop_arrivals, f.policy


def test_the_table_has_every_figure_for_every_policy(report: ChaosReport) -> None:
    table = render_peers(report)
    lines = table.splitlines()
    for peer in PEER_POLICIES:
        assert PEERS[peer].title in lines[1], lines[1]
    assert "Courtside / best peer" in lines[1]
    for row in PEER_ROWS:
        line = next(line for line in lines if line.startswith(row.label))
        for f in report.figures:
            assert row.value(f) is not None, (row.label, f.policy)
        assert "n/a" not in line, line
    assert "Done-when (issue 20), this run:" in table
    assert "weighted proxy cost <= 0.8x the best peer's" in table
    assert "every other figure at least as good as the best peer" in table
