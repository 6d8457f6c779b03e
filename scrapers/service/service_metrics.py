"""The service's own series, in the fleet's registry so GET /metrics serves one exposition."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge

from scrapers.metrics.fleet import FleetMetrics

# Bounded: one value per way a request can be turned away.
REJECTIONS = (
    "bad_request",
    "unauthorized",
    "not_found",
    "slow_body",
    "too_large",
    "in_flight_cap",
    "shutting_down",
)
_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "bad_request",
    408: "slow_body",
    413: "too_large",
    429: "in_flight_cap",
    503: "shutting_down",
}


class ServiceMetrics:
    def __init__(self, metrics: FleetMetrics, in_flight: Callable[[], float]) -> None:
        self.in_flight = Gauge(
            "scraper_service_runs_in_flight",
            "Runs the trigger service admitted and has not finished (queued or running)",
            registry=metrics.registry,
        )
        self.in_flight.set_function(in_flight)
        self.rejected = Counter(
            "scraper_service_rejected_requests",
            "Requests the trigger service answered without starting a run, by reason",
            ["reason"],
            registry=metrics.registry,
        )
        for reason in REJECTIONS:
            self.rejected.labels(reason)

    def reject(self, status: int) -> None:
        reason = _BY_STATUS.get(status)
        if reason is not None:
            self.rejected.labels(reason).inc()
