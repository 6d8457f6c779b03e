"""Whole jobs through the core, as an operator runs them: the CLI in a real process, pointed at
loopback servers by COURTSIDE_UPSTREAMS, with proxy tiers from COURTSIDE_PROXIES_FILE and breaker
state in COURTSIDE_STATE (a SQLite file or a real redis-server).

The job is `nbac_scoreboard_v2` for the demo day; the upstream serves the project's fixture body.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from proxy.pool import BREAKER_NAMESPACE, TIER_NAMESPACE
from proxy.state import open_store
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Behaviour, ForwardProxy, Upstream, respond, sequence

pytestmark = pytest.mark.integration

STATS = "https://stats.nba.com"
STATS_HOST = "stats.nba.com"
PATH = "/stats/scoreboardV2"
BODY = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
GAMES_ON_DEMO_DAY = 4
EXIT_TRANSIENT = 15


def scoreboard() -> Behaviour:
    return respond(200, BODY, {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Ran:
    code: int
    result: dict[str, Any]
    stderr: str


@dataclass
class Site:
    upstream: Upstream
    proxies: dict[str, ForwardProxy]
    env: dict[str, str]
    out: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.upstream.port}"

    async def run(self) -> Ran:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scrapers",
            "run",
            "nbac_scoreboard_v2",
            "--gamedate",
            "2024-01-15",
            "--json",
            "--out",
            str(self.out),
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        assert process.returncode is not None
        assert stdout, stderr.decode()
        return Ran(process.returncode, json.loads(stdout), stderr.decode())


@asynccontextmanager
async def site(
    tmp_path: Path,
    route: Behaviour,
    tiers: Sequence[tuple[str, Sequence[str]]] = (),
    state: str | None = None,
    breaker: Mapping[str, float] | None = None,
) -> AsyncIterator[Site]:
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(Upstream({PATH: route}))
        proxies: dict[str, ForwardProxy] = {}
        env = {key: value for key, value in os.environ.items() if not key.startswith(("COURTSIDE_", "HTTP"))}
        env["COURTSIDE_UPSTREAMS"] = f"{STATS}={upstream.url}"
        env["COURTSIDE_STATE"] = state or f"sqlite:{tmp_path / 'state.sqlite'}"
        if tiers:
            document: dict[str, Any] = {"tiers": []}
            for tier, names in tiers:
                entries = []
                for name in names:
                    proxies[name] = await stack.enter_async_context(ForwardProxy(name))
                    entries.append({"name": name, "url": proxies[name].url})
                document["tiers"].append({"name": tier, "proxies": entries})
            if breaker:
                document["breaker"] = dict(breaker)
            proxies_file = tmp_path / "proxies.yaml"
            proxies_file.write_text(yaml.safe_dump(document), encoding="utf-8")
            env["COURTSIDE_PROXIES_FILE"] = str(proxies_file)
        yield Site(upstream, proxies, env, tmp_path / "out")


def completions(out: Path) -> list[dict[str, Any]]:
    lines = (out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_403_escalation_job_lands_after_two_requests(tmp_path: Path) -> None:
    async def scenario() -> None:
        tiers = (("datacenter", ["dc1"]), ("residential", ["res1"]))
        async with site(tmp_path, scoreboard(), tiers) as s:
            s.proxies["dc1"].forbid_hosts({s.target})

            ran = await s.run()

            assert ran.code == 0, ran.stderr
            assert (ran.result["status"], ran.result["record_count"]) == ("success", GAMES_ON_DEMO_DAY)
            assert ran.result["attempts"] == {
                "total": 2,
                "by_outcome": {"blocked": 1, "ok": 1},
                "by_tier": {"datacenter": 1, "residential": 1},
            }
            assert [r.outcome for r in s.proxies["dc1"].requests] == ["forbidden"]
            assert s.upstream.proxies() == Counter({"res1": 1})
            (landed,) = ran.result["landed"]
            assert "nba-com/scoreboard-v2/2024-01-15/" in landed

            again = await s.run()  # a new process: the tier score lives in the SQLite state file

            assert again.result["attempts"]["by_tier"] == {"residential": 1}
            assert len(s.proxies["dc1"].requests) == 1

    asyncio.run(scenario())


def test_429_job_waits_out_retry_after_and_lands_after_two_requests(tmp_path: Path) -> None:
    async def scenario() -> None:
        route = sequence([respond(429, "Too Many Requests", {"Retry-After": "1"}), scoreboard()])
        async with site(tmp_path, route) as s:
            ran = await s.run()

            assert ran.code == 0, ran.stderr
            assert ran.result["status"] == "success"
            assert ran.result["attempts"]["by_outcome"] == {"ok": 1, "rate_limited": 1}
            first, second = s.upstream.requests
            assert second.at - first.at >= 1.0
            assert ran.result["duration_seconds"] >= 1.0

    asyncio.run(scenario())


def test_upstream_503_for_good_is_a_transient_failure_never_no_data(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with site(tmp_path, respond(503, "Service Unavailable")) as s:
            ran = await s.run()

            assert ran.code == EXIT_TRANSIENT
            assert ran.result["status"] == "failed"
            assert ran.result["failure_class"] == "transient"
            assert ran.result["landed"] == []
            assert s.upstream.count() == 4  # the first try and three transient retries
            (event,) = completions(s.out)
            assert (event["status"], event["record_count"], event["error_type"]) == ("failed", 0, "transient")

    asyncio.run(scenario())


def test_breaker_opened_by_one_process_is_open_in_the_next(tmp_path: Path, shared_store_url: str) -> None:
    """Issue 20: one 407 from one of two datacenter proxies opens that proxy's circuit for the next
    process, which stays on the datacenter tier with the other proxy (not on residential)."""

    async def scenario() -> None:
        tiers = (("datacenter", ["bad", "good"]), ("residential", ["res"]))
        breaker = {"fail_max": 3, "reset_seconds": 3600}  # one 407 is enough, whatever fail_max
        async with site(tmp_path, scoreboard(), tiers, state=shared_store_url, breaker=breaker) as s:
            s.proxies["bad"].auth_required()

            first = await s.run()

            assert first.result["status"] == "success"
            assert first.result["attempts"] == {
                "total": 2,
                "by_outcome": {"ok": 1, "proxy": 1},
                "by_tier": {"datacenter": 2},
            }
            assert len(s.proxies["bad"].requests) == 1
            store = open_store(shared_store_url)
            try:
                stored = await store.get(BREAKER_NAMESPACE, f"datacenter/bad/{STATS_HOST}")
                assert stored is not None
                assert (stored["state"], stored["failures"]) == ("open", 1)
                # A proxy's fault is no evidence against its tier: nothing to escalate on.
                assert await store.get(TIER_NAMESPACE, STATS_HOST) is None
            finally:
                await store.aclose()

            second = await s.run()

            assert second.result["status"] == "success"
            assert second.result["attempts"] == {
                "total": 1,
                "by_outcome": {"ok": 1},
                "by_tier": {"datacenter": 1},
            }
            assert len(s.proxies["bad"].requests) == 1  # skipped: its circuit is open
            assert s.proxies["res"].requests == []
            assert s.upstream.proxies() == Counter({"good": 2})

    asyncio.run(scenario())
