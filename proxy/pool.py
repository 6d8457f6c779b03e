"""Per-host tier choice and per-proxy circuit breakers, with state shared through a StateStore.

One request walks the tiers its source allows, cheapest first, from the tier its host starts at
(`ProxyPool.walk`). Two kinds of evidence steer it, and they are kept apart on purpose:

* A proxy's own faults (a 407, a proxy that hangs, resets or writes its own 502: outcome `proxy`)
  say nothing about the tier. They feed that proxy's circuit breaker (proxy/breakers.py, one per
  (proxy, host), shared by the fleet through the store), and the request moves on to the next
  proxy of the same tier. Within a tier, proxies without a recent fault come first, in file order;
  open circuits are skipped without a request, and one whose window is over gets its probe last.
* Blocks by the host (a 403 or a challenge page through a proxy, a hang at a host that blocks by
  hanging: outcome `blocked`) are evidence about the proxy and its tier. Per host, each tier keeps
  a score per proxy that blocked (+1 per block, halving every `half_life_seconds`), cleared when
  that proxy answers the host cleanly. A proxy the host blocked is left out of the walk while its
  tier has one the host did not block (asking again costs a request and one of the host's turns for
  a 403 all but certain). Requests start above a tier only when the host blocks `blocked_proxies`
  distinct proxies of it (or all of them, for a smaller tier). One proxy's trouble moves requests
  to its neighbour, never to the expensive tier, whose requests cost ten times as much; and a proxy
  entry is usually a provider's gateway, so two of them refused means the provider's addresses are.

De-escalation does not wait for the evidence to age out. A skipped tier is probed (the request
starts at it, and walks on up if it is blocked again): by one request of the whole fleet
`probe_after_seconds` after the tier was skipped (a lease in the store, like a breaker's probe;
each probe blocked again doubles the wait, up to `max_probe_after_seconds`), and by one in
`probe_every_requests` of this process's requests that skipped it, so a busy host finds its way
back within a bounded share of its traffic while an idle one is probed on the clock. A clean answer
clears its proxy's evidence, and the host is back on the cheap tier at once. The cost is bounded:
a probe blocked again costs one cheap request besides the expensive one the request sends anyway.

The tier record of a host (namespace ``tier``) is one JSON object, changed with the store's atomic
read-modify-write so blocks seen by several processes all count:
``{"blocks": {tier: {proxy: score}}, "probes": {tier: {"after": t, "misses": n}}, "updated": t}``.
It is read once per request, and only for a source that may use more than one tier; a clean answer
writes only when it clears evidence, so a healthy host costs one read per request and no writes.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from proxy.breakers import BREAKER_NAMESPACE, CLOSED, BreakerListener, ProxyBreaker
from proxy.config import ProxyConfig, ProxyEndpoint, Tier
from proxy.state import StateStore, StateStoreError, acquire_lease, read_modify_write

__all__ = [
    "BREAKER_NAMESPACE",
    "TIER_NAMESPACE",
    "TIER_PROBE_NAMESPACE",
    "BreakerListener",
    "PoolSettings",
    "ProxyBreaker",
    "ProxyPool",
    "Step",
    "Walk",
]

TIER_NAMESPACE = "tier"
TIER_PROBE_NAMESPACE = "tier.probe"
_NEGLIGIBLE_SCORE = 0.01
# The probe lease must have a positive lifetime even when probe_after_seconds is 0.
_MIN_LEASE_SECONDS = 0.001


@dataclass(frozen=True)
class PoolSettings:
    breaker_fail_max: int = 3
    breaker_reset_seconds: float = 30.0
    breaker_max_reset_seconds: float = 600.0
    # Distinct proxies of a tier a host must have blocked before its requests start above it.
    blocked_proxies: int = 2
    # A skipped tier's first probe waits this long; each probe blocked again doubles the wait.
    probe_after_seconds: float = 60.0
    max_probe_after_seconds: float = 1800.0
    # ... and one in this many of a process's requests that skipped a tier probes it (0: never).
    probe_every_requests: int = 20
    # A request waits up to this long, in all, for a tier out only for its proxies' open circuits.
    patience_seconds: float = 60.0
    # A proxy counts as blocked while its score is at least this (each block adds 1.0) ...
    score_threshold: float = 0.5
    # ... and its score halves every half-life, so a block nobody probes is forgotten in time.
    half_life_seconds: float = 1800.0

    @classmethod
    def of(cls, config: ProxyConfig) -> PoolSettings:
        """The settings the proxies file gives (breaker and escalation), the rest defaults."""
        return cls(
            breaker_fail_max=config.breaker.fail_max,
            breaker_reset_seconds=config.breaker.reset_seconds,
            breaker_max_reset_seconds=config.breaker.max_reset_seconds,
            blocked_proxies=config.escalation.blocked_proxies,
            probe_after_seconds=config.escalation.probe_after_seconds,
            max_probe_after_seconds=config.escalation.max_probe_after_seconds,
            probe_every_requests=config.escalation.probe_every_requests,
            patience_seconds=config.escalation.patience_seconds,
        )


@dataclass(frozen=True)
class Step:
    """One place to send a request: a proxy of a tier (with its breaker), or direct."""

    tier: Tier
    endpoint: ProxyEndpoint | None
    breaker: ProxyBreaker | None
    again: bool = False  # a second try through a proxy whose quick fault this request already met
    # Nothing to send yet: wait this many seconds for the tier's circuits, then ask `next` again.
    wait: float = 0.0

    @property
    def proxy(self) -> str:
        """The name the tier record keeps evidence under: the proxy's, or the tier's when direct."""
        return self.endpoint.name if self.endpoint is not None else self.tier.name


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
        self.settings = settings or PoolSettings.of(config)
        self._clock = clock
        self._listeners = tuple(listeners)  # e.g. metrics of state transitions
        self._breakers: dict[str, ProxyBreaker] = {}
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        # Requests of this process that skipped a blocked tier of a host since it last probed it.
        self._skipped: dict[tuple[str, str], int] = {}

    @property
    def clock(self) -> Callable[[], float]:
        """The wall clock circuits and tier records are kept on (seconds since the epoch)."""
        return self._clock

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

    # --- one request's route ------------------------------------------------------------------

    async def walk(self, host: str, tiers: list[Tier], *, patient_until: float | None = None) -> Walk:
        """The route of one request to `host` over `tiers` (cheapest first, at least one).

        It starts at the cheapest tier the host has not blocked, or at a blocked one whose probe
        this request won; when every tier is blocked, at the most expensive one. `patient_until`:
        until when (monotonic) the request may wait for a tier's circuits (None: never; `Walk`).
        """
        if len(tiers) < 2:
            # Nothing to choose: no read. Evidence is still written when this source is blocked,
            # for the sources with a choice that share the host.
            return Walk(self, host, tiers, {"blocks": {}, "probes": {}}, None)
        now = self._clock()
        record = self._current(await self.store.get(TIER_NAMESPACE, host), now)
        for index, tier in enumerate(tiers):
            if not self._blocked(record, tier):
                return Walk(self, host, tiers[index:], record, None, patient_until)
            if index < len(tiers) - 1 and await self._probes(host, tier, record, now):
                return Walk(self, host, tiers[index:], record, tier.name, patient_until)
        return Walk(self, host, tiers[-1:], record, None, patient_until)

    async def _probes(self, host: str, tier: Tier, record: dict[str, Any], now: float) -> bool:
        """Does this request probe the blocked `tier` of `host`? Its share, or the fleet's clock."""
        skipped = self._skipped.get((host, tier.name), 0) + 1
        every = self.settings.probe_every_requests
        if (every and skipped >= every) or await self._won_probe(host, tier, record, now):
            self._skipped.pop((host, tier.name), None)
            return True
        self._skipped[(host, tier.name)] = skipped
        return False

    async def _won_probe(self, host: str, tier: Tier, record: dict[str, Any], now: float) -> bool:
        schedule = record["probes"].get(tier.name)
        if schedule is not None and now < float(schedule["after"]):
            return False
        misses = int(schedule["misses"]) if schedule else 0
        # Keyed by the scheduled moment: a probe blocked again reschedules, so the next one needs
        # a new lease, and a process that read the old schedule late finds this one taken. (No
        # schedule: blocks written by a process whose tiers differ; the lease alone paces it.)
        lease = f"{host}/{tier.name}@{float(schedule['after']):.3f}" if schedule else f"{host}/{tier.name}@-"
        ttl = max(self._cool_down(misses), _MIN_LEASE_SECONDS)
        return await acquire_lease(self.store, TIER_PROBE_NAMESPACE, lease, self._owner, ttl)

    # --- evidence -----------------------------------------------------------------------------

    async def record_block(self, host: str, tier: Tier, proxy: str, *, probe: bool) -> None:
        """The host blocked a request through `proxy` of `tier`; `probe`: it was the tier's probe."""
        now = self._clock()

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            record = self._current(current, now)
            blocks = record["blocks"].setdefault(tier.name, {})
            blocks[proxy] = blocks.get(proxy, 0.0) + 1.0
            if self._blocked(record, tier):
                schedule = record["probes"].get(tier.name)
                if schedule is None:
                    record["probes"][tier.name] = {"after": now + self._cool_down(0), "misses": 0}
                elif probe:
                    misses = int(schedule["misses"]) + 1
                    record["probes"][tier.name] = {"after": now + self._cool_down(misses), "misses": misses}
            return self._stored(record, now)

        await read_modify_write(self.store, TIER_NAMESPACE, host, change)

    async def record_clean(self, host: str, tier: Tier, proxy: str) -> None:
        """A clean answer came through `proxy` of `tier`: the host serves that proxy again, and
        the tier, unless enough of its other proxies are still blocked (their evidence stays:
        one proxy's clean answer says nothing about its neighbour's addresses)."""
        now = self._clock()

        def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None:
                return None
            record = self._current(current, now)
            scores = record["blocks"].get(tier.name, {})
            if proxy not in scores and tier.name not in record["probes"]:
                return None  # nothing to clear: no write
            scores.pop(proxy, None)
            if not scores:
                record["blocks"].pop(tier.name, None)
            return self._stored(record, now)  # a schedule stays only while the tier is blocked

        await read_modify_write(self.store, TIER_NAMESPACE, host, change)

    async def evidence(self, host: str) -> dict[str, dict[str, float]]:
        """Block scores of `host` now, by tier and proxy (what a plan would read)."""
        blocks: dict[str, dict[str, float]] = self._current(
            await self.store.get(TIER_NAMESPACE, host), self._clock()
        )["blocks"]
        return blocks

    async def blocked_tiers(self, host: str) -> list[str]:
        """Tiers whose requests to `host` start above them (unless they win a probe)."""
        record = self._current(await self.store.get(TIER_NAMESPACE, host), self._clock())
        return [tier.name for tier in self.config.tiers if self._blocked(record, tier)]

    def needed(self, tier: Tier) -> int:
        """Distinct blocked proxies that make a tier blocked for a host: at most the tier's size."""
        return max(1, min(self.settings.blocked_proxies, len(tier.proxies)))

    def _blocked(self, record: dict[str, Any], tier: Tier) -> bool:
        names = [tier.name] if tier.is_direct else [endpoint.name for endpoint in tier.proxies]
        return len(self.blocked_proxies(record, tier, names)) >= self.needed(tier)

    def blocked_proxies(self, record: dict[str, Any], tier: Tier, names: Sequence[str]) -> set[str]:
        """Of `names`, the proxies of `tier` the host of `record` counts as blocking it now."""
        scores = record["blocks"].get(tier.name, {})
        return {name for name in names if scores.get(name, 0.0) >= self.settings.score_threshold}

    def _cool_down(self, misses: int) -> float:
        grown = self.settings.probe_after_seconds * 2.0 ** min(misses, 64)
        return max(self.settings.probe_after_seconds, min(grown, self.settings.max_probe_after_seconds))

    def _current(self, value: dict[str, Any] | None, now: float) -> dict[str, Any]:
        """A stored record as it stands at `now`: scores decayed, forgotten ones dropped.

        Records of the earlier design (one score per tier, ``{"scores": ...}``) read as empty: a
        tier score does not say which proxies were blocked, and the evidence rebuilds in a request.
        """
        record: dict[str, Any] = {"blocks": {}, "probes": {}}
        if not value:
            return record
        try:
            elapsed = max(0.0, now - float(value.get("updated", now)))
            factor = 0.5 ** (elapsed / self.settings.half_life_seconds)
            blocks, probes = value.get("blocks", {}), value.get("probes", {})
            if not isinstance(blocks, dict) or not isinstance(probes, dict):
                raise TypeError("blocks and probes must be objects")
            for tier, scores in blocks.items():
                kept = {
                    str(proxy): float(score) * factor
                    for proxy, score in dict(scores).items()
                    if float(score) * factor >= _NEGLIGIBLE_SCORE
                }
                if kept:
                    record["blocks"][str(tier)] = kept
            for tier, schedule in probes.items():
                after, misses = float(schedule["after"]), int(schedule["misses"])
                if not math.isfinite(after):
                    raise ValueError(f"probe time {after}")
                record["probes"][str(tier)] = {"after": after, "misses": misses}
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise StateStoreError(f"corrupt tier record {value!r}") from exc
        return record

    def _stored(self, record: dict[str, Any], now: float) -> dict[str, Any]:
        """What to write: schedules only for tiers still blocked (evidence that aged out ends them)."""
        probes = {
            name: schedule
            for name, schedule in record["probes"].items()
            if (tier := self.config.get(name)) is not None and self._blocked(record, tier)
        }
        return {"blocks": record["blocks"], "probes": probes, "updated": now}

    # --- breakers -----------------------------------------------------------------------------

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
                max_reset_seconds=self.settings.breaker_max_reset_seconds,
                listeners=self._listeners,
                clock=self._clock,
            )
        await breaker.refresh()
        return breaker

    def breakers(self) -> list[ProxyBreaker]:
        return list(self._breakers.values())


class Walk:
    """One request's route: the tiers from its start, and within a tier the proxies in order.

    `next` gives the next place to send; the caller reports a block (`blocked`), a proxy's own
    fault (`faulted`) or a clean answer (`clean`) through it. A proxy's faults are no evidence
    about the tier: they go to its breaker (the caller settles it), and here only decide whether
    the proxy gets a second try. Each proxy is tried once per request, and once more when its fault
    was quick (its own 502, a reset, a refused connection, an answer presumed hung after seconds,
    not a hang that ran to the timeout) and its circuit is still closed after every other proxy of
    the tier was tried: that costs one cheap request, where moving on to the next tier costs ten,
    and a proxy's passing fault mostly passes. A hang to the timeout gets no second try: it has
    already cost a whole timeout.

    Patience: before it leaves a tier for a costlier one only because the tier's proxies have open
    circuits (their own faults; the host blocked none of them), the walk gives a step with a
    `wait`: the seconds until the first of those circuits takes its probe, or, once a probe is out,
    a tenth of the breaker's window to hear how it went. The caller waits and asks again; the tier
    is then walked afresh. It waits `patience_seconds` at most in all, and only until
    `patient_until` (scrapers/http/policy.py: the first three quarters of its job's time; a job late
    in its time pays the next tier rather than risk its deadline, and keeps the host's turns in use
    while the younger ones wait): a provider's gateway down for half a minute costs that half
    minute, not ten times the requests of it.
    """

    def __init__(
        self,
        pool: ProxyPool,
        host: str,
        tiers: list[Tier],
        record: dict[str, Any],
        probing: str | None,
        patient_until: float | None = None,
    ) -> None:
        self.pool = pool
        self.host = host
        self.tiers = tiers
        self.probing = probing  # the tier this request probes for the fleet, if any
        self._record = record  # the tier record as read when the walk started
        self._patient_until = patient_until  # monotonic; None: no patience
        self._waited = 0.0
        self._index = 0
        self._queue: list[Step] | None = None
        self._breakers: list[ProxyBreaker] = []  # the current tier's, the host's blocked ones left out
        self._again: list[Step] = []  # steps of the current tier whose quick fault earns a retry
        self._repassed = False  # the current tier had its second pass

    @property
    def first(self) -> Tier:
        return self.tiers[0]

    def has_more(self) -> bool:
        """Might `next` still give a step? (False: every tier of the walk has been tried.)"""
        if self._index < len(self.tiers) - 1:
            return True
        if self._index >= len(self.tiers):
            return False
        return self._queue is None or bool(self._queue) or (bool(self._again) and not self._repassed)

    async def next(self) -> Step | None:
        """The next place to try, or None when every tier of the walk has been tried."""
        while self._index < len(self.tiers):
            if self._queue is None:
                self._queue = await self._steps(self.tiers[self._index])
            if not self._queue and self._again and not self._repassed:
                self._queue, self._again, self._repassed = await self._second_pass(), [], True
            if self._queue:
                return self._queue.pop(0)
            wait = self._patience()
            if wait is not None:
                self._waited += wait
                self._queue, self._again, self._repassed = None, [], False  # walk it afresh after
                return Step(self.tiers[self._index], None, None, wait=wait)
            self._index += 1
            self._queue, self._again, self._repassed = None, [], False
        return None

    def _patience(self) -> float | None:
        """Seconds to wait for the current tier before leaving it (class docstring), or None."""
        patience = self.pool.settings.patience_seconds
        index = self._index
        if (
            self._patient_until is None
            or patience <= 0
            or index >= len(self.tiers) - 1
            or self.tiers[index + 1].cost <= self.tiers[index].cost
        ):
            return None
        now = self.pool.clock()
        waits = []
        for breaker in self._breakers:
            circuit = breaker.circuit
            if circuit.state == CLOSED or circuit.standing or circuit.opened_at is None:
                continue  # closed (its faults were this request's), or opened by a fault no wait cures
            until = breaker.window() - (now - circuit.opened_at.timestamp())
            waits.append(until if until > 0 else breaker.window() / 10)
        if not waits:
            return None
        wait = min(waits)
        if wait <= 0 or self._waited + wait > patience or time.monotonic() + wait > self._patient_until:
            return None  # (no wait at all: breakers with a zero window, nothing to wait for)
        return wait

    async def _second_pass(self) -> list[Step]:
        steps = []
        for step in self._again:
            assert step.endpoint is not None  # faulted() keeps proxied steps only
            breaker = await self.pool.breaker(step.endpoint, self.host)  # read again: it may have opened
            if breaker.circuit.state == CLOSED:
                steps.append(Step(step.tier, step.endpoint, breaker, again=True))
        return steps

    def faulted(self, step: Step, *, quick: bool) -> None:
        """The proxy of `step` failed on its own (outcome `proxy`); `quick`: not by hanging."""
        if quick and not step.again and step.endpoint is not None:
            self._again.append(step)

    async def _steps(self, tier: Tier) -> list[Step]:
        self._breakers = []
        if tier.is_direct:
            return [Step(tier, None, None)]
        breakers = [await self.pool.breaker(endpoint, self.host) for endpoint in tier.proxies]

        # An open circuit whose window is over first: its one probe in the fleet goes out with the
        # next request that reaches the tier (a failed probe costs a quick fault, or one timeout
        # per window, and windows grow), one opened by a fault no retry cures (a 407) after the
        # others. Then healthy circuits in file order (the operator's preference), then closed
        # ones with recent faults, fewest first: a proxy that just hung or reset is not the next
        # request's first try while its neighbour answers.
        def rank(b: ProxyBreaker) -> tuple[int, bool, int]:
            if b.circuit.state != CLOSED:
                return (0, b.circuit.standing, b.circuit.failures)
            return (1 if b.healthy else 2, False, b.circuit.failures)

        admitted = [b for b in breakers if b.admits()]
        ranked = sorted(admitted, key=rank) if len(admitted) > 1 else admitted
        # A proxy the host blocked is left out while the tier has a proxy it did not block: asking
        # it again costs a request and one of the host's turns for a 403 all but certain (the
        # provider's addresses are refused for days), and a clean answer elsewhere does not clear
        # it. It is asked again when its evidence has aged out (half-life), or as the tier's probe
        # once every proxy of the tier is blocked. (No evidence for the tier, the usual case:
        # nothing to leave out.)
        if tier.name in self._record["blocks"]:
            names = [endpoint.name for endpoint in tier.proxies]
            refused = self.pool.blocked_proxies(self._record, tier, names)
            if len(refused) < len(names):
                ranked = [b for b in ranked if b.endpoint.name not in refused]
                breakers = [b for b in breakers if b.endpoint.name not in refused]
        self._breakers = breakers
        return [Step(tier, b.endpoint, b) for b in ranked]

    async def blocked(self, step: Step) -> None:
        """The host blocked the request sent through `step`."""
        probe = self.probing == step.tier.name
        if probe:
            self.probing = None  # one verdict per probe: the rest of the walk is an ordinary request
        await self.pool.record_block(self.host, step.tier, step.proxy, probe=probe)

    async def clean(self, step: Step) -> None:
        """A clean answer came through `step`: its proxy (and so its tier) serves the host."""
        name = step.tier.name
        if (
            step.proxy in self._record["blocks"].get(name, {})
            or name in self._record["probes"]
            or self.probing == name
        ):
            await self.pool.record_clean(self.host, step.tier, step.proxy)
