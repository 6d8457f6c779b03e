"""One simulated upstream host: recorded answers under a rate limit, with seeded faults.

Order per request: the rate limit (429 + Retry-After when the bucket is empty; refused requests
do not count against it), then one draw each for latency, reset, hang, slow and 5xx.
"""

from __future__ import annotations

import math
from collections import Counter

from aiohttp import web

from bench.scenario import UpstreamProfile
from bench.simulator.dice import Dice
from bench.simulator.fixtures import FixtureIndex, request_key
from bench.simulator.server import LoopbackServer, drop_connection
from bench.simulator.traffic import Arrival, SimClock, TrafficLog

PROXY_HEADER = "X-Bench-Proxy"  # set by the simulated proxies, so the host knows the route


class TokenBucket:
    """The upstream's limit in simulated time: `rate` per second, up to `burst` stored."""

    def __init__(self, rate: float, burst: float, clock: SimClock) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock.now()

    def take(self) -> float | None:
        """None when admitted; else the simulated seconds until a token is free."""
        now = self._clock.now()
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._updated) * self.rate)
        self._updated = max(now, self._updated)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate


class SimulatedHost(LoopbackServer):
    def __init__(
        self,
        host: str,
        profile: UpstreamProfile,
        index: FixtureIndex,
        *,
        dice: Dice,
        clock: SimClock,
        log: TrafficLog,
        allowed_rate: float | None,
    ) -> None:
        super().__init__()
        self.host = host
        self.profile = profile
        self.allowed_rate = allowed_rate  # simulated requests per second; None: unlimited
        self._index = index
        self._dice = dice
        self._clock = clock
        self._log = log
        self._seen: Counter[str] = Counter()
        limit = profile.rate_limit
        self._bucket = TokenBucket(allowed_rate, limit.burst, clock) if allowed_rate and limit else None

    def _record(self, arrived: float, via: str | None, result: str) -> None:
        self._log.add(Arrival(arrived, "upstream", self.host, self.host, via, result))

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        # Every request is logged at its arrival (when it took the bucket's token), whenever its
        # answer goes out: 429 shares and rates after the warm-up count what arrived after it.
        arrived = self._clock.now()
        via = request.headers.get(PROXY_HEADER)
        # Raw (still percent-encoded) path and query, as the fixtures store them.
        path, query = request.rel_url.raw_path, request.rel_url.raw_query_string
        key = request_key(self.host, path, query)
        occurrence = self._seen[key]
        self._seen[key] += 1
        if self._bucket is not None:
            wait = self._bucket.take()
            if wait is not None:
                self._record(arrived, via, "rate_limited")
                return self._too_many(wait)
        profile = self.profile
        dice = self._dice.roll("upstream", self.host, key, occurrence)
        latency = dice.uniform(*profile.latency)
        resets, hangs, slow, fails = (dice.random() for _ in range(4))
        code = dice.choice(profile.error_codes)
        if resets < profile.reset:
            self._record(arrived, via, "reset")
            await self.pause(self._clock.wall(latency))
            return drop_connection(request)
        if hangs < profile.hang:
            self._record(arrived, via, "hang")
            await self.pause(None)
            return drop_connection(request)
        if slow < profile.slow_probability:
            latency += profile.slow_seconds
        if await self.pause(self._clock.wall(latency)):
            return drop_connection(request)
        if fails < profile.error_probability:
            self._record(arrived, via, "error")
            return web.Response(status=code, text=f"simulated {code}", content_type="text/plain")
        fixture = self._index.answer(self.host, path, query)
        self._record(arrived, via, "ok" if fixture.status < 400 else "not_found")
        headers = {k: v for k, v in fixture.headers.items() if k != "content-length"}
        return web.Response(status=fixture.status, body=fixture.body, headers=headers)

    def _too_many(self, wait: float) -> web.Response:
        limit = self.profile.rate_limit
        # Real servers send whole seconds; the header carries them scaled to wall time, so every
        # client honours the same (compressed) pause.
        seconds = limit.retry_after if limit and limit.retry_after else max(1.0, math.ceil(wait))
        header = f"{self._clock.wall(seconds):.4f}"
        return web.Response(
            status=429, text="rate limited", content_type="text/plain", headers={"Retry-After": header}
        )
