"""How runs are wired: output, state store, proxies, metrics and the one Fetcher of a process.

`scrapers run`, `demo`, `record`, `run-many` and `serve` open one `Core` and run every job through
it, so a service process shares one set of HTTP clients, limiters, breakers and metrics across all
of its requests, exactly as a one-job container does for its single job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import httpx

from proxy.config import DIRECT_ONLY, ProxyConfigError, load_proxy_config
from proxy.state import MemoryStore, StateConfigError, StateStore, StateStoreError, open_store
from scrapers.core.clock import Clock, SystemClock
from scrapers.core.errors import AlreadyLandedError
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, ScraperEntry
from scrapers.core.result import RunResult
from scrapers.core.settings import Locations, Settings
from scrapers.http.fetch import Fetcher
from scrapers.metrics.exposition import MetricsNotPushed, push
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics
from scrapers.pipeline.ledger import JobId, Ledger
from scrapers.pipeline.outputs import RUNS_FOLDER, Output, open_output
from scrapers.pipeline.runner import RunContext
from scrapers.pipeline.settings import ServiceSettings

Warn = Callable[[str], None]


@dataclass
class Core:
    """Everything runs share in one process. Close it once, after the last run."""

    output: Output
    store: StateStore
    metrics: FleetMetrics
    fetcher: Fetcher
    context: RunContext
    redactor: Redactor
    execution: Mapping[str, str]
    pushgateway: str | None = None
    # The job ledger of this output (see ledger.py); None only for a Core assembled by hand.
    ledger: Ledger | None = None

    async def after_run(
        self,
        result: RunResult,
        warn: Warn,
        *,
        push_metrics: bool = True,
        job: JobId | None = None,
        push_budget: float | None = None,
    ) -> None:
        """The run's trail: the job's ledger entry, a summary beside the output, and (one-job
        containers) a Pushgateway push, within `push_budget` seconds when a stop bounds it."""
        if job is not None:
            await self.record(job, result, warn)
        summary = json.dumps({**result.to_dict(), **self.execution}, ensure_ascii=False, indent=2)
        try:
            await self.output.sink.create(
                f"{RUNS_FOLDER}/{result.scraper}/{result.run_id}.json",
                summary.encode("utf-8"),
                "application/json",
            )
        except (OSError, AlreadyLandedError) as exc:
            warn(self.redactor(f"run summary not written: {exc}"))
        if push_metrics and self.pushgateway:
            try:
                # The scraper's counter totals from the shared store, so containers add up.
                await push(
                    self.metrics,
                    self.store,
                    self.pushgateway,
                    {"scraper": result.scraper},
                    budget_seconds=push_budget,
                )
            except (OSError, MetricsNotPushed) as exc:  # urllib's URLError/HTTPError are OSErrors
                warn(self.redactor(f"metrics not pushed to {self.pushgateway}: {exc}"))

    async def record(self, job: JobId, result: RunResult, warn: Warn) -> None:
        """The run's status becomes its job's latest in the ledger, mirrored beside the data.

        Bookkeeping never changes a run's outcome: a ledger that cannot be written is a warning
        (the job then looks unfinished and a backfill runs it again; landing stays create-only).
        """
        if self.ledger is None:
            return
        try:
            entry = await self.ledger.record(job, result)
        except StateStoreError as exc:
            warn(self.redactor(f"job ledger not written to the state store: {exc}"))
            return
        try:
            await self.ledger.mirror(entry)
        except OSError as exc:
            warn(self.redactor(f"job ledger not mirrored beside the data: {exc}"))

    async def aclose(self) -> None:
        try:
            await self.fetcher.aclose()
        finally:
            try:
                await self.store.aclose()
            finally:
                try:
                    if self.ledger is not None and self.ledger.store is not self.store:
                        await self.ledger.store.aclose()
                finally:
                    self.output.close()


async def open_core(
    registry: Registry,
    where: Locations,
    scrapers: Iterable[ScraperEntry],
    transport: httpx.AsyncBaseTransport | None,
    redactor: Redactor,
    *,
    replay: bool,
    clock: Clock | None = None,
    trigger_source: str | None = None,
    env: Settings,
) -> Core:
    """Open the output, state store, proxies and fetcher; `scrapers` get zero-initialised metrics.

    Replay is side-effect free: no shared state file, no proxies, no throttle, no secrets. Live runs
    remember breakers, tier scores and learned rates in the state store (SQLite by default,
    COURTSIDE_STATE to change). `env` is the process's settings, read once from its environment.
    """
    for name, secret in env.named_secrets().items():
        redactor.add(secret, name)  # masked from the first log line on, used or not
    output = open_output(where.out, env)
    store: StateStore | None = None
    ledger_store: StateStore | None = None
    try:
        store = MemoryStore() if replay else open_store(env.state)
        ledger_store = open_ledger_store(env, replay) if replay else store
        proxies = DIRECT_ONLY if replay else load_proxy_config(env.proxies_file)
        for variable in {
            p.credentials_env for tier in proxies.tiers for p in tier.proxies if p.credentials_env
        }:
            # Proxy passwords too, by their variable: the fetcher registers one only once it is used.
            credentials = env.secret(variable)
            if credentials and ":" in credentials:
                redactor.add(credentials.partition(":")[2], variable)
        metrics = FleetMetrics(revision=env.git_commit)
        metrics.initialise(
            [(entry.name, entry.source) for entry in scrapers],
            proxies.names(),
            [(tier.name, proxy.name) for tier in proxies.tiers for proxy in tier.proxies],
            proxies.costs(),
        )
        fetcher = Fetcher(
            transport=transport,
            store=store,
            proxies=proxies,
            redactor=redactor,
            upstream_overrides=env.upstreams,
            # API keys and proxy credentials come from the same settings as everything else.
            secrets=env.secret,
            # Replay serves recordings that never held secrets, so no key is needed to run the demo.
            require_secrets=not replay,
            throttle=not replay,
            observer=FetchMetrics(metrics),
        )
    except BaseException:
        if ledger_store is not None and ledger_store is not store:
            await ledger_store.aclose()
        if store is not None:
            await store.aclose()
        output.close()
        raise
    # A Cloud Run task's execution, so a failed task of a big execution can be found from its event.
    execution = env.execution
    output.delivery.tags = execution
    context = RunContext(
        registry=registry,
        fetcher=fetcher,
        sink=output.sink,
        events=output.delivery,
        redactor=redactor,
        trigger_source=trigger_source or ("replay" if replay else "cli"),
        clock=clock or SystemClock(),
        metrics=metrics,
    )
    assert ledger_store is not None  # set together with `store`, before anything could raise
    ledger = Ledger(ledger_store, where.out, output.sink)
    return Core(output, store, metrics, fetcher, context, redactor, execution, env.pushgateway, ledger)


def open_ledger_store(env: Settings, replay: bool) -> StateStore:
    """Where the job ledger lives: the state store. A replay keeps breakers and limits in memory,
    but honours a store named explicitly (COURTSIDE_STATE) for its ledger, so a replayed backfill
    resumes and a fleet of replaying workers agrees on what is done."""
    return MemoryStore() if replay and not env.state else open_store(env.state)


async def environment_problems(env: Settings, registry: Registry) -> list[str]:
    """What `scrapers check` finds in valid-typed settings before a run would: a state store URL
    that names no store, a proxies file that does not parse or whose credentials variables are not
    set, per-scraper limits naming no scraper. Nothing is connected to or created."""
    problems = ServiceSettings.from_settings(env).problems(registry)
    try:
        store = open_store(env.state)  # parses the URL; a store connects on first use only
    except StateConfigError as exc:
        problems.append(str(exc))
    else:
        await store.aclose()
    try:
        proxies = load_proxy_config(env.proxies_file)
    except ProxyConfigError as exc:
        return [*problems, str(exc)]
    for endpoint in (endpoint for tier in proxies.tiers for endpoint in tier.proxies):
        try:
            endpoint.connect_url(env.secret)
        except ProxyConfigError as exc:
            problems.append(str(exc))
    return problems
