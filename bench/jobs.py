"""The jobs of a scenario, their ground truth, and the job plan every policy walks.

Ground truth comes from an oracle: each distinct job runs once through the real runner against
the fault-free fixtures, in process. A job whose oracle run succeeds has data (`exists`), one that
ends `no_data` has a positive empty answer (`empty`), one that fails `not_found` asks for data
that does not exist (`missing`). The oracle also counts the requests a fault-free run needs.

Every policy asks exactly the requests the fleet's scrapers plan (`requests` and `follow_ups`) and
judges records with the same parsers, so the policies differ only in how they fetch.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bench.scenario import Scenario, ScenarioError
from bench.simulator.fixtures import FixtureIndex, FixtureTransport
from scrapers.core.clock import FrozenClock
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import Registry
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.events.completion import CompletionMessage, Delivered
from scrapers.http.fetch import Fetcher
from scrapers.pipeline.runner import Job, RunContext, prepare, run_job

# Options are resolved on the demo's frozen clock: the night after the fixtures' game day.
RESOLVED_AT = datetime(2024, 1, 16, 3, 0, tzinfo=UTC)
# Secrets the scrapers ask for; the simulator ignores them (and fixtures never held them).
FAKE_SECRETS = {"BETTINGPROS_API_KEY": "bench", "ODDS_API_KEY": "bench", "BDL_API_KEY": "bench"}
# Run statuses that landed records: a data-quality `partial` still fetched the data.
LANDED_WITH_DATA = frozenset({"success", "partial"})


class Truth(StrEnum):
    EXISTS = "exists"  # the data exists: the right answer is success
    EMPTY = "empty"  # the source positively says there is nothing: the right answer is no_data
    MISSING = "missing"  # the data does not exist (404): the right answer is a not_found failure


@dataclass(frozen=True)
class BenchJob:
    index: int  # position in the run order (the same for every policy)
    job: Job
    truth: Truth
    need: int  # requests a fault-free run needs
    hosts: tuple[str, ...]

    @property
    def scraper(self) -> str:
        return self.job.entry.name


class NullSink:
    """Landing is not what is measured: accept every document, keep nothing."""

    def uri(self, path: str) -> str:
        return f"bench://{path}"

    async def create(self, path: str, data: bytes, content_type: str) -> str:
        return self.uri(path)

    async def write(self, path: str, data: bytes, content_type: str) -> str:
        return self.uri(path)

    async def read(self, path: str) -> bytes | None:
        return None

    async def prune(self, folder: str, older_than: float) -> int:
        return 0


class NullEvents:
    """Delivery is not what is measured either: every completion is accepted and dropped."""

    async def intend(self, message: CompletionMessage, source: str, landing: Mapping[str, str]) -> None:
        return None

    async def publish(self, message: CompletionMessage, source: str) -> str | None:
        return None

    async def interrupted(self, message: CompletionMessage, source: str) -> Delivered:
        return Delivered(message.to_dict(), None)


def expand(scenario: Scenario, registry: Registry) -> list[Job]:
    """Every job `count` times, in one seeded shuffle: the run order of every policy."""
    clock = FrozenClock(RESOLVED_AT)
    jobs: list[Job] = []
    for spec in scenario.jobs:
        try:
            job = prepare(registry, spec.scraper, spec.options, clock)
        except Exception as exc:  # noqa: BLE001 - any bad job spec is a scenario error, named
            raise ScenarioError(f"{scenario.path}: job {spec.scraper} {dict(spec.options)}: {exc}") from None
        jobs.extend([job] * spec.count)
    random.Random(scenario.seed).shuffle(jobs)
    return jobs


@dataclass(frozen=True)
class Verdict:
    truth: Truth
    need: int
    hosts: tuple[str, ...]


async def oracle(scenario: Scenario, registry: Registry, index: FixtureIndex) -> list[BenchJob]:
    """Run each distinct job once, fault-free and in process; check `expect:` where given."""
    jobs = expand(scenario, registry)
    expected = {
        prepare(registry, spec.scraper, spec.options, FrozenClock(RESOLVED_AT)).key: spec.expect
        for spec in scenario.jobs
    }
    transport = FixtureTransport(index)
    fetcher = Fetcher(transport=transport, require_secrets=False, throttle=False)
    ctx = RunContext(
        registry=registry,
        fetcher=fetcher,
        sink=NullSink(),
        events=NullEvents(),
        clock=FrozenClock(RESOLVED_AT),
    )
    verdicts: dict[str, Verdict] = {}
    try:
        for job in jobs:
            if job.key in verdicts:
                continue
            transport.hosts.clear()
            result = await run_job(job, ctx)
            if result.status.value in LANDED_WITH_DATA:
                truth = Truth.EXISTS
            elif result.status is RunStatus.NO_DATA:
                truth = Truth.EMPTY
            elif result.failure_class is Outcome.NOT_FOUND:
                truth = Truth.MISSING
            else:
                raise ScenarioError(
                    f"{scenario.path}: job {job.key} fails even without faults: {result.error_message}"
                )
            want = expected.get(job.key)
            if want is not None and want != _EXPECT[truth]:
                raise ScenarioError(
                    f"{scenario.path}: job {job.key} expects {want}, the fixtures give {_EXPECT[truth]}"
                )
            verdicts[job.key] = Verdict(truth, len(transport.hosts), tuple(dict.fromkeys(transport.hosts)))
    finally:
        await fetcher.aclose()
    return [
        BenchJob(i, job, verdicts[job.key].truth, verdicts[job.key].need, verdicts[job.key].hosts)
        for i, job in enumerate(jobs)
    ]


_EXPECT = {Truth.EXISTS: "success", Truth.EMPTY: "no_data", Truth.MISSING: "not_found"}


def host_sources(jobs: Sequence[BenchJob]) -> dict[str, str]:
    """Which registry source talks to which host (for `fleet_rate_fraction`)."""
    return {host: job.job.entry.source for job in jobs for host in job.hosts}


# --- the job plan, for the policies that are not the fleet's runner ------------------------------

FetchPage = Callable[[Request], Awaitable[Page]]


def follow_ups(scraper: Scraper[Any], opts: Any, page: Page) -> list[Request]:
    try:
        return list(scraper.follow_ups(opts, page))
    except ScrapeError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ScrapeError(Outcome.STRUCTURAL, f"cannot plan the next requests: {exc}") from exc


async def walk(
    scraper: Scraper[Any], opts: Any, fetch: FetchPage, *, concurrent: bool, between: float = 0.0
) -> list[Page]:
    """Fetch the plan in the runner's page order: a chain, then its fan-out.

    `concurrent` fans out like the fleet's runner; otherwise one request after another (a thread
    of the old platform), sleeping `between` wall seconds before each follow-up request.
    """

    async def chain(request: Request) -> list[Page]:
        pages: list[Page] = []
        while True:
            page = await fetch(request)
            pages.append(page)
            following = follow_ups(scraper, opts, page)
            if len(following) != 1:
                break
            request = following[0]
            if between:
                await asyncio.sleep(between)
        if following:
            pages.extend(
                page for pages_ in await _each(following, chain, concurrent, between) for page in pages_
            )
        return pages

    return [page for pages in await _each(scraper.requests(opts), chain, concurrent, 0.0) for page in pages]


async def _each(
    requests: Sequence[Request],
    chain: Callable[[Request], Coroutine[Any, Any, list[Page]]],
    concurrent: bool,
    between: float,
) -> list[list[Page]]:
    if concurrent:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(chain(request)) for request in requests]
        except* ScrapeError as failures:
            # As the runner: the first classified failure fails the job (the others were cancelled).
            raise failures.exceptions[0] from None
        return [task.result() for task in tasks]
    results = []
    for request in requests:
        if between:
            await asyncio.sleep(between)
        results.append(await chain(request))
    return results


def parse(scraper: Scraper[Any], opts: Any, pages: Sequence[Page], run_id: str) -> Parsed:
    try:
        return scraper.parse(opts, pages, ParseContext(fetched_at=RESOLVED_AT, run_id=run_id))
    except ScrapeError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ScrapeError(Outcome.STRUCTURAL, f"body has an unexpected shape: {exc}") from exc


def scraper_and_options(job: Job) -> tuple[Scraper[Any], Any]:
    scraper = job.entry.create()
    return scraper, scraper.options_type(**job.options)


def status_of(parsed: Parsed) -> RunStatus:
    return RunStatus.SUCCESS if parsed.record_count > 0 else RunStatus.NO_DATA
