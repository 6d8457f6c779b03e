"""Run-level metrics, including the false-positive bookkeeping that spans processes."""

from __future__ import annotations

import time

from proxy.state import StateStore
from scrapers.core.outcome import RunStatus
from scrapers.core.result import RunResult
from scrapers.http.attempts import AttemptLog
from scrapers.metrics.fleet import FleetMetrics

FAILED_JOBS_NAMESPACE = "failed_jobs"
LAST_SUCCESS_NAMESPACE = "last_success"
# A failure not recovered within a week is not "recovered" by a run much later.
FAILED_JOB_MEMORY_SECONDS = 7 * 24 * 3600.0


async def record_run(
    metrics: FleetMetrics,
    store: StateStore,
    result: RunResult,
    job_key: str,
    log: AttemptLog,
    landed_bytes: int,
) -> None:
    scraper = result.scraper
    now = time.time()
    metrics.runs.labels(scraper, result.status.value).inc()
    metrics.last_run.labels(scraper).set(now)
    if result.status is RunStatus.FAILED:
        metrics.failed_runs.labels(scraper, result.error_type or "unknown").inc()
        # A one-job container that fails would otherwise push no last-success series at all, and
        # the stale-scraper alert could never fire for the scraper that needs it most.
        last = await store.get(LAST_SUCCESS_NAMESPACE, scraper)
        if last is not None:
            metrics.last_success.labels(scraper).set(float(last["at"]))
        # Remember the failed key so a later success of the same job (any process) counts as recovered.
        await store.put(
            FAILED_JOBS_NAMESPACE, job_key, {"failed_at": now}, ttl_seconds=FAILED_JOB_MEMORY_SECONDS
        )
        return
    metrics.last_success.labels(scraper).set(now)
    await store.put(LAST_SUCCESS_NAMESPACE, scraper, {"at": now})
    metrics.landed_bytes.labels(scraper).inc(landed_bytes)
    metrics.landed_records.labels(scraper).inc(result.record_count)
    if result.status is RunStatus.NO_DATA and not _clean_evidence(result, log):
        metrics.suspicious_no_data.labels(scraper).inc()
    # partial landed the data too (with a failed quality verdict): the fetch recovered.
    fetched = result.status in (RunStatus.SUCCESS, RunStatus.PARTIAL)
    if fetched and await store.delete(FAILED_JOBS_NAMESPACE, job_key):
        metrics.recovered.labels(scraper).inc()


def _clean_evidence(result: RunResult, log: AttemptLog) -> bool:
    """no_data needs a reason and at least one clean response behind it."""
    return bool(result.no_data_reason) and any(attempt.outcome.is_clean for attempt in log.attempts)
