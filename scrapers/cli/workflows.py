"""`scrapers plan` and `scrapers tick`: the game-aware schedule of workflows.yaml.

    scrapers plan                                  what every workflow decides now, and why
    scrapers plan --at 2024-01-16T05:10:00Z        ... at any moment (a dry run: nothing is written)
    scrapers tick                                  run what is due now, each window once, and record
                                                   every decision (Cloud Scheduler or a CronJob calls
                                                   this every 5 minutes)
    scrapers tick --replay --at 2024-01-16T05:10:00Z   from the fixtures, on a frozen clock

A tick runs the due jobs here through the one run path (exactly once per job key, as a backfill),
or, with COURTSIDE_JOBS_TOPIC set, publishes them to the jobs topic for `scrapers worker`. Every
decision is a line on stdout, a log line and a metric (pushed to COURTSIDE_PUSHGATEWAY, group
`instance="tick"`); the workflows' records live in the state store, mirrored under `_workflows/`.
A tick exits 0 once every workflow was decided and recorded, whatever its jobs' outcomes (they are
in the ledger, the logs and the metrics, and the morning after re-runs the failed ones); 2 for a bad
workflows file, flag or setting; 15 when the state store cannot be reached (nothing was decided).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from proxy.state import StateStore, StateStoreError
from scrapers.cli.common import (
    EXIT_OK,
    add_output_flags,
    no_extra,
    push_scrapers_ran,
    read_settings,
    signals_interrupt,
    tell,
)
from scrapers.cli.worker import jobs_topic
from scrapers.core.clock import EASTERN, Clock, FrozenClock, SystemClock
from scrapers.core.errors import UsageError
from scrapers.core.outcome import Outcome
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, load_registry
from scrapers.core.settings import Locations, Settings, locations
from scrapers.crosscheck.landed import open_reader
from scrapers.http.replay import ReplayTransport
from scrapers.metrics.exposition import MetricsNotPushed
from scrapers.pipeline.ledger import Ledger
from scrapers.pipeline.once import OnceRunner, claim_owner
from scrapers.pipeline.outputs import open_output
from scrapers.pipeline.queue import PubSubJobsTopic
from scrapers.pipeline.runs import Interrupt, RunManager
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import Core, open_core, open_ledger_store
from scrapers.workflows.calendar import LeagueCalendar
from scrapers.workflows.decide import Decision
from scrapers.workflows.execute import TRIGGER, Executor, LocalExecutor, QueueExecutor
from scrapers.workflows.metrics import RUNS_PUSH_GROUP, WorkflowMetrics, push_groups
from scrapers.workflows.model import WorkflowsFile, read_workflows, workflows_beside
from scrapers.workflows.tick import Pass, calendar_line, carry_out, decide_tick, plan
from scrapers.workflows.windows import WindowBook

DEFAULT_CONCURRENCY = 4
# A window's lease outlives one job's deadline and its grace; it is renewed while the jobs run.
LEASE_MARGIN_SECONDS = 60.0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan_parser = commands.add_parser(
        "plan",
        help="what every workflow of workflows.yaml decides at a moment, and why (a dry run)",
        allow_abbrev=False,
    )
    tick_parser = commands.add_parser(
        "tick",
        help="run the workflows due now (each window once) and record every decision",
        allow_abbrev=False,
    )
    for sub in (plan_parser, tick_parser):
        sub.add_argument(
            "--at",
            metavar="ISO",
            help="decide for this moment instead of now, e.g. 2024-01-16T05:10:00Z (tests, on call)",
        )
        sub.add_argument(
            "--workflow",
            action="append",
            default=[],
            metavar="NAME",
            help="only this workflow (repeatable; default: every workflow of the file)",
        )
        sub.add_argument("--json", action="store_true", help="print the decisions as JSON")
        add_output_flags(sub)
    tick_parser.add_argument(
        "--replay",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="run the due jobs from recorded fixtures (default tests/fixtures); with --at, on a clock "
        "frozen at that moment",
    )
    tick_parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"jobs at a time when running here (default {DEFAULT_CONCURRENCY})",
    )
    plan_parser.set_defaults(handler=_cmd_plan)
    tick_parser.set_defaults(handler=_cmd_tick)


def load_workflows(env: Settings, registry: Registry, only: Sequence[str] = ()) -> WorkflowsFile:
    """The deployment's workflows file (COURTSIDE_WORKFLOWS, else the one beside the registry);
    `only` must name workflows of it."""
    workflows = read_workflows(env.workflows or workflows_beside(registry.path))
    unknown = [name for name in only if name not in workflows.workflows]
    if unknown:
        raise UsageError(
            f"--workflow {', '.join(unknown)}: not a workflow of the file "
            f"(its workflows: {', '.join(workflows.workflows)})"
        )
    return workflows


def moment(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise UsageError(f"--at '{at}' is not an ISO time with a zone (example: 2024-01-16T05:10:00Z)")
    return parsed.astimezone(UTC)


def _cmd_plan(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    env = read_settings()
    registry = load_registry(env.registry)
    workflows = load_workflows(env, registry, args.workflow)
    at = moment(args.at)
    where = locations(registry, args.out, None, env)

    async def go() -> tuple[list[Decision], str]:
        async with AsyncExitStack() as stack:
            run = await _open_pass(
                stack, registry, workflows, args.workflow, where, env, at, replay=False, metrics=False
            )
            decisions = await plan(run, at)
            return decisions, await calendar_line(run, at)

    try:
        decisions, league = asyncio.run(go())
    except StateStoreError as exc:
        return _store_down(exc)
    if args.json:
        print(json.dumps([decision.to_dict() for decision in decisions], indent=2))
        return EXIT_OK
    print(_header(at, where, "plan", league))
    for decision in decisions:
        _print_one(decision)
    return EXIT_OK


def _cmd_tick(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    if args.concurrency < 1:
        raise UsageError("--concurrency is 1 or more")
    env = read_settings()
    registry = load_registry(env.registry)
    workflows = load_workflows(env, registry, args.workflow)
    at = moment(args.at)
    replay = args.replay is not None
    # A replayed tick runs on the moment it decides for: keyword dates and landing names are that
    # moment's. A live tick decides for --at but fetches and lands now.
    clock: Clock = FrozenClock(at) if replay else SystemClock()
    where = locations(registry, args.out, args.replay or None, env)
    topic = jobs_topic(env) if "jobs_topic" in env.model_fields_set else None
    if replay and not env.state:
        tell(
            f"note: a replayed tick keeps the workflows' records and the ledger in memory unless "
            f"{Settings.variable('state')} is set: the next tick will not know what this one ran"
        )

    async def go() -> list[Decision]:
        async with AsyncExitStack() as stack:
            run = await _open_pass(
                stack, registry, workflows, args.workflow, where, env, at, replay=replay, metrics=True
            )
            decisions = await decide_tick(run, at)
            if run.metrics is not None:
                for decision in decisions:
                    run.metrics.heard(decision)
                await _push(run, env)  # the controller is alive, however long the jobs take
            if not args.json:
                print(_header(at, where, "tick", await calendar_line(run, at), topic), flush=True)
            executor = await _executor(
                stack, decisions, run, registry, where, env, topic, clock, args, redactor
            )
            lease = env.job_deadline + env.shutdown_grace + LEASE_MARGIN_SECONDS
            await carry_out(
                run,
                decisions,
                executor,
                owner=claim_owner(),
                lease_seconds=lease,
                on_decision=lambda decision: None if args.json else _print_one(decision),
            )
            await _push(run, env)
            return decisions

    try:
        decisions = asyncio.run(go())
    except StateStoreError as exc:
        return _store_down(exc)
    finally:
        if topic is not None:
            topic.close()
    if args.json:
        print(json.dumps([decision.to_dict() for decision in decisions], indent=2))
    return EXIT_OK


def _store_down(exc: StateStoreError) -> int:
    """The workflows' records cannot be read or written: nothing was decided (a later tick will)."""
    tell(f"error: the state store cannot be reached, so no workflow was decided: {exc}")
    return Outcome.TRANSIENT.exit_code


async def _open_pass(
    stack: AsyncExitStack,
    registry: Registry,
    workflows: WorkflowsFile,
    only: Sequence[str],
    where: Locations,
    env: Settings,
    at: datetime,
    *,
    replay: bool,
    metrics: bool,
) -> Pass:
    # The output as runs open it: a gs:// output without a project or credentials is exit 2 now.
    output = open_output(where.out, env)
    stack.callback(output.close)
    store: StateStore = open_ledger_store(env, replay)
    stack.push_async_callback(store.aclose)
    calendar = LeagueCalendar(open_reader(where.out), registry, as_of=at)
    book = WindowBook(store, where.out, output.sink)
    ledger = Ledger(store, where.out, output.sink)
    run = Pass(registry, workflows, calendar, book, ledger, only=tuple(only))
    if metrics:
        run.metrics = WorkflowMetrics(run.selected, revision=env.git_commit)
    return run


async def _executor(
    stack: AsyncExitStack,
    decisions: list[Decision],
    run: Pass,
    registry: Registry,
    where: Locations,
    env: Settings,
    topic: PubSubJobsTopic | None,
    clock: Clock,
    args: argparse.Namespace,
    redactor: Redactor,
) -> Executor | None:
    runnable = [decision for decision in decisions if decision.runs]
    if not runnable:
        return None
    if topic is not None:
        return QueueExecutor(topic, run.ledger)
    names = {job.scraper for decision in runnable for job in decision.jobs}
    names |= {f.child for decision in runnable for job in decision.jobs for f in job.fan_out}
    replay = args.replay is not None
    transport = ReplayTransport(where.fixtures) if replay else None
    interrupt = Interrupt(env.shutdown_grace)
    stack.enter_context(signals_interrupt(interrupt))
    core = await open_core(
        registry,
        where,
        [registry.get(name) for name in sorted(names)],
        transport,
        redactor,
        replay=replay,
        clock=clock,
        trigger_source=TRIGGER,
        env=env,
    )
    stack.push_async_callback(core.aclose)
    assert core.ledger is not None
    settings = ServiceSettings.for_command(args.concurrency, env)
    manager = RunManager(core, settings, trigger_source=TRIGGER)
    # Unwound in reverse: the runs end, then one push, then the core closes.
    stack.push_async_callback(_push_runs, core, manager, interrupt)
    stack.push_async_callback(manager.drain, 0.0)
    once = OnceRunner(manager, core.ledger, owner=claim_owner(), claim_seconds=env.claim_seconds)
    return LocalExecutor(once, registry, clock, args.concurrency, interrupt)


async def _push_runs(core: Core, manager: RunManager, interrupt: Interrupt) -> None:
    """The runs' metrics once they have ended, as run-many pushes its own: a group per scraper that
    ran (the one `scrapers run` pushes) and RUNS_PUSH_GROUP for the series no scraper label divides
    (HTTP attempts by source, proxy traffic). A push per run put those into whichever scraper's
    group pushed first, labelled with that scraper."""
    await push_scrapers_ran(core, manager.scrapers_ran, RUNS_PUSH_GROUP, interrupt)


async def _push(run: Pass, env: Settings) -> None:
    if not env.pushgateway or run.metrics is None:
        return
    try:
        # Counter totals from the shared store, so the decisions of every tick container add up.
        await push_groups(run.metrics, run.book.store, env.pushgateway)
    except (OSError, MetricsNotPushed) as exc:  # urllib's URLError/HTTPError are OSErrors
        tell(f"warning: workflow metrics not pushed to {env.pushgateway}: {exc}")


# --------------------------------------------------------------------------------- printing


def _header(
    at: datetime, where: Locations, verb: str, league: str, topic: PubSubJobsTopic | None = None
) -> str:
    local = at.astimezone(EASTERN)
    how = f"; jobs go to {topic.description}" if topic is not None else ""
    return f"{verb} at {local:%Y-%m-%d %H:%M} ET ({at:%Y-%m-%dT%H:%M:%SZ}) for {where.out}: {league}{how}"


def _print_one(decision: Decision) -> None:
    print(decision.line(), flush=True)
    for job in decision.jobs:
        print(f"    {job.describe()}")
    if decision.children and not decision.outcome:
        expected = ", ".join(f"{count} × {name}" for name, count in decision.children.items() if count)
        if expected:
            print(f"    then, per game: {expected}")
