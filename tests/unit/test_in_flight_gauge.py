"""scraper_requests_in_flight counts attempts while they are out, per source, and drops to zero.

The gauge reads counts the core keeps in plain ints (FleetMetrics.count_in_flight): these read the
registry from inside the upstream's handler, while the attempts are in flight.
"""

from __future__ import annotations

import asyncio

import httpx

from scrapers.core.request import Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import SourcePolicy
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics

URL = "http://api.example.test/v1/games"


def _in_flight(metrics: FleetMetrics, source: str) -> float | None:
    return metrics.registry.get_sample_value("scraper_requests_in_flight", {"source": source})


def test_the_gauge_counts_attempts_in_flight_by_source() -> None:
    metrics = FleetMetrics()
    metrics.initialise([("box", "alpha"), ("odds", "beta")], ["direct"], [])
    seen: list[tuple[float | None, float | None]] = []
    arrived = 0
    all_arrived = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        arrived += 1
        if arrived == 3:
            all_arrived.set()
        await all_arrived.wait()  # every attempt is out before any answers
        seen.append((_in_flight(metrics, "alpha"), _in_flight(metrics, "beta")))
        return httpx.Response(200, json={"data": []})

    async def scenario() -> None:
        fetcher = Fetcher(
            transport=httpx.MockTransport(handler), observer=FetchMetrics(metrics), throttle=False
        )
        alpha, beta = SourcePolicy(name="alpha"), SourcePolicy(name="beta")
        try:
            await asyncio.gather(
                *(
                    fetcher.fetch(Request(URL), policy, AttemptLog(), fetcher.budget(policy))
                    for policy in (alpha, alpha, beta)
                )
            )
        finally:
            await fetcher.aclose()

    assert _in_flight(metrics, "alpha") == 0  # initialised: the series exists before any attempt
    asyncio.run(scenario())
    assert seen[0] == (2.0, 1.0)
    assert _in_flight(metrics, "alpha") == 0
    assert _in_flight(metrics, "beta") == 0
