"""Metered upstreams (The Odds API): what the last response said is left, and the reserve check.

The Odds API reports the account's credits on every response (`x-requests-remaining`, `-used`,
`-last`). The Fetcher hands those headers to its `QuotaTracker` after each response of a source
whose policy names them; the tracker keeps the last reading per host for metrics and persists it
in the state store (namespace "quota", key = host), so a fresh one-job container knows what the
previous job saw. Before a job sends anything, the runner asks the tracker whether the job's
estimated cost would eat into the source's configured reserve.

An unknown reading (nothing stored yet, an expired one, replay) allows the job: refusing without
evidence would stop the fleet for good, since only a response can tell what is left.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from proxy.state import StateStore, put_if_changed
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome

QUOTA_NAMESPACE = "quota"
# A reading older than this is forgotten, so a stale "nearly spent" (the monthly quota has reset
# since) cannot refuse jobs forever; the next response writes a fresh one.
DEFAULT_REMEMBER_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class QuotaSettings:
    """Per source, from registry.yaml `sources.<name>.quota` (see SourcePolicy)."""

    remaining_header: str
    used_header: str | None = None
    last_header: str | None = None
    # Credits that must stay untouched: a job whose estimated cost would go below it is refused.
    reserve: int = 0
    remember_seconds: float = DEFAULT_REMEMBER_SECONDS


@dataclass(frozen=True)
class QuotaReading:
    """What one response said about the account: credits left, used so far, cost of that call."""

    remaining: float | None
    used: float | None = None
    last: float | None = None

    def to_state(self) -> dict[str, Any]:
        return {"remaining": self.remaining, "used": self.used, "last": self.last}

    @classmethod
    def from_state(cls, value: Mapping[str, Any] | None) -> QuotaReading | None:
        if not value:
            return None
        return cls(
            remaining=_number(value.get("remaining")),
            used=_number(value.get("used")),
            last=_number(value.get("last")),
        )


def read_headers(headers: Mapping[str, str], settings: QuotaSettings) -> QuotaReading | None:
    """The reading in `headers`, or None when the response carries no usable remaining count
    (an error page from a CDN in front of the API has none, and must not erase what we know)."""
    lowered = {name.lower(): value for name, value in headers.items()}

    def header(name: str | None) -> float | None:
        return None if name is None else _number(lowered.get(name.lower()))

    remaining = header(settings.remaining_header)
    if remaining is None:
        return None
    return QuotaReading(
        remaining=remaining, used=header(settings.used_header), last=header(settings.last_header)
    )


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    try:
        value = float(raw)  # float() itself ignores surrounding whitespace
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


class QuotaTracker:
    """Owned by the Fetcher: the last reading per host, in memory and in the state store."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._latest: dict[str, QuotaReading] = {}

    def latest(self) -> Mapping[str, QuotaReading]:
        """The last reading per host seen by this process (for metrics)."""
        return MappingProxyType(dict(self._latest))

    async def observe(
        self, host: str, headers: Mapping[str, str], settings: QuotaSettings | None
    ) -> QuotaReading | None:
        if settings is None:
            return None
        reading = read_headers(headers, settings)
        if reading is None:
            return None
        previous = self._latest.get(host)
        self._latest[host] = reading
        # Writes are the scarce resource of a shared store: a quota-free call repeats the last
        # reading, so only a change is written.
        await put_if_changed(
            self._store,
            QUOTA_NAMESPACE,
            host,
            reading.to_state(),
            previous.to_state() if previous else None,
            ttl_seconds=settings.remember_seconds,
        )
        return reading

    async def remaining(self, host: str) -> float | None:
        """Credits left at `host` as last seen by any process sharing the store; None if unknown."""
        reading = QuotaReading.from_state(await self._store.get(QUOTA_NAMESPACE, host))
        return reading.remaining if reading else None

    async def ensure_reserve(self, settings: QuotaSettings | None, hosts: Iterable[str], cost: int) -> None:
        """Raise `auth` ("quota reserve") when spending `cost` would leave less than the reserve.

        Quota-free jobs always run: they spend nothing, and their responses refresh the reading.
        """
        if settings is None or cost <= 0:
            return
        for host in sorted(set(hosts)):
            remaining = await self.remaining(host)
            if remaining is not None and remaining - cost < settings.reserve:
                raise ScrapeError(
                    Outcome.AUTH,
                    f"quota reserve: {host} has {remaining:g} credits left, this job would spend about "
                    f"{cost} and the reserve is {settings.reserve}; nothing was sent",
                )
