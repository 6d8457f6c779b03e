"""The service's SIGTERM shutdown while Pub/Sub hangs: metrics pushed first, then a sweep that stops
within what is left of Cloud Run's 10 s, and nothing lost.

A real `scrapers serve` process lands in a bucket of the GCS emulator and publishes to a socket that
accepts connections and never answers (Pub/Sub hanging). Three completions are already pending in
its outbox, left by runs while Pub/Sub was down, and one run is in flight (its upstream never
answers) when SIGTERM comes. The metrics reach a real Pushgateway, the process exits, and every
completion is still in the outbox for the next republish. Nothing here asserts on a duration: a
shutdown that waited for the hung publishes (0.8 x COURTSIDE_PUBLISH_TIMEOUT each) would fail the
test at its 120 s guard instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import pytest
from google.cloud import storage
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import closed_loopback_port
from tests.delivery.test_gcs_pubsub import (
    PROJECT,
    Cloud,
    cli,
    cloud,
    run_many,
    runs_while_publisher_down,
    socket_that_never_answers,
)
from tests.harness import Upstream, hang
from tests.service.test_lifecycle import ServiceProcess, serving

__all__ = ["cloud"]  # the fixture of tests/delivery, used here by the slow test

pytestmark = pytest.mark.integration

SCOREBOARD = "nbac_scoreboard_v2"
SCOREBOARD_PATH = "/stats/scoreboardV2"
EARLIER_RUNS = 3
STUCK_SECONDS = 120.0  # only a shutdown that waits for the hung publishes reaches it
POLL_SECONDS = 0.05


@dataclass
class Stopped:
    code: int
    run_id: str  # the run cut off by the shutdown
    lines: list[dict[str, Any]]

    def message_index(self, prefix: str) -> int:
        found = [i for i, line in enumerate(self.lines) if line["message"].startswith(prefix)]
        assert found, f"no log line '{prefix}...': {[line['message'] for line in self.lines]}"
        return found[0]


@pytest.fixture
def world(gcs_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """A bucket in the GCS emulator; no Pub/Sub (the fast test never reaches a working one)."""
    suffix = uuid.uuid4().hex[:8]
    env = {"STORAGE_EMULATOR_HOST": gcs_endpoint, "GCP_PROJECT": PROJECT, "COURTSIDE_TOPIC": f"t-{suffix}"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    made = Cloud(f"landing-{suffix}", env["COURTSIDE_TOPIC"], "unused", env)
    storage.Client(project=PROJECT).create_bucket(made.bucket)
    return made


@asynccontextmanager
async def _serving(
    cloud: Cloud, upstream: Upstream, gateway: str, **env: str
) -> AsyncIterator[ServiceProcess]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    environ.update(
        cloud.env,
        COURTSIDE_STATE="memory",
        COURTSIDE_UPSTREAMS=f"https://stats.nba.com={upstream.url}",
        COURTSIDE_PUSHGATEWAY=gateway,
        COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT="1",  # runs in flight: 1 s, then cut off
        **env,
    )
    async with serving(["--port", "0", "--out", cloud.out], environ) as service:
        yield service


def _stop_during_a_run(cloud: Cloud, gateway: str, publish_timeout: str) -> Stopped:
    """Serve with Pub/Sub hanging, start a run that hangs upstream, SIGTERM, collect the outcome."""

    async def scenario(silent: str) -> Stopped:
        async with (
            Upstream({SCOREBOARD_PATH: hang()}) as upstream,
            _serving(
                cloud,
                upstream,
                gateway,
                PUBSUB_EMULATOR_HOST=silent,
                COURTSIDE_PUBLISH_TIMEOUT=publish_timeout,
            ) as service,
        ):
            url = (await service.line(lambda e: e["message"].startswith("listening on")))["url"]
            async with aiohttp.ClientSession(url) as http:
                body = {"scraper": SCOREBOARD, "game_date": "2024-01-15"}
                response = await http.post("/scrape", params={"wait": "false"}, json=body)
                assert response.status == 202, await response.text()
                run_id = (await response.json())["run_id"]
            deadline = time.monotonic() + STUCK_SECONDS
            while upstream.count(SCOREBOARD_PATH) < 1:  # the run is in flight
                assert time.monotonic() < deadline, "the run never reached the upstream"
                await asyncio.sleep(POLL_SECONDS)
            service.process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(service.wait(), STUCK_SECONDS)
            return Stopped(code, run_id, service.lines)

    with socket_that_never_answers() as silent:
        return asyncio.run(scenario(silent))


def _outbox(cloud: Cloud, state: str) -> set[str]:
    prefix = f"landing/_outbox/{state}/"
    return {name.removeprefix(prefix).removesuffix(".json") for name in cloud.objects(prefix)}


def _service_runs(gateway: str) -> dict[tuple[str, str], float]:
    response = httpx.get(f"{gateway}/metrics", timeout=10.0)
    response.raise_for_status()
    return {
        (sample.labels["scraper"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "scraper_runs_total" and sample.labels.get("instance") == "service" and sample.value
    }


def _earlier_runs(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Runs while Pub/Sub is down (refused at once, 1 s publish timeout): their entries pend."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{closed_loopback_port()}")
    monkeypatch.setenv("COURTSIDE_PUBLISH_TIMEOUT", "1")
    try:
        results = asyncio.run(run_many(cloud, EARLIER_RUNS))
    finally:
        monkeypatch.delenv("COURTSIDE_PUBLISH_TIMEOUT")
    assert all(any("pending" in warning for warning in r.warnings) for r in results), results
    return {result.run_id for result in results}


def test_sigterm_with_pubsub_hanging_pushes_metrics_then_stops_the_sweep_at_its_first_failure(
    world: Cloud, pushgateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = _earlier_runs(world, monkeypatch)
    assert _outbox(world, "pending") == earlier

    # Each publish fails after 0.8 x 1 s: the cut-off run's, then the sweep's first, which stops it.
    stopped = _stop_during_a_run(world, pushgateway, publish_timeout="1")

    assert stopped.code == 0
    pushed = stopped.message_index("metrics pushed to")
    swept = stopped.message_index("outbox swept in part")
    assert pushed < swept < stopped.message_index("stopped")
    sweep = stopped.lines[swept]
    assert (sweep["sent"], sweep["failed"], sweep["left"]) == (0, 1, EARLIER_RUNS)
    # The push has the run the shutdown cut off.
    assert _service_runs(pushgateway) == {(SCOREBOARD, "failed"): 1.0}
    # Nothing lost: the earlier completions and the cut-off run's wait in the outbox.
    assert _outbox(world, "pending") == earlier | {stopped.run_id}
    assert not _outbox(world, "sent")


@pytest.mark.slow
def test_sigterm_with_pubsub_never_answering_stops_the_sweep_within_the_budget_and_republish_sends_once(
    cloud: Cloud, pushgateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish that would take 480 s (COURTSIDE_PUBLISH_TIMEOUT=600): the cut-off run's publish
    and the sweep's are left in flight at the end of their waits, the process exits, and the next
    `republish` (Pub/Sub up again) delivers every completion exactly once."""
    earlier = {result.run_id for result in runs_while_publisher_down(cloud, EARLIER_RUNS, monkeypatch)}

    stopped = _stop_during_a_run(cloud, pushgateway, publish_timeout="600")

    assert stopped.code == 0
    swept = stopped.message_index("outbox swept in part")
    assert stopped.message_index("metrics pushed to") < swept
    sweep = stopped.lines[swept]
    # One publish in flight when the budget ended, the rest not tried.
    assert (sweep["sent"], sweep["failed"], sweep["left"]) == (0, 0, EARLIER_RUNS)
    assert _service_runs(pushgateway) == {(SCOREBOARD, "failed"): 1.0}
    everything = earlier | {stopped.run_id}
    assert _outbox(cloud, "pending") == everything

    republished = cli(cloud, "republish", "--out", cloud.out)

    assert republished.returncode == 0, republished.stderr
    messages = cloud.pull(expected=len(everything))
    delivered = [message["data"]["execution_id"] for message in messages]
    assert sorted(delivered) == sorted(everything)
