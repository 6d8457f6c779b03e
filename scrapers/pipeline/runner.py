"""The run: options -> requests -> fetch -> decode -> parse -> land -> publish, with a typed result.

Status is decided here from explicit values only: a failed fetch or parse carries its outcome
class; `no_data` needs a parser's positive evidence drawn from clean pages (a Page only exists for
a clean response, so exhausted retries can never turn into `no_data`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from proxy.state import StateStoreError
from scrapers.core.clock import Clock, SystemClock, eastern_today, utc_stamp
from scrapers.core.errors import AlreadyLandedError, InvalidOptions, OptionError, ReplayMissError, ScrapeError
from scrapers.core.options import option_to_text, resolve_options, shown
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.redact import MASK, Redactor, SecretScan, UnmaskableSecret
from scrapers.core.registry import Registry, ScraperEntry, placeholders
from scrapers.core.request import Page, Request
from scrapers.core.result import RunResult
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.core.verdict import Verdict
from scrapers.events.completion import CompletionMessage, EventSink
from scrapers.events.delivery import digest
from scrapers.events.outbox import OutboxError
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import JobBudget, SourcePolicy
from scrapers.metrics.fleet import FleetMetrics
from scrapers.metrics.runs import record_run
from scrapers.quality.metrics import record_quality
from scrapers.quality.verdict import evaluate, quality_status
from scrapers.sinks.base import Sink

# Guard: an upstream that keeps handing out cursors must not keep a job alive forever.
MAX_PAGES_PER_JOB = 2000
CONTENT_TYPES = {"json": "application/json", "pdf": "application/pdf"}
# What one placeholder of an object path may become: letters, digits, `_`, `-` and `.`, starting
# with a letter, digit or `_` (so never `.`, `..` or a hidden name), at most 128 characters.
SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Job:
    """A scraper with resolved options: everything needed to run, nothing fetched yet."""

    entry: ScraperEntry
    options: Mapping[str, Any]

    @property
    def key(self) -> str:
        """Stable identity of "the same job" (scraper + resolved options), e.g. for recovered failures."""
        texts = {name: option_to_text(value) for name, value in self.options.items()}
        return f"{self.entry.name}:{json.dumps(texts, sort_keys=True, separators=(',', ':'))}"

    def first_requests(self) -> Sequence[Request]:
        """What the job sends first (its secrets and hosts), planned without sending anything."""
        scraper = self.entry.create()
        return scraper.requests(scraper.options_type(**self.options))

    def option_texts(self) -> dict[str, Any]:
        return {name: option_to_text(value) for name, value in self.options.items() if value is not None}


def prepare(registry: Registry, name: str, raw_options: Mapping[str, object], clock: Clock) -> Job:
    """Resolve a scraper name and raw options; raises UnknownScraperError or InvalidOptions."""
    entry = registry.get(name)
    options = resolve_options(entry.options, raw_options, clock)
    try:
        entry.create().check_options(entry.load_class().options_type(**options))
    except OptionError as problem:
        raise InvalidOptions([problem]) from None
    return Job(entry=entry, options=options)


@dataclass
class RunContext:
    registry: Registry
    fetcher: Fetcher
    sink: Sink
    events: EventSink
    clock: Clock = field(default_factory=SystemClock)
    redactor: Redactor = field(default_factory=Redactor)
    trigger_source: str = "manual"
    workflow: str | None = None
    metrics: FleetMetrics | None = None
    new_run_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex[:8])
    # Told the result the run will have if its objects land, their paths and the timestamp that
    # names them, after the outbox intent and before anything lands: the job ledger keeps it, so a
    # claimant after a crash settles the job by what the dead run landed.
    landing_hook: Callable[[RunResult, Sequence[str], str], Awaitable[None]] | None = None
    # The timestamp a dead run of this job named its objects with (the job ledger kept it): this
    # run lands under the same names first, so an object the dead run landed (a gamebook's PDF) is
    # adopted when its bytes are the same, never landed a second time under a new name.
    landing_stamp: str | None = None

    def policy(self, source: str) -> SourcePolicy:
        return SourcePolicy.from_settings(source, self.registry.sources[source].settings)


@dataclass
class _Landing:
    paths: list[str] = field(default_factory=list)
    already_landed: bool = False
    new_bytes: int = 0


async def run_job(job: Job, ctx: RunContext) -> RunResult:
    run_id = ctx.new_run_id()
    started_wall = ctx.clock.now()
    started = ctx.clock.monotonic()
    log = AttemptLog()
    scraper = job.entry.create()
    opts = scraper.options_type(**job.options)
    game_date = _job_date(job, scraper, ctx.clock)
    landing = _Landing()
    parsed: Parsed | None = None
    verdict: Verdict | None = None
    failure: tuple[Outcome, str, str] | None = None
    masked: tuple[str, ...] = ()  # the variables whose values were masked out of what lands
    dropped = 0  # fan-out ids dropped for carrying a secret value

    def result(landed: Sequence[str], already_landed: bool) -> RunResult:
        status = (
            RunStatus.FAILED
            if failure
            else (RunStatus.NO_DATA if parsed and parsed.record_count == 0 else RunStatus.SUCCESS)
        )
        kept = parsed if parsed and not failure else None
        return RunResult(
            run_id=run_id,
            scraper=job.entry.name,
            source=job.entry.source,
            status=quality_status(status, verdict, job.entry.quality),
            record_count=kept.record_count if kept else 0,
            options=job.option_texts(),
            game_date=game_date,
            started_at=started_wall.isoformat(),
            duration_seconds=ctx.clock.monotonic() - started,
            attempts=log.summary(),
            landed=tuple(landed),
            already_landed=already_landed,
            failure_class=failure[0] if failure else None,
            error_type=failure[1] if failure else None,
            error_message=ctx.redactor(failure[2]) if failure else None,
            no_data_reason=kept.no_data_reason if kept else None,
            fan_out=kept.fan_out if kept else (),
            quality=verdict,
            metadata=_with_masked(kept.metadata, masked) if kept else {},
            warnings=(_masking_warning(masked, dropped),) if kept and masked else (),
        )

    async def intend(objects: Mapping[str, bytes], stamp: str) -> None:
        # The completion this run sends if these objects land, durable before any of them does.
        uris = [ctx.sink.uri(path) for path in objects]
        intended = result(uris, False)
        message = completion_message(intended, job, ctx)
        await ctx.events.intend(
            message, job.entry.source, {path: digest(data) for path, data in objects.items()}
        )
        if ctx.landing_hook is not None:
            await ctx.landing_hook(intended, list(objects), stamp)

    try:
        policy = ctx.policy(job.entry.source)
        first = scraper.requests(opts)
        # Raises MissingCredentialsError past this try: no run happens, so no completion is sent.
        ctx.fetcher.check_credentials(first)
        hosts = [request.host for request in first]
        await ctx.fetcher.quota.ensure_reserve(policy.quota, hosts, scraper.quota_cost(opts))
        # Up-front admission: a job too large for its deadline at its hosts' allowed rates fails
        # `infeasible` now, instead of fetching pages for minutes and throwing them away.
        ctx.fetcher.admit(first, scraper.minimum_requests(opts), policy)
        pages = await _fetch_all(scraper, opts, policy, log, ctx.fetcher.budget(policy), ctx)
        # Parses are pure but can be slow (a gamebook PDF takes ~80 ms): off the event loop, so a
        # service's other runs and its health checks are not held up.
        parse_ctx = ParseContext(fetched_at=ctx.clock.now(), run_id=run_id)
        parsed = await asyncio.to_thread(_parse, scraper, opts, pages, parse_ctx)
        # Data-quality checks never drop data, nor change what lands: the verdict travels in the
        # completion and the metrics, so downstream reads exactly the old platform's bytes.
        verdict = evaluate(type(scraper), parsed.document, job.option_texts())
        # A date the parse derived (a gamebook's game day from its game code) beats the run's date.
        game_date = parsed.path_values.get("date", game_date)
        document = _landed_bytes(scraper, parsed, pages)
        document, parsed, masked, dropped = _without_secrets(scraper, document, parsed, pages, ctx)
        await _not_abandoned(_land(job, document, parsed, game_date, ctx, landing, intend, run_id))
    except ScrapeError as exc:
        failure = (exc.outcome, exc.outcome.value, str(exc))
    except OutboxError as exc:
        # The intent could not be recorded, so nothing was landed: a document without its
        # completion is what this order exists to prevent.
        failure = (Outcome.LANDING, Outcome.LANDING.value, f"nothing landed, the outbox failed: {exc}")
    except OSError as exc:
        # The sink failed (disk full, permissions): not an upstream outcome, but still a failed run.
        failure = (Outcome.LANDING, Outcome.LANDING.value, f"landing failed: {exc}")
    except StateStoreError as exc:
        # The state store (breakers, limits, quota) is the fleet's own infrastructure: this run
        # could not be carried out now and a later one can, so it fails `transient`, with its
        # completion, instead of ending without one.
        failure = (Outcome.TRANSIENT, Outcome.TRANSIENT.value, f"state store unavailable: {exc}")

    final = result(landing.paths, landing.already_landed)
    warnings: list[str] = []
    if ctx.metrics:
        try:
            await record_run(ctx.metrics, ctx.fetcher.store, final, job.key, log, landing.new_bytes)
        except StateStoreError as exc:
            # Bookkeeping (recovered failures, last success) must never cost a landed document
            # its completion: the run's status stands, and the completion still goes out.
            warnings.append(ctx.redactor(f"run bookkeeping not written to the state store: {exc}"))
        record_quality(ctx.metrics, final)
    try:
        published = await ctx.events.publish(completion_message(final, job, ctx), final.source)
    except OutboxError as exc:
        # Our own storage is full or read-only and the publisher refused too: the completion could
        # be neither kept nor sent, so the run fails `landing` (exit 17) and says where it stopped.
        return dataclasses.replace(
            final,
            status=RunStatus.FAILED,
            failure_class=Outcome.LANDING,
            error_type=Outcome.LANDING.value,
            error_message=ctx.redactor(f"the completion could not be written: {exc}"),
            warnings=(*final.warnings, *warnings),
        )
    warnings += [published] if published else []
    return dataclasses.replace(final, warnings=(*final.warnings, *warnings)) if warnings else final


async def _not_abandoned(step: Coroutine[Any, Any, None]) -> None:
    """Run an irreversible step to its end even when the run is cancelled meanwhile (its deadline,
    shutdown), then let the cancellation through. An abandoned write would still complete in its
    thread after the cut-off had reported the document as not landed."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: the cut-off settles the run by what landed
        raise


async def _fetch_all(
    scraper: Scraper[Any],
    opts: Any,
    policy: SourcePolicy,
    log: AttemptLog,
    budget: JobBudget,
    ctx: RunContext,
) -> list[Page]:
    fetched = 0

    async def walk(request: Request) -> list[Page]:
        # Pagination (one follow-up) loops here; fan-out (several) fetches concurrently, since
        # the limiter and breakers already bound what reaches each host.
        nonlocal fetched
        pages: list[Page] = []
        while True:
            fetched += 1
            if fetched > MAX_PAGES_PER_JOB:
                raise ScrapeError(
                    Outcome.STRUCTURAL, f"more than {MAX_PAGES_PER_JOB} pages, last {request.describe()}"
                )
            page = await ctx.fetcher.fetch(request, policy, log, budget)
            pages.append(page)
            following = _follow_ups(scraper, opts, page)
            if len(following) != 1:
                break
            request = following[0]
        if following:
            pages.extend(page for chain in await _gather(walk(r) for r in following) for page in chain)
        return pages

    chains = await _gather(walk(request) for request in scraper.requests(opts))
    return [page for chain in chains for page in chain]


async def _gather(walks: Iterable[Coroutine[Any, Any, list[Page]]]) -> list[list[Page]]:
    """All chains in order, or the first classified failure (a failed page fails the job)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(walk) for walk in walks]
    except* ReplayMissError as misses:
        raise misses.exceptions[0] from None
    except* ScrapeError as failures:
        # Report the first classified failure; the others were cancelled or are of the same run.
        raise failures.exceptions[0] from None
    except* Exception as errors:  # noqa: BLE001 - re-raised unwrapped below, never swallowed
        # Anything else (a proxy credentials problem, an unreachable state store) surfaces as
        # itself, so the CLI and the service report it by type instead of as an ExceptionGroup.
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


def _follow_ups(scraper: Scraper[Any], opts: Any, page: Page) -> list[Request]:
    try:
        return list(scraper.follow_ups(opts, page))
    except ScrapeError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # Reading the next requests out of a body fails like this only when its shape changed.
        raise ScrapeError(
            Outcome.STRUCTURAL, f"cannot plan the next requests: {type(exc).__name__}: {exc}"
        ) from exc


def _parse(scraper: Scraper[Any], opts: Any, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
    try:
        return scraper.parse(opts, pages, ctx)
    except ScrapeError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # A pure parse over upstream data fails like this only when the body's shape changed.
        raise ScrapeError(
            Outcome.STRUCTURAL, f"body has an unexpected shape: {type(exc).__name__}: {exc}"
        ) from exc


def _landed_bytes(scraper: Scraper[Any], parsed: Parsed, pages: Sequence[Page]) -> bytes | None:
    """The bytes downstream reads at the object path; None when there is nothing to land."""
    if scraper.lands is Landing.DOCUMENT:
        return json.dumps(parsed.document, ensure_ascii=False).encode("utf-8")
    if len(pages) != 1:
        raise ValueError(f"{type(scraper).__name__} lands an upstream body but fetched {len(pages)} pages")
    # An empty body (HTTP 204) is not a JSON document: the old platform saved nothing, and neither
    # do we; the run still reports no_data with its reason, with no path.
    return pages[0].body or None


def _without_secrets(
    scraper: Scraper[Any], document: bytes | None, parsed: Parsed, pages: Sequence[Page], ctx: RunContext
) -> tuple[bytes | None, Parsed, tuple[str, ...], int]:
    """What lands, and the parse's facts the completion carries, with every configured secret
    value masked as `***`; the variables whose values were found; how many fan-out ids carrying
    one were dropped.

    An upstream may echo the key it was sent (a debug field, the request URL quoted back) inside a
    body that parses: landed, the key would reach everyone who reads the bucket. Masked here,
    before the intent records the objects' SHA-256, so intent, object and completion agree. JSON
    stays valid JSON (masked inside its strings); a PDF gets as many `*` as the bytes it loses.
    """
    scan = _secret_scan(ctx, pages)
    if not scan:
        return document, parsed, (), 0  # no secrets configured: nothing to look for
    found: set[str] = set()
    try:
        if document is not None:
            if scraper.lands is Landing.DOCUMENT:
                landed = scan.mask_json(document, canonical=True)
            else:
                page = pages[0]
                landed = (
                    scan.mask_json(document) if page.data is None else scan.mask_json(document, page.data)
                )
            document = landed.data
            found.update(landed.names)
    except UnmaskableSecret as exc:
        raise ScrapeError(Outcome.STRUCTURAL, f"{exc}; nothing landed") from None
    changes: dict[str, Any] = {}
    if parsed.raw_artifact is not None:
        artifact = scan.mask_opaque(parsed.raw_artifact)
        changes["raw_artifact"] = artifact.data
        found.update(artifact.names)
    # The completion is published and kept beside the data too: the facts and the reason a parse
    # drew from the body get the same mask.
    for name, value in (("metadata", dict(parsed.metadata)), ("no_data_reason", parsed.no_data_reason)):
        facts = scan.mask_value(value)
        if facts.names:
            changes[name] = facts.data
            found.update(facts.names)
    # A fan-out id is a child's option, and so its object path and its completion: one carrying a
    # key (an Odds API key and an event id are both 32 hex digits) is dropped, not masked, since a
    # child asked for `***` would fetch nothing real.
    kept_refs = []
    for ref in parsed.fan_out:
        names = scan.mask_value(ref.to_dict()).names
        found.update(names)
        if not names:
            kept_refs.append(ref)
    dropped = len(parsed.fan_out) - len(kept_refs)
    if dropped:
        changes["fan_out"] = tuple(kept_refs)
    masked = dataclasses.replace(parsed, **changes) if changes else parsed
    return document, masked, tuple(sorted(found)), dropped


def _secret_scan(ctx: RunContext, pages: Sequence[Page]) -> SecretScan:
    """Every secret value the run knows, by its variable: the process's configured ones (named
    when the core opened), the key each fetched request carried (by its SecretRef, whether it went
    in a header or the query) and whatever the fetcher registered (proxy passwords)."""
    redactor = ctx.redactor
    for variable in {ref.env for page in pages for ref in page.request.secrets}:
        value = ctx.fetcher.secrets(variable)
        if value:
            redactor.add(value, variable)
    if ctx.fetcher.redactor is not redactor:
        for value, name in ctx.fetcher.redactor.named.items():
            redactor.add(value, name)
    return redactor.scan()


def _with_masked(metadata: Mapping[str, Any], variables: Sequence[str]) -> Mapping[str, Any]:
    """The completion's metadata names the variables whose values were masked (never the values),
    so a consumer knows the document was changed and the owner of the key that it leaked upstream."""
    return {**metadata, "masked_secrets": list(variables)} if variables else metadata


def _masking_warning(variables: Sequence[str], dropped: int) -> str:
    names = ", ".join(variables)
    warning = f"the upstream's body carried the value of {names}: masked as {MASK} before landing"
    if dropped:
        ids = "id" if dropped == 1 else "ids"
        warning += f"; {dropped} fan-out {ids} carrying it dropped (no child runs for it)"
    return warning


async def _land(
    job: Job,
    document: bytes | None,
    parsed: Parsed,
    game_date: str,
    ctx: RunContext,
    landing: _Landing,
    intend: Callable[[Mapping[str, bytes], str], Awaitable[None]],
    run_id: str,
) -> None:
    if document is None:
        return
    values = {name: str(value) for name, value in job.option_texts().items() if not isinstance(value, list)}
    values.update({**parsed.path_values, "date": game_date})
    template = _with_entity(job.entry, values)
    _check_segments(job.entry, template, values)
    stamp = utc_stamp(ctx.clock.now())
    raw = parsed.raw_artifact if job.entry.raw_path else None
    # The object's second first (the contract's name); when another document holds it, this run's
    # own id after it: unique, so any number of runs can land in one second, and never a name
    # from the future (the old bump to the next second did both wrong). A run resuming a dead
    # run's landing tries that run's names before either.
    stamps = dict.fromkeys(s for s in (ctx.landing_stamp, stamp, f"{stamp}-{run_id}") if s)
    for values["timestamp"] in stamps:
        path = template.format(**values)
        objects = {path: document}
        raw_path = job.entry.raw_path.format(**values) if raw is not None and job.entry.raw_path else None
        if raw is not None and raw_path is not None:
            objects[raw_path] = raw
        await intend(objects, values["timestamp"])
        # The document lands last: it is the job's commit. A document that landed means every
        # object its run declared (the PDF beside a gamebook) landed before it, so a run killed
        # between the two leaves no document, and whoever runs the job next lands the rest.
        if raw is not None and raw_path is not None:
            raw_uri = await _create_or_same(ctx, raw_path, raw, CONTENT_TYPES["pdf"], landing)
            if raw_uri is None:
                continue  # another run's artifact holds the name: both go under the next one
            landing.paths.append(raw_uri)  # landed, whatever becomes of the document
        uri = await _create_or_same(ctx, path, document, CONTENT_TYPES["json"], landing)
        if uri is not None:
            landing.paths.insert(0, uri)  # the document first: the completion's gcs_path
            break
    else:
        raise OSError(f"{path} exists already with other bytes, although it carries this run's id")


async def _create_or_same(
    ctx: RunContext, path: str, data: bytes, content_type: str, landing: _Landing
) -> str | None:
    """Land `data` at `path`: its URI when it landed now or the same bytes were there already
    (a retried or resumed landing), None when other bytes hold the name."""
    try:
        uri = await ctx.sink.create(path, data, content_type)
    except AlreadyLandedError:
        if await ctx.sink.read(path) != data:
            return None
        if content_type == CONTENT_TYPES["json"]:
            landing.already_landed = True
        return ctx.sink.uri(path)
    landing.new_bytes += len(data)
    return uri


def _with_entity(entry: ScraperEntry, values: Mapping[str, str]) -> str:
    """The path template with the job's entity folder before the file name, when its options set one."""
    segments = [
        segment.format(**values)
        for segment in entry.entity
        if all(values.get(name) not in (None, "", "None") for name in placeholders(segment))
    ]
    if not segments:
        return entry.path
    folder, _, name = entry.path.rpartition("/")
    return f"{folder}/{'-'.join(segments)}/{name}"


def _check_segments(entry: ScraperEntry, template: str, values: Mapping[str, str]) -> None:
    """Every value a path template uses must be one safe segment, whatever filled it.

    Options are checked against their patterns when they resolve; this is the last guard for what
    a parse derived from a body (a date, a team suffix) and for an option declared without one: a
    `/`, `..`, `?` or control character would write outside the scraper's folder or split an object
    name. Refused before anything lands, as a structural failure with its completion.
    """
    for filled in filter(None, (template, entry.raw_path)):
        for name in placeholders(filled):
            value = values.get(name, "")
            if name != "timestamp" and not SAFE_SEGMENT.fullmatch(value):
                raise ScrapeError(
                    Outcome.STRUCTURAL,
                    f"path placeholder {{{name}}} would be {shown(value)}, not one safe path segment",
                )


def _job_date(job: Job, scraper: Scraper[Any], clock: Clock) -> str:
    if scraper.date_option and job.options.get(scraper.date_option) is not None:
        return str(option_to_text(job.options[scraper.date_option]))
    return eastern_today(clock).isoformat()


def completion_message(result: RunResult, job: Job, ctx: RunContext) -> CompletionMessage:
    failed = result.status is RunStatus.FAILED
    metadata: dict[str, Any] = {
        # The parse's facts first: what the runner itself records below always wins a name clash.
        **result.metadata,
        "gcs_path": result.landed[0] if result.landed else None,
        "landed_paths": list(result.landed),
        "already_landed": result.already_landed,
        "source": result.source,
        "scraper_class": job.entry.target,
        "workflow": ctx.workflow or "MANUAL",
        "opts": result.options,
        "attempts": result.attempts,
    }
    if result.no_data_reason:
        metadata["no_data_reason"] = result.no_data_reason
    if result.quality:
        metadata["quality"] = result.quality.to_dict()
    if failed:
        metadata["error_type"] = result.error_type
    return CompletionMessage(
        processor_name=result.scraper,
        execution_id=result.run_id,
        correlation_id=result.run_id,
        game_date=result.game_date,
        status=result.status.value,
        record_count=result.record_count,
        timestamp=ctx.clock.now().isoformat(),
        duration_seconds=round(result.duration_seconds, 3),
        trigger_source=ctx.trigger_source,
        error_type=result.error_type if failed else None,
        error_message=result.error_message if failed else None,
        metadata={key: value for key, value in metadata.items() if value is not None},
    )
