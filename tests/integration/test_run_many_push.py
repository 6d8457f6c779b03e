"""`run-many` pushes its metrics to a real Pushgateway once its runs have ended, and the counters of
its tasks add up: per scraper in the groups `scrapers run` pushes, and once for the series no
scraper label divides, in the group `instance="run-many"`.

Two tasks of one sharded job (CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT), real `scrapers`
processes, run live against a loopback upstream (COURTSIDE_UPSTREAMS) and share one SQLite state
store, the fleet's totals on one machine. The SIGTERM case is in test_signals.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Upstream, respond

pytestmark = pytest.mark.integration

SCOREBOARD, PLAYER_LIST = "nbac_scoreboard_v2", "nbac_player_list"
JSON_TYPE = {"Content-Type": "application/json"}
NBAC = PROJECT_FIXTURES / "nbac"
# The scoreboard answers 2024-01-15 whatever the date asked: the other dates fail `structural`.
PATHS = {
    "/stats/scoreboardV2": respond(
        200, (NBAC / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes(), JSON_TYPE
    ),
    "/stats/playerindex": respond(200, (NBAC / "nbac_player_list-2023-24.body.json").read_bytes(), JSON_TYPE),
}
# Job i runs on task i % 2: task 0 the scoreboard that lands and the player list, task 1 the two
# scoreboards that fail. The scoreboard's group is pushed by both tasks.
JOBS = [
    {"scraper": SCOREBOARD, "options": {"game_date": "2024-01-15"}},
    {"scraper": SCOREBOARD, "options": {"game_date": "2024-01-16"}},
    {"scraper": PLAYER_LIST, "options": {"season": "2023-24"}},
    {"scraper": SCOREBOARD, "options": {"game_date": "2024-01-17"}},
]
STUCK_SECONDS = 120.0  # only a hung process reaches it


def _gateway_samples(gateway: str) -> list[Sample]:
    response = httpx.get(f"{gateway}/metrics", timeout=10.0)
    response.raise_for_status()
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def test_the_tasks_of_a_sharded_run_many_push_counters_that_add_up(tmp_path: Path, pushgateway: str) -> None:
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps(JOBS))

    async def tasks() -> tuple[list[tuple[int, str]], int]:
        async with Upstream(dict(PATHS)) as upstream:
            environ = {k: v for k, v in os.environ.items() if not k.startswith(("COURTSIDE_", "CLOUD_RUN_"))}
            environ.update(
                COURTSIDE_STATE=f"sqlite://{tmp_path}/state.sqlite",
                COURTSIDE_UPSTREAMS=f"https://stats.nba.com={upstream.url}",
                COURTSIDE_PUSHGATEWAY=pushgateway,
                CLOUD_RUN_TASK_COUNT="2",
            )

            async def task(index: int) -> tuple[int, str]:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "scrapers", "run-many", "--file", str(jobs), "--out", str(tmp_path / "out")),
                    cwd=PROJECT_ROOT,
                    env={**environ, "CLOUD_RUN_TASK_INDEX": str(index)},
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                said, _ = await asyncio.wait_for(process.communicate(), STUCK_SECONDS)
                assert process.returncode is not None
                return process.returncode, said.decode(errors="replace")

            ended = list(await asyncio.gather(task(0), task(1)))
            return ended, upstream.count()

    (first, second), requests = asyncio.run(tasks())
    # Task 0's runs succeed; task 1's fail `structural` (exit 12): neither failed to push.
    assert first[0] == 0, first[1]
    assert second[0] != 0, second[1]
    assert "failed (structural)" in second[1], second[1]
    for _, said in (first, second):
        assert "metrics not pushed" not in said, said

    samples = _gateway_samples(pushgateway)
    runs = {
        (s.labels["scraper"], s.labels["status"]): s.value for s in samples if s.name == "scraper_runs_total"
    }
    # Both tasks pushed the scoreboard's group: the last push carries what both counted.
    assert runs[(SCOREBOARD, "success")] == 1.0, runs
    assert runs[(SCOREBOARD, "failed")] == 2.0, runs
    assert runs[(PLAYER_LIST, "success")] == 1.0, runs
    failed = {
        (s.labels["scraper"], s.labels["failure_class"]): s.value
        for s in samples
        if s.name == "scraper_failed_runs_total" and s.value
    }
    assert failed == {(SCOREBOARD, "structural"): 2.0}
    # The player list's group was pushed by task 0 only; task 1's pushes left its gauges alone.
    last_success = {
        s.labels["scraper"] for s in samples if s.name == "scraper_last_success_timestamp_seconds"
    }
    assert {SCOREBOARD, PLAYER_LIST} <= last_success

    # HTTP attempts belong to no one scraper: they are in the task group only, once, and the two
    # tasks' attempts add up there to what the upstream received.
    attempts = [s for s in samples if s.name == "scraper_attempts_total"]
    where: dict[tuple[str, str], float] = defaultdict(float)
    for sample in attempts:
        where[(sample.labels.get("instance", ""), sample.labels.get("scraper", ""))] += sample.value
    assert set(where) == {("run-many", "")}, dict(where)
    assert where[("run-many", "")] == requests == len(JOBS)
