"""The fetch plan: pagination and in-job fan-out (follow_ups) through the runner.

A small scraper defined here lists "events" on a first page, then asks for each event's offers,
each of which may be paginated. The transport is httpx.MockTransport: this is the runner's plan
logic, not the network (the core's network behaviour is tested on loopback sockets).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrapers.core.clock import FrozenClock
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import ScraperEntry, load_registry
from scrapers.core.request import Page, Request
from scrapers.core.result import RunResult
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.pipeline.runner import Job, RunContext, run_job
from scrapers.sinks.file import FileSink

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
BASE = "https://api.example.test"


class PlanOptions(ScraperOptions):
    day: str = option("str", example="2024-01-15", required=True)


class EventsThenOffers(Scraper[PlanOptions]):
    options_type = PlanOptions

    def requests(self, opts: PlanOptions) -> Sequence[Request]:
        return (Request(f"{BASE}/events", params=(("day", opts.day),)),)

    def follow_ups(self, opts: PlanOptions, page: Page) -> Sequence[Request]:
        if page.request.url.endswith("/events"):
            return [Request(f"{BASE}/offers", params=(("event", e),)) for e in page.data["events"]]
        cursor = page.data.get("next")
        if cursor is None:
            return ()
        return (Request(f"{BASE}/offers", params=(*page.request.params[:1], ("cursor", cursor))),)

    def parse(self, opts: PlanOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        offers = [o for page in pages[1:] for o in page.data["offers"]]
        if not offers:
            return Parsed({"offers": []}, 0, no_data_reason="no offers for any event")
        return Parsed({"offers": offers}, len(offers))


ENTRY = ScraperEntry(
    name="plan_test",
    target=f"{__name__}:EventsThenOffers",
    source="espn",
    description="test scraper",
    path="test/{date}/{timestamp}.json",
)

OFFERS: dict[tuple[str, str | None], dict[str, Any]] = {
    ("e1", None): {"offers": ["e1-a", "e1-b"], "next": "c2"},
    ("e1", "c2"): {"offers": ["e1-c"]},
    ("e2", None): {"offers": ["e2-a"]},
    ("e3", None): {"offers": []},
}


def answer(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/events":
        return httpx.Response(200, json={"events": ["e1", "e2", "e3"]})
    key = (request.url.params["event"], request.url.params.get("cursor"))
    return httpx.Response(200, json=OFFERS[key])


def run(tmp_path: Path, handler: Callable[[httpx.Request], httpx.Response]) -> tuple[RunResult, list[str]]:
    seen: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.path}?{request.url.query.decode()}")
        return handler(request)

    async def go() -> RunResult:
        registry = load_registry()
        registry = dataclasses.replace(registry, scrapers={**registry.scrapers, ENTRY.name: ENTRY})
        fetcher = Fetcher(transport=httpx.MockTransport(recording), throttle=False)
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(tmp_path),
            events=local_delivery(tmp_path),
            clock=CLOCK,
        )
        try:
            return await run_job(Job(ENTRY, {"day": "2024-01-15"}), ctx)
        finally:
            await fetcher.aclose()

    return asyncio.run(go()), seen


def test_fan_out_fetches_every_child_and_its_pages_in_plan_order(tmp_path: Path) -> None:
    result, seen = run(tmp_path, answer)

    assert result.status is RunStatus.SUCCESS
    assert result.record_count == 4
    (landed,) = result.landed
    document = Path(landed.removeprefix("file://")).read_text(encoding="utf-8")
    # Pages reach parse in plan order (e1's second page right after its first), whatever order
    # the concurrent fetches completed in.
    assert '"offers": ["e1-a", "e1-b", "e1-c", "e2-a"]' in document
    assert sorted(seen) == sorted(
        [
            "/events?day=2024-01-15",
            "/offers?event=e1",
            "/offers?event=e1&cursor=c2",
            "/offers?event=e2",
            "/offers?event=e3",
        ]
    )


@pytest.mark.parametrize(("status", "outcome"), [(503, Outcome.TRANSIENT), (403, Outcome.BLOCKED)])
def test_one_failed_child_page_fails_the_job_with_its_class(
    tmp_path: Path, status: int, outcome: Outcome
) -> None:
    def second_page_fails(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c2":
            return httpx.Response(status)
        return answer(request)

    result, _ = run(tmp_path, second_page_fails)

    assert result.status is RunStatus.FAILED
    assert result.failure_class is outcome
    assert result.landed == ()  # no partial document presented as complete
