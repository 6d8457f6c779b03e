"""How long a host's answers through a tier usually take, and when a proxied attempt is presumed hung.

A proxy that hangs (accepts the request, never answers) used to cost the tier's whole timeout per
hang: 45 s at BettingPros, where a datacenter proxy hanging on one request in ten made every tenth
request wait 45 s and then pay the residential tier. An attempt through a proxy is instead cut once
it has waited for its answer well past what this host's answers through this tier usually take,
and the request moves on (proxy/pool.py: a second try through the same proxy is cheap, because the
cut cost seconds, not a whole timeout).

The estimate is TCP's retransmission timer (RFC 6298) per (tier, host): a smoothed answer time
(`srtt`, gain 1/8) and its mean deviation (`rttvar`, gain 1/4), limit `srtt + 4 * rttvar`, never
below the source's `hang_after_seconds` and never above the tier's timeout. Until the pair has
answered once there is nothing to go by, and the tier's timeout applies. Each cut doubles the limit
of its pair (up to the timeout) until an answer comes back: a host that turned slow (BettingPros
at its peaks answers in 30-40 s) costs a few cut attempts, after which its slow answers arrive
and teach the estimate, instead of every attempt being cut at the floor.

A cut is no verdict on the proxy (its breaker learns nothing): an answer later than usual may be
the origin's slowness, and a proxy that hangs for good still reaches its breaker, at the timeout
the cuts back off to. State is per process and in memory: it is relearned from one answer.
"""

from __future__ import annotations

from dataclasses import dataclass

# RFC 6298, section 2: the gains of the smoothed time and its deviation, and the deviation's weight.
_ALPHA = 1 / 8
_BETA = 1 / 4
_K = 4.0
# Cuts double the limit at most this many times in a row (2**6 = 64 times the estimate).
_MAX_DOUBLINGS = 6


@dataclass(slots=True)
class _Estimate:
    srtt: float
    rttvar: float
    doublings: int = 0


class AnswerTimes:
    """Answer times per (tier, host) and the limit after which an attempt is presumed hung."""

    def __init__(self) -> None:
        self._estimates: dict[tuple[str, str], _Estimate] = {}

    def limit(self, tier: str, host: str, *, timeout: float, floor: float) -> float:
        """Seconds an attempt through `tier` to `host` waits for its answer to start: at most
        `timeout` (the tier's, or what the job has left), at least `floor` unless that is more."""
        estimate = self._estimates.get((tier, host))
        if estimate is None:
            return timeout
        usual = max(floor, estimate.srtt + _K * estimate.rttvar)
        return min(timeout, usual * 2.0**estimate.doublings)

    def answered(self, tier: str, host: str, seconds: float) -> None:
        """An answer came back through `tier` from `host` after `seconds`."""
        estimate = self._estimates.get((tier, host))
        if estimate is None:
            self._estimates[(tier, host)] = _Estimate(seconds, seconds / 2)
            return
        estimate.rttvar = (1 - _BETA) * estimate.rttvar + _BETA * abs(estimate.srtt - seconds)
        estimate.srtt = (1 - _ALPHA) * estimate.srtt + _ALPHA * seconds
        estimate.doublings = 0

    def cut(self, tier: str, host: str) -> None:
        """An attempt through `tier` to `host` was cut at its limit: the next one waits longer."""
        estimate = self._estimates.get((tier, host))
        if estimate is not None:
            estimate.doublings = min(estimate.doublings + 1, _MAX_DOUBLINGS)
