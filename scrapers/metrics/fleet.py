"""The fleet's Prometheus metrics, in one registry object (never the global default registry).

Labels are bounded: scraper and source names from registry.yaml, tier and proxy names from the
proxies file, hosts from the source policies, outcome classes from the taxonomy. Never URLs,
ids or proxy URLs.

False positives, as counted here:
* share: failed runs whose class is blocked, proxy, rate_limited or transient, over all failed
  runs (a PromQL ratio of `scraper_failed_runs_total`; see dashboards/);
* recovered failures: a failed job key that a later run of the same key fetched successfully
  (`scraper_recovered_failures_total`; the failed keys live in the shared state store, so this
  works across one-job containers);
* suspicious no_data: a `no_data` run whose evidence is not a clean response. Must stay zero; it
  is counted so a regression shows.

Data quality (scrapers/quality): checks run and failed by scraper and check (check names are fixed
strings in each source's validators, so the label stays bounded), runs by verdict, and the time of
the last `fail` verdict (a gauge, so a one-job container's push still shows it).

Proxy spend: requests and response bytes per tier (`scraper_proxy_requests_total`,
`scraper_proxy_bytes_total`, every attempt, answered or not) and each tier's cost weight from the
proxies file (`scraper_proxy_tier_cost`, one request through the tier in datacenter requests). The
weighted cost is sum(requests x cost):

    sum(sum by (tier) (increase(scraper_proxy_requests_total[1d]))
        * on (tier) max by (tier) (scraper_proxy_tier_cost))

The weight is a gauge rather than a number written into that query so it has one source, the
proxies file: a query with the weights spelled out goes wrong silently the day the file changes.

Build and process: `scraper_build_info` (1, labelled with the package version, the git revision
when the deployment sets COURTSIDE_GIT_COMMIT, and Python's version) is a fleet series, pushed with
every group so the gateway shows which release each scraper last ran. The process, Python-platform
and GC collectors live in a separate `runtime` registry: /metrics serves them, a push does not (a
finished container's CPU seconds and open files describe nothing that is still running).
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections import Counter as CounterOf
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from proxy.pool import ProxyBreaker
from scrapers.core.outcome import ATTEMPT_OUTCOMES, Outcome, RunStatus
from scrapers.core.verdict import Status
from scrapers.http.quota import QuotaReading

_Metric = TypeVar("_Metric", Counter, Gauge, Histogram)
FAILURE_CLASSES = tuple(outcome.value for outcome in Outcome if not outcome.is_clean)
BREAKER_STATES = ("closed", "open", "half-open")
# Request latency buckets: from a fast CDN answer to a residential proxy's 90 s timeout.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 45.0, 90.0)


UNKNOWN = "unknown"


def package_version() -> str:
    try:
        return importlib.metadata.version("courtside")
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN  # run from a source tree that was never installed


class FleetMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, *, revision: str | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.runtime = CollectorRegistry()
        ProcessCollector(registry=self.runtime)
        PlatformCollector(registry=self.runtime)
        GCCollector(registry=self.runtime)
        # What this process's counting series already added to the fleet totals, by series id
        # (scrapers/metrics/totals.py); a push adds only what they gained since.
        self.folded: dict[str, float] = {}
        r = self.registry
        self.build_info = Gauge(
            "scraper_build_info",
            "Always 1: the running release (package version, git revision, Python version)",
            ["version", "revision", "python_version"],
            registry=r,
        )
        self.build_info.labels(package_version(), revision or UNKNOWN, platform.python_version()).set(1)
        self.attempts = Counter(
            "scraper_attempts",
            "HTTP attempts by classified outcome",
            ["source", "tier", "outcome"],
            registry=r,
        )
        self.retries = Counter(
            "scraper_retries",
            "Attempts that were retries on the same route",
            ["source", "outcome"],
            registry=r,
        )
        self.request_duration = Histogram(
            "scraper_request_duration_seconds",
            "Duration of one HTTP attempt",
            ["source"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "scraper_requests_in_flight", "HTTP attempts in flight", ["source"], registry=r
        )
        # Attempts in flight by source, counted in plain ints that the gauge reads when scraped
        # (`count_in_flight`): a gauge update takes a label lookup and a lock, twice per attempt.
        self.in_flight_counts: dict[str, int] = {}
        self.tier_chosen = Counter(
            "scraper_proxy_tier_chosen", "Requests that started on a tier", ["source", "tier"], registry=r
        )
        self.proxy_requests = Counter(
            "scraper_proxy_requests",
            "Requests sent through a proxy tier (every attempt, answered or not)",
            ["tier"],
            registry=r,
        )
        self.proxy_bytes = Counter(
            "scraper_proxy_bytes",
            "Response bytes received through a proxy tier, as sent on the wire",
            ["tier"],
            registry=r,
        )
        self.tier_cost = Gauge(
            "scraper_proxy_tier_cost",
            "What one request through the tier weighs, in datacenter requests (the proxies file's cost)",
            ["tier"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "scraper_breaker_circuits",
            "Circuits (one per proxy and target host) in each state",
            ["tier", "provider", "state"],
            registry=r,
        )
        self.breaker_transitions = Counter(
            "scraper_breaker_transitions",
            "Circuit state changes",
            ["tier", "provider", "to_state"],
            registry=r,
        )
        self.limiter_rate = Gauge(
            "scraper_limiter_rate_requests_per_second",
            "Current adaptive rate limit",
            ["source", "host"],
            registry=r,
        )
        self.quota_remaining = Gauge(
            "scraper_quota_remaining_requests", "Last x-requests-remaining seen", ["source"], registry=r
        )
        self.quota_used = Gauge(
            "scraper_quota_used_requests", "Last x-requests-used seen", ["source"], registry=r
        )
        self.runs = Counter("scraper_runs", "Finished runs by status", ["scraper", "status"], registry=r)
        self.failed_runs = Counter(
            "scraper_failed_runs", "Failed runs by failure class", ["scraper", "failure_class"], registry=r
        )
        self.recovered = Counter(
            "scraper_recovered_failures",
            "Failed job keys a later run of the same key fetched successfully",
            ["scraper"],
            registry=r,
        )
        self.suspicious_no_data = Counter(
            "scraper_suspicious_no_data",
            "no_data runs without a clean response as evidence (must stay 0)",
            ["scraper"],
            registry=r,
        )
        self.last_run = Gauge(
            "scraper_last_run_timestamp_seconds",
            "When the scraper last finished a run",
            ["scraper"],
            registry=r,
        )
        self.last_success = Gauge(
            "scraper_last_success_timestamp_seconds",
            "When the scraper last finished with success or no_data",
            ["scraper"],
            registry=r,
        )
        self.landed_bytes = Counter("scraper_landed_bytes", "Bytes landed", ["scraper"], registry=r)
        self.landed_records = Counter("scraper_landed_records", "Records landed", ["scraper"], registry=r)
        self.quality_checks = Counter(
            "scraper_quality_checks", "Data-quality checks run", ["scraper", "check"], registry=r
        )
        self.quality_failed_checks = Counter(
            "scraper_quality_failed_checks",
            "Data-quality checks with status fail",
            ["scraper", "check"],
            registry=r,
        )
        self.quality_verdicts = Counter(
            "scraper_quality_verdicts", "Runs by data-quality verdict", ["scraper", "status"], registry=r
        )
        self.quality_last_fail = Gauge(
            "scraper_quality_last_fail_timestamp_seconds",
            "When a run of the scraper last had a fail data-quality verdict",
            ["scraper"],
            registry=r,
        )

    def initialise(
        self,
        scrapers: Iterable[tuple[str, str]],
        tiers: Iterable[str],
        providers: Iterable[tuple[str, str]],
        costs: Mapping[str, float] | None = None,
    ) -> None:
        """Known label combinations start at zero, so rate() and absent() behave from the first scrape.

        `scrapers` are (name, source) pairs, `providers` (tier, proxy name) pairs, `costs` each
        tier's cost weight (proxy.config.ProxyConfig.costs).
        """
        tier_names = list(tiers)
        for tier in tier_names:
            self.proxy_requests.labels(tier)
            self.proxy_bytes.labels(tier)
        for tier, cost in (costs or {}).items():
            self.tier_cost.labels(tier).set(cost)
        for scraper, source in scrapers:
            for status in RunStatus:
                self.runs.labels(scraper, status.value)
            for failure_class in FAILURE_CLASSES:
                self.failed_runs.labels(scraper, failure_class)
            self.recovered.labels(scraper)
            self.suspicious_no_data.labels(scraper)
            self.landed_bytes.labels(scraper)
            self.landed_records.labels(scraper)
            for verdict in Status:
                self.quality_verdicts.labels(scraper, verdict.value)
            for tier in tier_names:
                self.tier_chosen.labels(source, tier)
                for outcome in ATTEMPT_OUTCOMES:
                    self.attempts.labels(source, tier, outcome.value)
            self.in_flight.labels(source)
        for tier, provider in providers:
            for state in BREAKER_STATES:
                self.breaker_state.labels(tier, provider, state)
                self.breaker_transitions.labels(tier, provider, state)

    def count_in_flight(self, source: str) -> dict[str, int]:
        """Make the in-flight gauge of `source` read `in_flight_counts[source]`; return the counts."""
        counts = self.in_flight_counts
        if source not in counts:
            counts[source] = 0
            self.in_flight.labels(source).set_function(lambda: counts[source])
        return counts


class _Children(Generic[_Metric]):
    """One metric's children by label values, for the series the core touches on every attempt:
    prometheus_client's labels() validates, converts and takes a lock on each call, and an attempt
    makes several. Bounded like the labels (sources, tiers, outcomes); nothing removes a child from
    these metrics, so a remembered one stays the registry's."""

    def __init__(self, metric: _Metric) -> None:
        self._metric: _Metric = metric
        self._by_values: dict[tuple[str, ...], _Metric] = {}

    def __call__(self, *values: str) -> _Metric:
        child = self._by_values.get(values)
        if child is None:
            child = self._by_values[values] = self._metric.labels(*values)
        return child


class FetchMetrics:
    """The HTTP core's observer (scrapers.http.observer.FetchObserver) writing to FleetMetrics."""

    def __init__(self, metrics: FleetMetrics) -> None:
        self.metrics = metrics
        # The series every attempt touches, their children remembered by label values.
        self._tier_chosen = _Children(metrics.tier_chosen)
        self._in_flight = metrics.in_flight_counts  # read by the gauge when scraped
        self._attempts = _Children(metrics.attempts)
        self._request_duration = _Children(metrics.request_duration)
        self._proxy_requests = _Children(metrics.proxy_requests)
        self._proxy_bytes = _Children(metrics.proxy_bytes)

    def tier_chosen(self, source: str, tier: str) -> None:
        self._tier_chosen(source, tier).inc()

    def retry_granted(self, source: str, outcome: Outcome) -> None:
        self.metrics.retries.labels(source, outcome.value).inc()

    def attempt_started(self, source: str) -> None:
        counts = self._in_flight
        if source not in counts:
            counts = self.metrics.count_in_flight(source)
        counts[source] += 1

    def attempt_ended(self, source: str) -> None:
        self._in_flight[source] -= 1

    def attempt_classified(self, source: str, tier: str, outcome: Outcome, seconds: float) -> None:
        self._attempts(source, tier, outcome.value).inc()
        self._request_duration(source).observe(seconds)

    def tier_traffic(self, tier: str, downloaded: int) -> None:
        self._proxy_requests(tier).inc()
        if downloaded:
            self._proxy_bytes(tier).inc(downloaded)

    def breakers_changed(self, breakers: Iterable[ProxyBreaker]) -> None:
        """Circuits per (tier, provider, state) among the breakers this process knows."""
        counts: CounterOf[tuple[str, str, str]] = CounterOf()
        providers: set[tuple[str, str]] = set()
        for breaker in breakers:
            providers.add((breaker.endpoint.tier, breaker.endpoint.name))
            counts[(breaker.endpoint.tier, breaker.endpoint.name, breaker.state)] += 1
        for tier, provider in providers:
            for state in BREAKER_STATES:
                self.metrics.breaker_state.labels(tier, provider, state).set(counts[(tier, provider, state)])

    def breaker_transition(self, tier: str, provider: str, state: str) -> None:
        self.metrics.breaker_transitions.labels(tier, provider, state).inc()

    def quota_read(self, source: str, reading: QuotaReading) -> None:
        if reading.remaining is not None:
            self.metrics.quota_remaining.labels(source).set(reading.remaining)
        if reading.used is not None:
            self.metrics.quota_used.labels(source).set(reading.used)

    def limiter_rate(self, source: str, host: str, rate: float) -> None:
        self.metrics.limiter_rate.labels(source, host).set(rate)
