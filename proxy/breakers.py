"""Per-(proxy, host) circuit breakers that a fleet of processes shares through the state store.

A circuit is one JSON record in the store, ``{"state", "failures", "opened_at"}`` at
``breaker/<tier>/<proxy>/<host>``, and every change to it is a compare-and-set
(:func:`proxy.state.compare_and_set`): a process reads the record, computes the next one and writes
it only if nobody wrote in between, else reads again. So failures from several processes are all
counted (N failures, counter N) and only one process trips, probes or closes a given circuit.

* closed: requests pass; each proxy fault adds one failure, a clean answer resets the count; the
  ``fail_max``-th consecutive failure opens the circuit (``opened_at`` = now). A fault that no
  retry can cure (the proxy refused our credentials: 407) opens it at once (``settle(trip=True)``).
* open: requests skip the proxy. Once its window has passed since ``opened_at``, exactly one
  request in the fleet probes: the one whose process takes the probe lease of *this opening*
  (``breaker.probe/<circuit>@<opened_at>``, Redis ``SET NX PX``). Everyone else, in this process or
  another, treats the circuit as open while the lease is held. A clean probe closes the circuit; a
  failed one opens it again with a new ``opened_at`` and a window twice as long (``reopened``
  counts the failed probes; the window is ``reset_seconds * 2**reopened``, at most
  ``max_reset_seconds``), so a proxy that was down for a moment is back soon and one that stays
  down costs a probe per long window. The lease is never released after a probe: it expires after
  one window, which bounds a prober that died mid-probe to one probe per window as well. (Keying
  the lease by the opening, not just the circuit, means a process that read the old opening late
  can only ask for a lease already taken.)
* half-open is what *this* process reports while it holds the probe; the store never says it.

Why not pybreaker (which DESIGN prefers): its state machine decides synchronously on its own storage
inside ``calling()``: the move from open to half-open happens in ``before_call`` with no way to make
it conditional on a fleet-wide claim, and the failure threshold is compared with the storage's
counter in the same synchronous call, so counting atomically would mean a network round trip on the
event loop. Its Redis storage is synchronous redis-py and its half-open probe is per process. The
previous design (pybreaker over a snapshot loaded before and saved after each call) therefore probed
once per window per process and lost concurrent failures; the state names here are pybreaker's.

Writes stay scarce: a success writes only when the circuit had failures or was being probed.
``opened_at`` is the writer's wall clock, compared with the reader's, so a fleet relies on clocks
kept in step (NTP) to within a small part of a window; a lease expires by the store's own clock.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from proxy.config import ProxyEndpoint
from proxy.state import StateStore, StateStoreError, acquire_lease, compare_and_set, release_lease

__all__ = [
    "BREAKER_NAMESPACE",
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "PROBE_NAMESPACE",
    "BreakerListener",
    "Circuit",
    "Passage",
    "ProxyBreaker",
]

BREAKER_NAMESPACE = "breaker"
PROBE_NAMESPACE = "breaker.probe"
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
# A compare-and-set loses only to another write of the same circuit; this many losses in a row
# means something rewrites the record in a loop (or not in canonical JSON), not contention.
_MAX_RACES = 200
# The probe lease must have a positive lifetime even when reset_seconds is 0 ("probe at once").
_MIN_LEASE_SECONDS = 0.001
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


class BreakerListener(Protocol):
    """Told about every transition this process makes (not those it merely reads from the store)."""

    def state_change(self, breaker: ProxyBreaker, old: str, new: str) -> None: ...


@dataclass(frozen=True)
class Circuit:
    """The fleet's record of one circuit: closed or open (half-open is a process' own view)."""

    state: str = CLOSED
    failures: int = 0
    opened_at: datetime | None = None
    reopened: int = 0  # failed probes since the circuit last closed: each doubles the window
    standing: bool = False  # opened by a fault no retry cures (a 407): probe it after the others

    @classmethod
    def from_value(cls, value: dict[str, Any] | None) -> Circuit:
        if value is None:
            return _CLEAN_CIRCUIT  # no record: every proxied attempt reads one, build none
        opened = value.get("opened_at")
        try:
            opened_at = datetime.fromisoformat(opened) if opened else None
            failures = int(value.get("failures", 0))
            reopened = int(value.get("reopened", 0))
            standing = bool(value.get("standing", False))
        except (TypeError, ValueError) as exc:
            raise StateStoreError(f"corrupt breaker record {value!r}") from exc
        if opened_at is not None and opened_at.tzinfo is None:
            opened_at = opened_at.replace(tzinfo=UTC)
        # A record written as "half-open" (by the per-process pybreaker design) is an open circuit
        # somebody was probing: probing again needs the lease like any open circuit.
        state = CLOSED if value.get("state", CLOSED) == CLOSED else OPEN
        if state == OPEN and opened_at is None:
            opened_at = _LONG_AGO  # opened at an unknown time: its window is over
        if state == CLOSED:
            return cls(state, failures, opened_at)
        return cls(state, failures, opened_at, reopened, standing)

    def to_value(self) -> dict[str, Any]:
        opened = self.opened_at.isoformat() if self.opened_at else None
        value: dict[str, Any] = {"state": self.state, "failures": self.failures, "opened_at": opened}
        # Only when set: records written before these fields existed read back the same.
        if self.reopened:
            value["reopened"] = self.reopened
        if self.standing:
            value["standing"] = True
        return value


@dataclass(frozen=True)
class Passage:
    """Leave to send one request through a proxy: an ordinary one, or the fleet's probe."""

    probe: bool = False
    lease: str | None = None  # the probe lease's key, while this request holds it


_ORDINARY = Passage()
# A closed circuit with no failure: what a missing record reads as, and the hot path's test.
_CLEAN_CIRCUIT = Circuit()


class ProxyBreaker:
    """One proxy's circuit for one host, as this process last read or wrote it."""

    def __init__(
        self,
        endpoint: ProxyEndpoint,
        host: str,
        store: StateStore,
        *,
        fail_max: int,
        reset_seconds: float,
        max_reset_seconds: float | None = None,
        listeners: Sequence[BreakerListener] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.host = host
        self.key = f"{endpoint.tier}/{endpoint.name}/{host}"
        self.fail_max = fail_max
        self.reset_seconds = reset_seconds
        # None: every window is reset_seconds long (failed probes do not lengthen it).
        self.max_reset_seconds = reset_seconds if max_reset_seconds is None else max_reset_seconds
        self._store = store
        self._listeners = tuple(listeners)
        self._clock = clock
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self.circuit = Circuit()
        self._probing = False  # this process holds the probe lease of the current opening
        self._leased = False  # another request held the probe lease when the circuit was read

    # --- what this process sees -------------------------------------------------------------

    @property
    def state(self) -> str:
        return HALF_OPEN if self._probing else self.circuit.state

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def admits(self, now: datetime | None = None) -> bool:
        """Might a request pass now? Closed: yes. Open: only past its reset window and while nobody
        held the probe lease when it was read; whether it really probes is decided by `enter`."""
        if self.circuit.state == CLOSED:
            return True
        return not (self._probing or self._leased) and self._window_over(now)

    @property
    def healthy(self) -> bool:
        """Closed without a failure since the last clean answer: first in line for a request."""
        return self.circuit.state == CLOSED and self.circuit.failures == 0 and not self._probing

    def window(self) -> float:
        """Seconds from the current opening to its probe: doubled by every failed probe, capped."""
        if self.circuit.reopened <= 0:
            return self.reset_seconds
        # min() before the power would be wrong for reset_seconds 0; the exponent is capped so a
        # circuit reopened a thousand times does not overflow the float.
        grown = self.reset_seconds * 2.0 ** min(self.circuit.reopened, 64)
        return max(self.reset_seconds, min(grown, self.max_reset_seconds))

    def _window_over(self, now: datetime | None = None) -> bool:
        opened_at = self.circuit.opened_at or _LONG_AGO
        return ((now or self._now()) - opened_at).total_seconds() >= self.window()

    def _lease(self) -> str:
        """The probe lease of the current opening."""
        return f"{self.key}@{(self.circuit.opened_at or _LONG_AGO).isoformat()}"

    async def refresh(self) -> None:
        """Read the fleet's record: another process may have opened or closed the circuit.

        While a probe is out (window over, record still open) this also reads the lease, so every
        other request skips the proxy at once instead of first waiting for a rate-limit token only
        to lose the lease: one more read, only in that short stretch.
        """
        self.circuit = Circuit.from_value(await self._store.get(BREAKER_NAMESPACE, self.key))
        self._leased = False
        if self.circuit.state == OPEN and not self._probing and self._window_over():
            self._leased = await self._store.get(PROBE_NAMESPACE, self._lease()) is not None

    # --- one request ------------------------------------------------------------------------

    async def enter(self) -> Passage | None:
        """Leave to send one request now, or None: treat the circuit as open and move on.

        Closed: an ordinary passage, without a store round trip. Open past its window: the probe,
        if this process takes the lease of this opening first (in the fleet and in this process).
        """
        if self.circuit.state == CLOSED:
            return _ORDINARY
        if not self.admits():
            return None
        lease = self._lease()
        ttl = max(self.window(), _MIN_LEASE_SECONDS)
        if not await acquire_lease(self._store, PROBE_NAMESPACE, lease, self._owner, ttl):
            return None
        if self._probing:  # another request of this process probed meanwhile (a later opening)
            await release_lease(self._store, PROBE_NAMESPACE, lease, self._owner)
            return None
        self._probing = True
        self._notify(OPEN, HALF_OPEN)
        return Passage(probe=True, lease=lease)

    async def settle(self, passage: Passage, *, failed: bool | None, trip: bool = False) -> None:
        """Record how the request went: a proxy fault (True), a clean answer from through the proxy
        (False) or nothing known (None: it was never sent, or it raised), which changes nothing but
        gives an unused probe lease back so another request may probe at once. `trip`: the fault
        opens a closed circuit at once, whatever the count (no retry can cure it, e.g. a 407)."""
        if failed is None:
            if passage.probe:
                self._probing = False
                assert passage.lease is not None
                await release_lease(self._store, PROBE_NAMESPACE, passage.lease, self._owner)
                self._notify(HALF_OPEN, OPEN)
            return
        if not failed and not passage.probe and self.circuit == _CLEAN_CIRCUIT:
            return  # the hot path: a clean answer through a clean circuit writes nothing
        ordinary = self._tripping if trip else self._result
        try:
            before, after = await self._update(self._probe_result if passage.probe else ordinary, failed)
        finally:
            if passage.probe:
                self._probing = False
        if passage.probe:
            self._notify(HALF_OPEN, after.state)
        elif before.state != after.state:
            self._notify(before.state, after.state)

    def _result(self, current: Circuit, failed: bool) -> Circuit:
        """An ordinary request's effect: count a failure (tripping a closed circuit), or reset."""
        if not failed:
            # Only a probe closes an open circuit: this request was let through before it opened.
            return Circuit() if current.state == CLOSED else current
        failures = current.failures + 1
        if current.state == CLOSED and failures >= self.fail_max:
            return Circuit(OPEN, failures, self._now())
        return Circuit(current.state, failures, current.opened_at, current.reopened, current.standing)

    def _tripping(self, current: Circuit, failed: bool) -> Circuit:
        """A fault that opens a closed circuit at once; an open one just counts it."""
        if current.state == CLOSED:
            return Circuit(OPEN, current.failures + 1, self._now(), standing=True)
        return self._result(current, failed)

    def _probe_result(self, current: Circuit, failed: bool) -> Circuit:
        if not failed:
            return Circuit()
        return Circuit(OPEN, current.failures + 1, self._now(), current.reopened + 1, current.standing)

    async def _update(
        self, change: Callable[[Circuit, bool], Circuit], failed: bool
    ) -> tuple[Circuit, Circuit]:
        """Apply `change` to the fleet's record atomically (compare-and-set until nobody interferes);
        return the record it was applied to and the result."""
        for _ in range(_MAX_RACES):
            seen = await self._store.get(BREAKER_NAMESPACE, self.key)
            current = Circuit.from_value(seen)
            wanted = change(current, failed)
            if wanted == current:
                self.circuit = current
                return current, current
            if await compare_and_set(self._store, BREAKER_NAMESPACE, self.key, seen, wanted.to_value()):
                self.circuit = wanted
                return current, wanted
        raise StateStoreError(f"breaker {self.key} changed {_MAX_RACES} times while one update was applied")

    def _notify(self, old: str, new: str) -> None:
        for listener in self._listeners:
            listener.state_change(self, old, new)
