"""The service on a free loopback port inside a test, and transports a test can hold requests in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web

from scrapers.core.clock import Clock, FrozenClock
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import Locations, Settings
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from scrapers.service.app import Service, create_app, open_service
from tests.conftest import PROJECT_FIXTURES
from tests.harness.ports import LOOPBACK

# The demo's clock: the night after the fixtures' game day (22:00 Eastern on 2024-01-15).
REPLAYED_AT = datetime(2024, 1, 16, 3, 0, tzinfo=UTC)
GAME_DAY = "2024-01-15"
SCOREBOARD = {"scraper": "nbac_scoreboard_v2", "gamedate": GAME_DAY}


class GatedTransport(httpx.AsyncBaseTransport):
    """Holds requests (every one, or those `hold` picks) until `gate` is set; counts them."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        hold: Callable[[httpx.Request], bool] = lambda request: True,
    ) -> None:
        self.inner = inner
        self.hold = hold
        self.gate = asyncio.Event()
        self.arrived = 0
        self.active = 0
        self.max_active = 0
        self._changed = asyncio.Condition()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.hold(request):
            return await self.inner.handle_async_request(request)
        self.arrived += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        async with self._changed:
            self._changed.notify_all()
        try:
            await self.gate.wait()
            return await self.inner.handle_async_request(request)
        finally:
            self.active -= 1

    async def arrivals(self, count: int) -> None:
        """Return once `count` requests have reached the transport."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.arrived >= count)


@dataclass
class RunningService:
    url: str
    service: Service
    http: aiohttp.ClientSession
    out: Path

    def events(self) -> list[dict[str, Any]]:
        path = self.out / "_events" / "completions.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@asynccontextmanager
async def running_service(
    out: Path,
    *,
    settings: ServiceSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    fixtures: Path = PROJECT_FIXTURES,
    clock: Clock | None = None,
    replay: bool = True,
    env: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[RunningService]:
    """`scrapers serve` in this event loop on 127.0.0.1:<free port>, with a client session for it."""
    registry = load_registry()
    service = await open_service(
        registry,
        Locations(out=str(out), fixtures=fixtures),
        settings or ServiceSettings(),
        Redactor(),
        transport=transport if transport is not None else (ReplayTransport(fixtures) if replay else None),
        replay=replay,
        clock=clock or FrozenClock(REPLAYED_AT),
        env=Settings.from_env(env or {}),
    )
    runner = web.AppRunner(create_app(service), access_log=None, shutdown_timeout=0.5)
    try:
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        url = f"http://{LOOPBACK}:{runner.addresses[0][1]}"
        async with aiohttp.ClientSession(url, headers=dict(headers or {})) as http:
            yield RunningService(url, service, http, out)
    finally:
        # Runs a test left behind are cut off (each still ends with a completion), then the core closes.
        await service.manager.drain(0.0)
        await runner.cleanup()
        await service.aclose()
