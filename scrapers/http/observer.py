"""What the HTTP core reports as it works, for whoever listens (metrics, a benchmark, a test).

The core imports no metrics: it calls an observer, and the metrics package implements one
(`scrapers.metrics.fleet.FetchMetrics`). Every method is a cheap notification; none may raise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from proxy.pool import ProxyBreaker
from scrapers.core.outcome import Outcome
from scrapers.http.quota import QuotaReading


class FetchObserver(Protocol):
    def tier_chosen(self, source: str, tier: str) -> None:
        """The first tier planned for a request."""

    def retry_granted(self, source: str, outcome: Outcome) -> None:
        """A retry was spent from the job's budget after an attempt of this class."""

    def attempt_started(self, source: str) -> None:
        """A request is about to be sent (in flight until `attempt_ended`)."""

    def attempt_ended(self, source: str) -> None: ...

    def attempt_classified(self, source: str, tier: str, outcome: Outcome, seconds: float) -> None: ...

    def tier_traffic(self, tier: str, downloaded: int) -> None:
        """One request went out through `tier` (answered or not); `downloaded`: the answer's
        bytes on the wire (0 without an answer). What a proxy provider bills, per tier."""

    def breakers_changed(self, breakers: Iterable[ProxyBreaker]) -> None:
        """A circuit this process knows moved; `breakers` are all of them, to recount."""

    def breaker_transition(self, tier: str, provider: str, state: str) -> None: ...

    def quota_read(self, source: str, reading: QuotaReading) -> None: ...

    def limiter_rate(self, source: str, host: str, rate: float) -> None: ...


class NullObserver:
    """Listens to nothing: the default for a core nobody measures."""

    def tier_chosen(self, source: str, tier: str) -> None:
        pass

    def retry_granted(self, source: str, outcome: Outcome) -> None:
        pass

    def attempt_started(self, source: str) -> None:
        pass

    def attempt_ended(self, source: str) -> None:
        pass

    def attempt_classified(self, source: str, tier: str, outcome: Outcome, seconds: float) -> None:
        pass

    def tier_traffic(self, tier: str, downloaded: int) -> None:
        pass

    def breakers_changed(self, breakers: Iterable[ProxyBreaker]) -> None:
        pass

    def breaker_transition(self, tier: str, provider: str, state: str) -> None:
        pass

    def quota_read(self, source: str, reading: QuotaReading) -> None:
        pass

    def limiter_rate(self, source: str, host: str, rate: float) -> None:
        pass


class BreakerTransitions:
    """A breaker listener (proxy.breakers.BreakerListener), forwarding the transitions this process
    makes by tier and provider."""

    def __init__(self, observer: FetchObserver) -> None:
        self.observer = observer

    def state_change(self, breaker: ProxyBreaker, old: str, new: str) -> None:
        self.observer.breaker_transition(breaker.endpoint.tier, breaker.endpoint.name, new)
