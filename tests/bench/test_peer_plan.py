"""The peers' side of the benchmark without the peers: their job plan and the verdict lines.

Fast and framework-free (the default suite has no `peers` extra). The job plan is what makes the
peers comparable: answered from the fault-free fixtures in a scrambled order, each job must ask
exactly the requests the oracle's run of the real runner needed and reach the oracle's verdict.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from urllib.parse import urlsplit

import pytest

from bench.chaos import COST_TARGET, COURTSIDE, ChaosReport, Figures, peer_verdicts, render_peers
from bench.jobs import BenchJob, Truth, oracle
from bench.peers.runner import PEERS, JobPlan
from bench.scenario import load_scenario
from bench.simulator import FixtureIndex
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import load_registry
from scrapers.http.policy import SourcePolicy


@pytest.fixture(scope="module")
def jobs() -> tuple[list[BenchJob], FixtureIndex]:
    scenario = load_scenario("smoke")
    index = FixtureIndex(scenario.fixtures)
    return asyncio.run(oracle(scenario, load_registry(), index)), index


def _drive(job: BenchJob, index: FixtureIndex) -> tuple[int, tuple[str, str]]:
    """Answer the plan last-asked-first from the fixtures; the requests asked and the verdict."""
    registry = load_registry()
    source = job.job.entry.source
    plan = JobPlan(job.index, job.job, SourcePolicy.from_settings(source, registry.sources[source].settings))
    waiting = plan.start()
    asked = len(waiting)
    while waiting:
        planned = waiting.pop()  # the newest first: pages arrive out of the runner's order
        parts = urlsplit(planned.url)
        answer = index.answer(parts.hostname or "", parts.path, parts.query)
        try:
            following = plan.answered(planned.node, answer.status, answer.headers, answer.body)
        except ScrapeError as exc:
            return asked, ("failed", exc.outcome.value)
        asked += len(following)
        waiting.extend(following)
    assert plan.complete
    return asked, plan.verdict()


def test_the_plan_asks_what_the_runner_asks_and_reaches_its_verdict(
    jobs: tuple[list[BenchJob], FixtureIndex],
) -> None:
    bench_jobs, index = jobs
    expected = {Truth.EXISTS: "success", Truth.EMPTY: "no_data", Truth.MISSING: "failed"}
    seen: Counter[Truth] = Counter()
    for job in {job.job.key: job for job in bench_jobs}.values():
        asked, (status, detail) = _drive(job, index)
        assert status == expected[job.truth], (job.job.key, status, detail)
        if job.truth is Truth.MISSING:
            assert detail == Outcome.NOT_FOUND.value
        else:
            assert asked == job.need, (job.job.key, asked, job.need)
        seen[job.truth] += 1
    assert all(seen[truth] for truth in Truth), seen  # the smoke scenario has all three


def _figures(policy: str, title: str, **changes: object) -> Figures:
    base = Figures(
        policy=policy,
        title=title,
        jobs=10,
        exists=8,
        succeeded=8,
        correct=9,
        failed=1,
        false_positive_failures=0,
        suspicious_no_data=0,
        unfinished=0,
        requests=12,
        fault_free_requests_per_job=1.0,
        top_tier_requests=2,
        weighted_cost=30.0,
        first_hop_arrivals=12,
        upstream_after_warmup=10,
        rate_limited_after_warmup=1,
        achieved_fraction=0.9,
        p50=1.0,
        p95=20.0,
        wall_seconds=1.0,
        failure_breakdown=Counter({"not_found": 1}),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _report(*figures: Figures) -> ChaosReport:
    return ChaosReport(load_scenario("smoke"), 200.0, [], {}, list(figures))


def test_verdicts_compare_courtside_with_the_best_peer_per_figure() -> None:
    crawlee, scrapy = PEERS["crawlee"], PEERS["scrapy"]
    peers = (
        _figures(crawlee.name, crawlee.title, weighted_cost=100.0, p95=30.0),
        _figures(scrapy.name, scrapy.title, weighted_cost=50.0, p95=18.0, rate_limited_after_warmup=3),
    )
    cheap = _figures(COURTSIDE, "our fleet", weighted_cost=50.0 * COST_TARGET, p95=18.0)
    cost, others = peer_verdicts(_report(cheap, *peers))
    assert cost.passed is True, cost.detail  # exactly 0.8x the cheaper peer (Scrapy)
    assert others.passed is True, others.detail

    slow = _figures(COURTSIDE, "our fleet", weighted_cost=41.0, p95=19.0)
    cost, others = peer_verdicts(_report(slow, *peers))
    assert cost.passed is False
    assert "Scrapy" in cost.detail
    assert others.passed is False
    assert "p95 job duration" in others.detail  # 19 s against Scrapy's 18 s
    assert "429" not in others.detail  # 10 % against crawlee's 10 %: as good as the best

    table = render_peers(_report(slow, *peers))
    assert "Courtside / best peer" in table
    assert "[FAIL] weighted proxy cost" in table


def test_the_table_says_where_a_policy_s_few_late_429s_arrived() -> None:
    crawlee = PEERS["crawlee"]
    late = ((125.45, "api.the-odds-api.com", None), (130.2, "api.bettingpros.com", "dc-2"))
    ours = _figures(COURTSIDE, "our fleet", late_429s=late)
    many = tuple((70.0 + i, "stats.nba.com", None) for i in range(40))
    table = render_peers(_report(ours, _figures(crawlee.name, crawlee.title, late_429s=many)))
    assert (
        "429 after warm-up: api.the-odds-api.com at 125.5 s (direct), api.bettingpros.com at 130.2 s (dc-2)"
        in table
    )
    assert "; 40 429s after warm-up" in table
