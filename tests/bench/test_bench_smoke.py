"""The chaos benchmark end to end on its smoke scenario: all three policies, a complete table.

No performance thresholds here (those are reported by `python -m bench`, never asserted); only
that the harness runs, every job is accounted for exactly once and the figures are consistent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.chaos import POLICIES, ROWS, ChaosReport, render, run_chaos
from bench.jobs import Truth
from bench.scenario import ScenarioError, load_scenario, parse_scenario

GUARD_SECONDS = 60.0  # a hung harness fails the test instead of the whole run


@pytest.fixture(scope="module")
def report() -> ChaosReport:
    scenario = load_scenario("smoke")
    return asyncio.run(asyncio.wait_for(run_chaos(scenario), GUARD_SECONDS))


def test_every_policy_accounts_for_every_job(report: ChaosReport) -> None:
    truths = {truth: sum(1 for job in report.jobs if job.truth is truth) for truth in Truth}
    assert len(report.jobs) == report.scenario.job_count
    assert all(truths.values()), truths  # the smoke scenario has data, empty answers and 404s
    assert [f.policy for f in report.figures] == list(POLICIES)
    for f in report.figures:
        assert f.jobs == len(report.jobs)
        assert f.exists == truths[Truth.EXISTS]
        assert 0 <= f.succeeded <= f.exists
        assert f.correct <= f.jobs - truths[Truth.MISSING]
        assert 0 <= f.false_positive_failures <= f.failed <= f.jobs
        assert f.unfinished <= f.failed
        # Data that does not exist can never be fetched: every missing job is a failure.
        assert f.failed - f.false_positive_failures == truths[Truth.MISSING], f.policy
        # Success, correct no_data, failures and wrong no_data partition the jobs.
        wrong_no_data = f.suspicious_no_data
        assert f.correct + f.failed + wrong_no_data <= f.jobs


def test_requests_are_counted_consistently(report: ChaosReport) -> None:
    for f in report.figures:
        assert f.requests > 0
        # Every request that reached a server was sent; refused connections never arrive.
        assert f.first_hop_arrivals <= f.requests, f.policy
        assert 0 <= f.top_tier_requests <= f.first_hop_arrivals
        assert 0 <= f.rate_limited_after_warmup <= f.upstream_after_warmup
        assert f.request_multiple is None or f.request_multiple > 0
        assert 0 <= f.p50 <= f.p95


def test_the_table_is_complete(report: ChaosReport) -> None:
    table = render(report)
    for label, _, _ in ROWS:
        assert label in table
    for f in report.figures:
        assert f.title in table
    assert "fleet / old platform" in table
    assert "fleet / fixed delay" in table


def test_a_bad_scenario_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="hang"):
        parse_scenario(
            {
                "proxies": [{"name": "dc-1", "tier": "datacenter", "hang": 2}],
                "jobs": [{"scraper": "bp_events"}],
            },
            tmp_path / "bad.yaml",
        )
