"""Counters that add up across one-job containers: fleet totals kept in the state store.

A one-job container's counters start at zero and it pushes once, replacing its scraper's group on
the Pushgateway. Pushed as they are, the group's counter is 1 after every failing container and
`increase()` sees nothing. So before a push, the process adds what its counters gained since its
last push (the delta) to the group's totals in the state store, in one atomic step
(`proxy.state.add_totals`), and pushes the totals: the pushed counter only ever grows, and
Prometheus reads N failing containers as an increase of N.

Only counting series are totalled (counters, and histograms' buckets, count and sum); gauges are
pushed as this process last set them (the last container's view, as before). A series whose label
names another group (a `scraper` label of a different scraper) is left for that group's push.

Ordering: two containers may push one group at the same moment. Each holds the group's lease
(`proxy.state.acquire_lease`) while it reads the totals and pushes, so the gateway never gets older
totals after newer ones (Prometheus would read that drop as a counter reset and count the whole
total again). The delta is added before the lease is taken, so a push that cannot get the lease in
time loses nothing: the next push of the group carries it.

The store decides the reach: Redis (COURTSIDE_STATE=redis://...) adds up a whole fleet; SQLite only
the processes sharing one file (an ephemeral container's file dies with it, so its counters are per
container again); memory one process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from proxy.state import StateStore, acquire_lease, add_totals, release_lease

TOTALS_NAMESPACE = "metric_totals"
LEASE_NAMESPACE = "metric_push_lease"
# The samples of each counting type that add up; `_created` is never exposed (see exposition.py).
COUNTING_SUFFIXES: Mapping[str, tuple[str, ...]] = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
CREATED_SUFFIX = "_created"
_LEASE_POLL_SECONDS = 0.02


class LeaseTimeout(Exception):
    """Another process held the group's push lease for the whole wait."""


def group_key(group: Mapping[str, str]) -> str:
    """The store key of a Pushgateway group: its grouping labels, sorted (`scraper=bdl_games`)."""
    return ",".join(f"{name}={value}" for name, value in sorted(group.items()))


def series_id(name: str, labels: Mapping[str, str]) -> str:
    return json.dumps([name, sorted(labels.items())], separators=(",", ":"))


def _parse_series_id(raw: str) -> tuple[str, dict[str, str]]:
    name, pairs = json.loads(raw)
    return str(name), {str(k): str(v) for k, v in pairs}


def without_created(family: Metric) -> Metric:
    """The family without its `_created` sample(s): a timestamp per series that doubles the lines."""
    if family.type not in COUNTING_SUFFIXES:
        return family
    created = family.name + CREATED_SUFFIX
    return _copy(family, (sample for sample in family.samples if sample.name != created))


SeriesFilter = Callable[[Metric, Sample], bool]


def group_families(
    registry: CollectorRegistry, group: Mapping[str, str], keep: SeriesFilter | None = None
) -> list[Metric]:
    """The registry's families as one group pushes them: no `_created`, and no series whose label
    names another group (the Pushgateway would overwrite that label with the group's value), nor
    one that `keep` refuses. Every family stays, if empty, so the group's totals of it are pushed."""

    def belongs(family: Metric, sample: Sample) -> bool:
        if not all(sample.labels.get(name, value) == value for name, value in group.items()):
            return False
        return keep is None or keep(family, sample)

    families = []
    for family in registry.collect():
        family = without_created(family)
        families.append(_copy(family, (sample for sample in family.samples if belongs(family, sample))))
    return families


def counting(family: Metric) -> bool:
    """Whether the family's samples add up across processes (totalled), rather than being a view."""
    return family.type in COUNTING_SUFFIXES


def counting_samples(families: Iterable[Metric]) -> dict[str, float]:
    """Every counting sample of the families, by series id."""
    values: dict[str, float] = {}
    for family in families:
        suffixes = COUNTING_SUFFIXES.get(family.type, ())
        for sample in family.samples:
            if any(sample.name == family.name + suffix for suffix in suffixes):
                values[series_id(sample.name, sample.labels)] = sample.value
    return values


async def fold(
    store: StateStore, group: Mapping[str, str], families: list[Metric], folded: dict[str, float]
) -> None:
    """Add what the counting samples gained since the last fold to the group's totals.

    `folded` is what this process already added (it lives on FleetMetrics); it is updated only once
    the store took the addition, so a failed fold is retried whole by the next one. Unchanged series
    are added as 0, so a series exists in the totals from the first push that knows it.
    """
    current = counting_samples(families)
    deltas = {sid: value - folded.get(sid, 0.0) for sid, value in current.items()}
    await add_totals(store, TOTALS_NAMESPACE, group_key(group), deltas)
    folded.update(current)


async def totals_registry(
    store: StateStore, group: Mapping[str, str], families: list[Metric]
) -> CollectorRegistry:
    """What the group pushes: its gauges as this process has them, its counting series as totals.

    Totals of a family this process's code does not have (renamed in a newer release) are left out.
    """
    stored = await store.get(TOTALS_NAMESPACE, group_key(group)) or {}
    owner: dict[str, Metric] = {}
    for family in families:
        for suffix in COUNTING_SUFFIXES.get(family.type, ()):
            owner[family.name + suffix] = family
    by_family: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for raw, value in stored.items():
        name, labels = _parse_series_id(raw)
        known = owner.get(name)
        if known is not None:
            by_family.setdefault(known.name, []).append((name, labels, float(value)))
    pushed = []
    for family in families:
        if family.type not in COUNTING_SUFFIXES:
            pushed.append(family)
            continue
        totals = sorted(by_family.get(family.name, []), key=lambda item: _exposition_order(family, item))
        rebuilt = Metric(family.name, family.documentation, family.type, family.unit)
        for name, labels, value in totals:
            rebuilt.add_sample(name, labels, value)
        pushed.append(rebuilt)
    return registry_of(pushed)


@asynccontextmanager
async def group_lease(
    store: StateStore, group: Mapping[str, str], *, hold_seconds: float, wait_seconds: float
) -> AsyncIterator[None]:
    """Hold the group's push lease (at most `hold_seconds`, then it expires); wait for it at most
    `wait_seconds`, polling, then raise LeaseTimeout."""
    key, owner = group_key(group), secrets.token_hex(8)
    deadline = time.monotonic() + wait_seconds
    while not await acquire_lease(store, LEASE_NAMESPACE, key, owner, hold_seconds):
        if time.monotonic() > deadline:
            raise LeaseTimeout(f"another process held the push lease of {key} for {wait_seconds:g}s")
        await asyncio.sleep(_LEASE_POLL_SECONDS)  # the poll interval of a lease held for milliseconds
    try:
        yield
    finally:
        await release_lease(store, LEASE_NAMESPACE, key, owner)


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def registry_of(families: Iterable[Metric]) -> CollectorRegistry:
    """A registry exposing exactly these families (for push_to_gateway and generate_latest)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return registry


def _copy(family: Metric, samples: Iterable[Sample]) -> Metric:
    copy = Metric(family.name, family.documentation, family.type, family.unit)
    copy.samples = list(samples)
    return copy


def _exposition_order(family: Metric, item: tuple[str, dict[str, str], float]) -> tuple[object, ...]:
    """Series by labels; within a histogram series, buckets by bound, then count and sum."""
    name, labels, _ = item
    rest = sorted((k, v) for k, v in labels.items() if k != "le")
    suffixes = COUNTING_SUFFIXES[family.type]
    position = next(i for i, suffix in enumerate(suffixes) if name == family.name + suffix)
    bound = float(labels["le"]) if "le" in labels else 0.0
    return (rest, position, bound)
