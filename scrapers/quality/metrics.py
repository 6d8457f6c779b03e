"""A run's verdict into the fleet metrics: checks run and failed by scraper and check."""

from __future__ import annotations

import time

from scrapers.core.result import RunResult
from scrapers.core.verdict import Status
from scrapers.metrics.fleet import FleetMetrics


def record_quality(metrics: FleetMetrics, result: RunResult) -> None:
    verdict = result.quality
    if verdict is None:
        return  # nothing was parsed, so nothing was checked
    scraper = result.scraper
    for check in verdict.checks:
        metrics.quality_checks.labels(scraper, check.name).inc()
        # Created at zero the first time a check runs, so a later failure is an increase.
        failed = metrics.quality_failed_checks.labels(scraper, check.name)
        if check.status is Status.FAIL:
            failed.inc()
    metrics.quality_verdicts.labels(scraper, verdict.status.value).inc()
    if verdict.status is Status.FAIL:
        metrics.quality_last_fail.labels(scraper).set(time.time())
