"""The whole simulated world of one policy run: every fixture host and every scenario proxy.

    async with Simulator(scenario, index, allowed_rates, scale=30) as sim:
        sim.overrides          # {"https://api.bettingpros.com": "http://127.0.0.1:PORT", ...}
        sim.proxy_urls         # {"dc-1": "http://127.0.0.1:PORT", ...}
        sim.log.arrivals       # what reached which server, in simulated time

Bounded: a watchdog stops everything after `lifetime` wall seconds even if the caller never
leaves the block, releasing every hung request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from bench.scenario import Scenario
from bench.simulator.dice import Dice
from bench.simulator.fixtures import FixtureIndex
from bench.simulator.proxy import SimulatedProxy
from bench.simulator.server import LoopbackServer
from bench.simulator.traffic import SimClock, TrafficLog
from bench.simulator.upstream import SimulatedHost


class Simulator:
    def __init__(
        self,
        scenario: Scenario,
        index: FixtureIndex,
        allowed_rates: Mapping[str, float],
        *,
        scale: float,
        lifetime: float,
    ) -> None:
        self.scenario = scenario
        self.scale = scale
        self.allowed_rates = dict(allowed_rates)  # simulated requests per second, per limited host
        self.clock = SimClock(scale)
        self.log = TrafficLog()
        self._index = index
        self._lifetime = lifetime
        self.hosts: dict[str, SimulatedHost] = {}
        self.proxies: dict[str, SimulatedProxy] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def overrides(self) -> dict[str, str]:
        return {f"https://{name}": host.url for name, host in self.hosts.items()}

    @property
    def proxy_urls(self) -> dict[str, str]:
        return {name: proxy.url for name, proxy in self.proxies.items()}

    async def __aenter__(self) -> Self:
        dice = Dice(self.scenario.seed)
        try:
            for name in sorted(self._index.hosts | set(self.scenario.upstreams)):
                host = SimulatedHost(
                    name,
                    self.scenario.upstream(name),
                    self._index,
                    dice=dice,
                    clock=self.clock,
                    log=self.log,
                    allowed_rate=self.allowed_rates.get(name),
                )
                self.hosts[name] = host
                await host.start()
            targets = {f"127.0.0.1:{host.port}": name for name, host in self.hosts.items()}
            for profile in self.scenario.proxies:
                proxy = SimulatedProxy(profile, targets, dice=dice, clock=self.clock, log=self.log)
                self.proxies[profile.name] = proxy
                await proxy.start()
        except BaseException:
            await self.stop()
            raise
        self.clock.started = time.monotonic()  # simulated time starts once everything listens
        self._watchdog = asyncio.create_task(self._expire())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        await self.stop()

    async def _expire(self) -> None:
        await asyncio.sleep(self._lifetime)
        await self.stop()

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        servers: list[LoopbackServer] = [*self.proxies.values(), *self.hosts.values()]
        for server in servers:
            server.closing.set()  # release every hang first, then tear down
        for server in servers:
            await server.stop()
