"""The simulator's per-proxy faults that the proxy-faults scenario needs (issue 20), on loopback:
a proxy's own 502 says it is the proxy's (RFC 9209 Proxy-Status), a relayed answer says it was
relayed, and a host's block of a proxy can lift after a while (`forbid_until`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.scenario import ROOT, ScenarioError, load_scenario, parse_scenario
from bench.simulator import FixtureIndex, Simulator

HOST = "api.bettingpros.com"
GUARD_SECONDS = 30.0


def scenario(tmp_path: Path, proxies: list[Mapping[str, Any]]) -> Any:
    document = {
        "name": "proxy-behaviour",
        "scale": 1000,
        "fixtures": str(ROOT / "tests" / "fixtures"),
        "upstream_defaults": {"latency": [0.0, 0.0], "errors": {"probability": 0.0}, "rate_limit": None},
        "proxies": proxies,
        "jobs": [{"scraper": "bp_events", "options": {"date": "2024-01-15"}}],
    }
    return parse_scenario(document, tmp_path / "proxy-behaviour.yaml")


async def through(sim: Simulator, proxy: str, url: str) -> httpx.Response:
    async with httpx.AsyncClient(proxy=sim.proxy_urls[proxy], trust_env=False) as client:
        return await client.get(url)


def test_a_simulated_proxy_marks_its_own_502_and_the_answers_it_relays(tmp_path: Path) -> None:
    async def body() -> list[httpx.Response]:
        plan = scenario(
            tmp_path,
            [
                {"name": "dc-1", "tier": "datacenter", "bad_gateway": 1.0},
                {"name": "dc-2", "tier": "datacenter"},
            ],
        )
        index = FixtureIndex(plan.fixtures)
        async with Simulator(plan, index, {}, scale=plan.scale, lifetime=GUARD_SECONDS) as sim:
            url = sim.overrides[f"https://{HOST}"] + "/v3/events?sport=NBA&date=2024-01-15"
            return [await through(sim, "dc-1", url), await through(sim, "dc-2", url)]

    own, relayed = asyncio.run(body())
    assert own.status_code == 502
    assert own.headers["Proxy-Status"] == "dc-1; error=proxy_internal_error"
    assert relayed.status_code == 200
    assert relayed.headers["Proxy-Status"] == "dc-2; received-status=200"


def test_a_block_with_forbid_until_lifts_after_that_many_simulated_seconds(tmp_path: Path) -> None:
    async def body() -> list[int]:
        plan = scenario(
            tmp_path,
            [{"name": "dc-1", "tier": "datacenter", "forbid_hosts": [HOST], "forbid_until": 500}],
        )
        index = FixtureIndex(plan.fixtures)
        async with Simulator(plan, index, {}, scale=plan.scale, lifetime=GUARD_SECONDS) as sim:
            url = sim.overrides[f"https://{HOST}"] + "/v3/events?sport=NBA&date=2024-01-15"
            statuses = [(await through(sim, "dc-1", url)).status_code]
            # Polling the simulator's own clock (1000 simulated seconds per wall second).
            while sim.clock.now() < 500:
                await asyncio.sleep(0.05)
            statuses.append((await through(sim, "dc-1", url)).status_code)
            return statuses

    assert asyncio.run(body()) == [403, 200]


def test_the_proxy_faults_scenario_parses_and_a_bad_fault_names_its_key(tmp_path: Path) -> None:
    faults = {p.name: p for p in load_scenario("proxy-faults").proxies}
    assert faults["dc-1"].auth_required
    assert (faults["dc-2"].bad_gateway, faults["dc-2"].forbid_until) == (0.15, 90.0)
    with pytest.raises(ScenarioError, match="bad_gateway"):
        scenario(tmp_path, [{"name": "dc-1", "tier": "datacenter", "bad_gateway": 1.5}])
