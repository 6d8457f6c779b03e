"""Per-host tier choice and per-proxy circuit breakers, with state shared through a StateStore.

Tier choice follows crawlee's idea: per target host, a small error score per tier decays with
clean responses and with time. Only `blocked`/`proxy` outcomes raise it (the caller decides which
outcomes those are), so origin 5xx never push traffic to the expensive tier.

Breakers are circuits of one (proxy, host) each (a proxy blocked by one site may still serve
another), shared by the whole fleet through the store: see proxy/breakers.py. The caller asks the
breaker for a passage before sending (`enter`) and settles it afterwards (`settle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from proxy.breakers import BREAKER_NAMESPACE, BreakerListener, ProxyBreaker
from proxy.config import ProxyConfig, ProxyEndpoint, Tier
from proxy.state import StateStore

__all__ = [
    "BREAKER_NAMESPACE",
    "TIER_NAMESPACE",
    "BreakerListener",
    "PoolSettings",
    "ProxyBreaker",
    "ProxyPool",
]

TIER_NAMESPACE = "tier"
_NEGLIGIBLE_SCORE = 0.01


@dataclass(frozen=True)
class PoolSettings:
    breaker_fail_max: int = 3
    breaker_reset_seconds: float = 300.0
    # A tier whose score reaches the threshold is skipped when choosing where to start.
    score_threshold: float = 0.5
    # Each clean response for a host multiplies its tier scores by this: after one block (score
    # 1.0) four clean requests bring the cheap tier back (0.8**4 = 0.41 < 0.5).
    clean_decay: float = 0.8
    half_life_seconds: float = 1800.0


class ProxyPool:
    def __init__(
        self,
        config: ProxyConfig,
        store: StateStore,
        settings: PoolSettings | None = None,
        clock: Callable[[], float] = time.time,
        listeners: Sequence[BreakerListener] = (),
    ) -> None:
        self.config = config
        self.store = store
        self.settings = settings or PoolSettings(
            breaker_fail_max=config.breaker.fail_max, breaker_reset_seconds=config.breaker.reset_seconds
        )
        self._clock = clock
        self._listeners = tuple(listeners)  # e.g. metrics of state transitions
        self._breakers: dict[str, ProxyBreaker] = {}

    def tiers_for(self, allowed: Sequence[str], start: str | None) -> list[Tier]:
        """Configured tiers this source may use, cheapest first, from its start tier on.

        A start tier that is not configured here (no residential proxies on a laptop) starts at
        the next configured tier up; if none is up, at the most expensive configured one.
        """
        usable = [tier for tier in self.config.tiers if tier.name in allowed]
        if start is None or not usable:
            return usable
        order = self.config.names()
        start_rank = order.index(start) if start in order else 0
        above = [tier for tier in usable if order.index(tier.name) >= start_rank]
        return above or usable[-1:]

    async def plan(self, host: str, tiers: list[Tier]) -> list[Tier]:
        """Tiers to try for `host`, starting at the cheapest one whose score is below threshold."""
        scores = await self._scores(host)
        for index, tier in enumerate(tiers):
            if scores.get(tier.name, 0.0) < self.settings.score_threshold:
                return tiers[index:]
        return tiers[-1:]

    async def record(self, host: str, tier: str, *, raises_score: bool, clean: bool) -> None:
        if not raises_score and not clean:
            return
        scores = await self._scores(host)
        before = dict(scores)
        if raises_score:
            scores[tier] = scores.get(tier, 0.0) + 1.0
        if clean:
            scores = {name: value * self.settings.clean_decay for name, value in scores.items()}
        scores = {name: value for name, value in scores.items() if value >= _NEGLIGIBLE_SCORE}
        if scores != before:
            await self.store.put(TIER_NAMESPACE, host, {"scores": scores, "updated": self._clock()})

    async def scores(self, host: str) -> dict[str, float]:
        return await self._scores(host)

    async def _scores(self, host: str) -> dict[str, float]:
        value = await self.store.get(TIER_NAMESPACE, host)
        if not value:
            return {}
        elapsed = max(0.0, self._clock() - float(value.get("updated", self._clock())))
        factor = 0.5 ** (elapsed / self.settings.half_life_seconds)
        return {name: float(score) * factor for name, score in dict(value.get("scores", {})).items()}

    async def breaker(self, endpoint: ProxyEndpoint, host: str) -> ProxyBreaker:
        """The breaker of (proxy, host), refreshed from the store: another process may have moved it."""
        key = f"{endpoint.tier}/{endpoint.name}/{host}"
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = ProxyBreaker(
                endpoint,
                host,
                self.store,
                fail_max=self.settings.breaker_fail_max,
                reset_seconds=self.settings.breaker_reset_seconds,
                listeners=self._listeners,
                clock=self._clock,
            )
        await breaker.refresh()
        return breaker

    def breakers(self) -> list[ProxyBreaker]:
        return list(self._breakers.values())
