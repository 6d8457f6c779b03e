"""Per-host tier choice and per-proxy circuit breakers, with state shared through a StateStore.

Tier choice follows crawlee's idea: per target host, a small error score per tier decays with
clean responses and with time. Only `blocked`/`proxy` outcomes raise it (the caller decides which
outcomes those are), so origin 5xx never push traffic to the expensive tier.

Breakers are pybreaker circuits, one per (proxy, host): a proxy blocked by one site may still serve
another. pybreaker has no asyncio support, so the caller wraps the awaited request in
`breaker.calling()`. State crosses processes through `SnapshotStorage`: loaded from the store
before each use and written back only when it changed (pybreaker's storages reset an already-zero
counter after every success; writing that each time once exhausted a database's write quota).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pybreaker

from proxy.config import ProxyConfig, ProxyEndpoint, Tier
from proxy.state import StateStore

BREAKER_NAMESPACE = "breaker"
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


class SnapshotStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's memory storage that knows whether anything actually changed."""

    def __init__(self) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self.dirty = False

    @property
    def state(self) -> str:
        return str(self._state)

    @state.setter
    def state(self, state: str) -> None:
        self.dirty |= state != self._state
        self._state = state

    def increment_counter(self) -> None:
        super().increment_counter()
        self.dirty = True

    def reset_counter(self) -> None:
        self.dirty |= self._fail_counter != 0
        super().reset_counter()

    @property
    def opened_at(self) -> datetime | None:
        return self._opened_at

    @opened_at.setter
    def opened_at(self, moment: datetime) -> None:
        self.dirty |= moment != self._opened_at
        self._opened_at = moment

    def snapshot(self) -> dict[str, Any]:
        opened = self._opened_at.isoformat() if self._opened_at else None
        return {"state": self._state, "failures": self._fail_counter, "opened_at": opened}

    def restore(self, value: dict[str, Any]) -> None:
        self._state = str(value.get("state", pybreaker.STATE_CLOSED))
        self._fail_counter = int(value.get("failures", 0))
        opened = value.get("opened_at")
        self._opened_at = datetime.fromisoformat(opened) if opened else None
        self.dirty = False


class ProxyBreaker:
    """One proxy's circuit for one host."""

    def __init__(
        self,
        endpoint: ProxyEndpoint,
        host: str,
        settings: PoolSettings,
        listeners: Sequence[pybreaker.CircuitBreakerListener] = (),
    ) -> None:
        self.endpoint = endpoint
        self.host = host
        self.key = f"{endpoint.tier}/{endpoint.name}/{host}"
        self.storage = SnapshotStorage()
        self.circuit = pybreaker.CircuitBreaker(
            fail_max=settings.breaker_fail_max,
            reset_timeout=settings.breaker_reset_seconds,
            state_storage=self.storage,
            name=self.key,
            # Re-raise our own failure instead of CircuitBreakerError, so the caller keeps the class.
            throw_new_error_on_trip=False,
            listeners=list(listeners),
        )
        self.probing = False

    @property
    def state(self) -> str:
        return self.storage.state

    def admits(self, now: datetime | None = None) -> bool:
        """Closed: yes. Open: only once the reset timeout passed. Half-open: one probe at a time."""
        state = self.storage.state
        if state == pybreaker.STATE_CLOSED:
            return True
        if self.probing:
            return False
        if state == pybreaker.STATE_HALF_OPEN:
            return True
        opened = self.storage.opened_at
        elapsed = ((now or datetime.now(UTC)) - opened).total_seconds() if opened else float("inf")
        return elapsed >= self.circuit.reset_timeout

    @property
    def will_probe(self) -> bool:
        return self.storage.state != pybreaker.STATE_CLOSED


class ProxyPool:
    def __init__(
        self,
        config: ProxyConfig,
        store: StateStore,
        settings: PoolSettings | None = None,
        clock: Callable[[], float] = time.time,
        listeners: Sequence[pybreaker.CircuitBreakerListener] = (),
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
        """The breaker of (proxy, host), refreshed from the store: another process may have opened it."""
        key = f"{endpoint.tier}/{endpoint.name}/{host}"
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = ProxyBreaker(endpoint, host, self.settings, self._listeners)
        if not breaker.probing:
            stored = await self.store.get(BREAKER_NAMESPACE, key)
            if stored is not None:
                breaker.storage.restore(stored)
        return breaker

    async def save(self, breaker: ProxyBreaker) -> None:
        if breaker.storage.dirty:
            await self.store.put(BREAKER_NAMESPACE, breaker.key, breaker.storage.snapshot())
            breaker.storage.dirty = False

    def breakers(self) -> list[ProxyBreaker]:
        return list(self._breakers.values())
