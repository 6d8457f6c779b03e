"""Bearer token, body limit, in-flight cap (429), per-scraper slots, job deadline, shutting down."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from tests.conftest import PROJECT_FIXTURES
from tests.service.harness import SCOREBOARD, GatedTransport, running_service

TOKEN = "s3cret-service-token-4f1c"


@pytest.mark.parametrize("token", [None, TOKEN])
def test_bearer_token_when_configured(token: str | None, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path, settings=ServiceSettings(token=token)) as svc:
            anonymous = await svc.http.post("/scrape", json=SCOREBOARD)
            if token is None:
                assert anonymous.status == 200
                return
            assert anonymous.status == 401
            assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="courtside"'
            assert "bearer token is required" in (await anonymous.json())["error"]
            for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN):
                response = await svc.http.post("/scrape", json=SCOREBOARD, headers={"Authorization": wrong})
                assert response.status == 401, wrong
            for path in ("/metrics", "/scrapers", "/openapi.yaml", "/runs/0123456789abcdef"):
                assert (await svc.http.get(path)).status == 401, path
            assert (await svc.http.post("/republish")).status == 401
            assert not svc.events(), "an unauthenticated request ran nothing"
            # Probes carry no credentials.
            assert (await svc.http.get("/health")).status == 200
            assert (await svc.http.get("/ready")).status == 200
            good = {"Authorization": f"Bearer {TOKEN}"}
            response = await svc.http.post("/scrape", json=SCOREBOARD, headers=good)
            assert response.status == 200
            assert (await svc.http.get("/metrics", headers=good)).status == 200
            # The token is a secret like any other: masked wherever a run's text goes.
            assert svc.service.core.redactor(f"token {TOKEN}") == "token ***"

    asyncio.run(scenario())


def test_bodies_past_the_limit_answer_413(tmp_path: Path) -> None:
    limit = 1024
    big = json.dumps({**SCOREBOARD, "workflow": "x", "padding": "y" * 2 * limit}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold for streamed bodies too.
        for start in range(0, len(big), 256):
            yield big[start : start + 256]

    async def scenario() -> None:
        async with running_service(tmp_path, settings=ServiceSettings(max_body_bytes=limit)) as svc:
            declared = await svc.http.post("/scrape", data=big, headers={"Content-Type": "application/json"})
            assert declared.status == 413
            assert (await declared.json())["max_body_bytes"] == limit
            streamed = await svc.http.post("/batch", data=chunks())
            assert streamed.status == 413
            assert "too large" in (await streamed.json())["error"]
            assert (await svc.http.post("/scrape", json=SCOREBOARD)).status == 200

    asyncio.run(scenario())


def test_a_burst_past_the_in_flight_cap_gets_429_with_retry_after(tmp_path: Path) -> None:
    settings = ServiceSettings(max_in_flight=2, retry_after_seconds=7)

    async def scenario() -> None:
        gated = GatedTransport(ReplayTransport(PROJECT_FIXTURES))
        async with running_service(tmp_path, settings=settings, transport=gated) as svc:
            burst = [asyncio.create_task(svc.http.post("/scrape", json=SCOREBOARD)) for _ in range(20)]
            # The two admitted runs hold their places until the gate opens, so every other
            # request of the burst is answered while they wait: exactly 18 refusals.
            refused: list[aiohttp.ClientResponse] = []
            for finished in asyncio.as_completed(burst):
                refused.append(await finished)
                if len(refused) == 18:
                    break
            assert Counter(r.status for r in refused) == {429: 18}
            assert {r.headers["Retry-After"] for r in refused} == {"7"}
            body = await refused[0].json()
            assert (body["in_flight"], body["max_in_flight"], body["retry_after_seconds"]) == (2, 2, 7)
            waiting = [task for task in burst if not task.done()]
            assert len(waiting) == 2
            await gated.arrivals(2)
            assert gated.arrived == 2
            health = await (await svc.http.get("/health")).json()
            assert health["in_flight"] == 2
            gated.gate.set()
            assert [(await task).status for task in waiting] == [200, 200]
            # The places are free again.
            assert (await svc.http.post("/scrape", json=SCOREBOARD)).status == 200
            text = await (await svc.http.get("/metrics")).text()
            assert 'scraper_service_rejected_requests_total{reason="in_flight_cap"} 18.0' in text

    asyncio.run(scenario())


def test_batch_needs_a_place_for_every_job(tmp_path: Path) -> None:
    # A batch that fits the cap but not the places left: 429, later it will fit. (One larger than
    # the cap could never fit: 400, in test_hardening.)
    async def scenario() -> None:
        gated = GatedTransport(ReplayTransport(PROJECT_FIXTURES))
        async with running_service(
            tmp_path, settings=ServiceSettings(max_in_flight=2), transport=gated
        ) as svc:
            held = await svc.http.post("/scrape", params={"wait": "false"}, json=SCOREBOARD)
            assert held.status == 202
            await gated.arrivals(1)
            response = await svc.http.post("/batch", json=[SCOREBOARD] * 2)
            assert response.status == 429
            assert "Retry-After" in response.headers
            assert svc.service.manager.in_flight == 1
            gated.gate.set()

    asyncio.run(scenario())


def test_runs_of_one_scraper_queue_behind_its_concurrency_limit(tmp_path: Path) -> None:
    settings = ServiceSettings(scraper_concurrency=3, scraper_concurrency_overrides={"nbac_scoreboard_v2": 1})

    async def scenario() -> None:
        gated = GatedTransport(ReplayTransport(PROJECT_FIXTURES))
        async with running_service(tmp_path, settings=settings, transport=gated) as svc:
            ids = []
            for _ in range(3):
                response = await svc.http.post("/scrape", params={"wait": "false"}, json=SCOREBOARD)
                ids.append((await response.json())["run_id"])
            await gated.arrivals(1)
            states = [(await (await svc.http.get(f"/runs/{run_id}")).json())["state"] for run_id in ids]
            assert sorted(states) == ["queued", "queued", "running"]
            assert gated.arrived == 1
            gated.gate.set()
            for run_id in ids:
                record = svc.service.manager.get(run_id)
                assert record is not None
                await record.finished.wait()
            assert gated.max_active == 1
            assert [event["status"] for event in svc.events()] == ["success"] * 3

    asyncio.run(scenario())


def test_a_run_past_its_deadline_ends_504_with_a_failed_completion(tmp_path: Path) -> None:
    settings = ServiceSettings(deadline_grace_seconds=0.0)

    async def scenario() -> None:
        hung = GatedTransport(ReplayTransport(PROJECT_FIXTURES))  # never opened
        async with running_service(tmp_path, settings=settings, transport=hung) as svc:
            response = await svc.http.post("/scrape", json={**SCOREBOARD, "deadline_seconds": 0.05})
            body = await response.json()
            assert response.status == 504
            assert body["status"] == "failed"
            assert body["result"]["failure_class"] == "transient"
            assert "exceeded its deadline of 0.05s" in body["result"]["error_message"]
            (event,) = svc.events()
            assert (event["execution_id"], event["status"], event["error_type"]) == (
                body["run_id"],
                "failed",
                "transient",
            )

    asyncio.run(scenario())


def test_a_draining_service_refuses_new_runs_but_stays_alive(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path, settings=ServiceSettings(retry_after_seconds=3)) as svc:
            svc.service.manager.accepting = False
            response = await svc.http.post("/scrape", json=SCOREBOARD)
            assert response.status == 503
            assert response.headers["Retry-After"] == "3"
            assert "shutting down" in (await response.json())["error"]
            ready = await svc.http.get("/ready")
            assert (ready.status, (await ready.json())["status"]) == (503, "draining")
            assert (await svc.http.get("/health")).status == 200

    asyncio.run(scenario())
