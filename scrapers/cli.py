"""`scrapers list | check | run | run-many | serve | demo | record | republish`.

Exit codes: 0 success, no_data or partial; 2 bad input (unknown scraper, bad option, bad flag); a failed
run exits with the code of its failure class (`Outcome.exit_code`); 1 an internal error.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

import httpx
import yaml

from scrapers.core.clock import Clock, FrozenClock, SystemClock
from scrapers.core.errors import (
    BadInput,
    CourtsideError,
    OptionError,
    RegistryError,
)
from scrapers.core.redact import RedactingFormatter, Redactor
from scrapers.core.registry import Registry, ScraperEntry, inspect_registry, load_registry
from scrapers.core.result import RunResult
from scrapers.core.runner import Job, prepare, run_job
from scrapers.core.settings import Locations, environ, locations
from scrapers.http.replay import RecordingTransport, ReplayTransport
from scrapers.outputs import open_output
from scrapers.wiring import open_core

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_PUBLISH_PENDING = 18  # republish: some completions could not be sent and stay pending
DEMO_FILE = "demo.yaml"

log = logging.getLogger("scrapers")


class UsageError(BadInput):
    """A bad command line; exits 2."""


GLOBAL_FLAGS = ("--verbose", "-v")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    tokens = list(sys.argv[1:] if argv is None else argv)
    # Global flags work anywhere on the line (`scrapers run X --gamedate D -v`), not only first.
    verbose = any(token in GLOBAL_FLAGS for token in tokens)
    args, extra = parser.parse_known_args([token for token in tokens if token not in GLOBAL_FLAGS])
    args.verbose = verbose
    redactor = Redactor()
    # Every log line, ours or a library's (httpx logs request URLs with their API keys), is masked.
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(redactor, "%(levelname)s %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler])
    try:
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        result: int = args.handler(args, extra, redactor)
        return result
    except RegistryError as exc:
        print(redactor(str(exc)), file=sys.stderr)
        return exc.exit_code
    except CourtsideError as exc:
        if exc.exit_code == EXIT_INTERNAL:
            return _internal_error(exc, args.verbose, redactor)
        print(f"error: {redactor(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`scrapers list | head`): stop quietly, as a shell tool does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        return _internal_error(exc, args.verbose, redactor)


def _internal_error(exc: BaseException, verbose: bool, redactor: Redactor) -> int:
    if verbose:
        log.error("internal error", exc_info=exc)
    print(
        f"internal error: {type(exc).__name__}: {redactor(str(exc))} (--verbose shows the traceback)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scrapers", description="Courtside NBA scraper fleet", allow_abbrev=False
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logs and tracebacks (anywhere)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser(
        "list", help="every scraper with its source and options", allow_abbrev=False
    )
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--markdown", action="store_true", help="the README's scraper table")
    listing.set_defaults(handler=_cmd_list)

    check = commands.add_parser("check", help="validate registry.yaml against the code", allow_abbrev=False)
    check.set_defaults(handler=_cmd_check)

    for name, helptext, handler in (
        ("run", "run one scraper: scrapers run NAME --option value ...", _cmd_run),
        ("record", "run one scraper live and write its exchanges as fixtures", _cmd_record),
    ):
        # Our own --help: after a scraper's name it lists that scraper's options.
        sub = commands.add_parser(name, help=helptext, allow_abbrev=False, add_help=False)
        sub.add_argument("-h", "--help", action="store_true", help="this help, or a scraper's options")
        sub.add_argument("scraper", nargs="?")
        sub.set_defaults(command_help=sub.format_help)
        _add_output_flags(sub)
        sub.add_argument("--json", action="store_true", help="print the run result as JSON")
        if name == "run":
            sub.add_argument(
                "--replay",
                nargs="?",
                const="",
                default=None,
                metavar="DIR",
                help="serve recorded fixtures instead of the network (default tests/fixtures)",
            )
        else:
            sub.add_argument("--into", metavar="DIR", help="fixture folder (default tests/fixtures)")
        sub.set_defaults(handler=handler)

    demo = commands.add_parser(
        "demo", help="replay a recorded game day into the output folder", allow_abbrev=False
    )
    _add_output_flags(demo)
    demo.add_argument(
        "--fixtures", metavar="DIR", help="fixture folder holding demo.yaml (default tests/fixtures)"
    )
    demo.set_defaults(handler=_cmd_demo)

    republish = commands.add_parser(
        "republish", help="send every completion still pending in the outbox", allow_abbrev=False
    )
    _add_output_flags(republish)
    republish.add_argument(
        "--older-than",
        metavar="AGE",
        help="only entries at least this old, e.g. 0, 15m, 2h (default: the publish timeout + 30s, "
        "so runs still publishing are left alone)",
    )
    republish.set_defaults(handler=_cmd_republish)

    from scrapers.run_many import add_run_many_command  # here: run_many imports this module

    add_run_many_command(commands)

    from scrapers.service.command import add_serve_command  # here: it imports this module

    add_serve_command(commands)

    from scrapers.quality.compare import add_quality_compare_command

    add_quality_compare_command(commands)
    return parser


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="DIR|gs://BUCKET/PREFIX",
        help="output folder or bucket (default ./data or $COURTSIDE_OUT)",
    )


def _no_extra(extra: list[str]) -> None:
    if extra:
        raise UsageError(f"unexpected arguments: {' '.join(extra)}")


def _cmd_list(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    _no_extra(extra)
    registry = load_registry()
    rows: list[dict[str, Any]] = [
        {
            "name": entry.name,
            "source": entry.source,
            "description": entry.description,
            "aliases": list(entry.aliases),
            "options": [spec.describe() for spec in entry.options],
        }
        for entry in (registry.scrapers[name] for name in registry.names())
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if args.markdown:
        print(scraper_table_markdown(registry))
        return EXIT_OK
    _print_table(
        ["scraper", "source", "options"],
        [[row["name"], row["source"], "; ".join(row["options"]) or "-"] for row in rows],
    )
    return EXIT_OK


def scraper_table_markdown(registry: Registry) -> str:
    lines = ["| scraper | source | options | lands | at |", "|---|---|---|---|---|"]
    for name in registry.names():
        entry = registry.scrapers[name]
        options = "<br>".join(f"`{spec.describe()}`" for spec in entry.options) or "-"
        aliases = f" (alias {', '.join(entry.aliases)})" if entry.aliases else ""
        lands = str(entry.load_class().lands) + (f"; differs: {entry.differs}" if entry.differs else "")
        cells = [f"`{name}`{aliases}: {entry.description}", entry.source, options, lands, f"`{entry.path}`"]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    _no_extra(extra)
    registry, problems = inspect_registry()
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {registry.path}", file=sys.stderr)
        return EXIT_USAGE
    print(f"ok: {len(registry.scrapers)} scrapers, {len(registry.sources)} sources in {registry.path}")
    return EXIT_OK


def _scraper_or_help(args: argparse.Namespace, extra: list[str]) -> str | None:
    """The scraper to run, or None once help was printed (`run --help`, `run NAME --help`)."""
    asked = args.help or "-h" in extra or "--help" in extra
    if args.scraper is None and not asked:
        raise UsageError(
            f"name a scraper (example: scrapers {args.command} nbac_scoreboard_v2 --gamedate 2024-01-15)"
        )
    if not asked:
        return str(args.scraper)
    if args.scraper is None:
        print(args.command_help())
    else:
        print(scraper_help(load_registry().get(args.scraper), args.command))
    return None


def scraper_help(entry: ScraperEntry, command: str = "run") -> str:
    """What `scrapers run NAME --help` prints: the scraper, where it lands, every option."""
    lines = [
        f"usage: scrapers {command} {entry.name} [--OPTION VALUE ...] [--out DIR|gs://...] [--json]",
        "",
        entry.description,
        f"source: {entry.source}; lands: {entry.load_class().lands} at {entry.path}",
        "",
        "options:" if entry.options else "options: none",
    ]
    for spec in entry.options:
        facts = ["required" if spec.required else (f"default {spec.default}" if spec.default else "optional")]
        if spec.choices:
            facts.append("one of " + "|".join(spec.choices))
        facts.append(f"example {spec.example}")
        lines.append(f"  --{spec.name} {spec.type.value.upper()}  {spec.help} ({'; '.join(facts)})".rstrip())
    return "\n".join(lines)


def _version() -> str:
    try:
        return importlib.metadata.version("courtside")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _cmd_run(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    name = _scraper_or_help(args, extra)
    if name is None:
        return EXIT_OK
    registry = load_registry()
    where = locations(registry, args.out, args.replay or None, environ())
    job = prepare(registry, name, parse_option_flags(extra), SystemClock())
    transport = ReplayTransport(where.fixtures) if args.replay is not None else None
    result = asyncio.run(
        _run_jobs(registry, where, [job], transport, redactor, replay=args.replay is not None)
    )[0]
    _report([result], as_json=args.json)
    return exit_code(result)


def _cmd_record(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    name = _scraper_or_help(args, extra)
    if name is None:
        return EXIT_OK
    registry = load_registry()
    where = locations(registry, args.out, args.into, environ())
    job = prepare(registry, name, parse_option_flags(extra), SystemClock())
    recorder = RecordingTransport(
        httpx.AsyncHTTPTransport(), where.fixtures / job.entry.source, job.entry.name
    )
    result = asyncio.run(_run_jobs(registry, where, [job], recorder, redactor, replay=False))[0]
    _report([result], as_json=args.json)
    for path in recorder.written:
        print(f"recorded {path}")
    return exit_code(result)


def _cmd_demo(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    _no_extra(extra)
    registry = load_registry()
    where = locations(registry, args.out, args.fixtures, environ())
    plan = yaml.safe_load((where.fixtures / DEMO_FILE).read_text(encoding="utf-8"))
    # The demo replays one game day as if it ran the night after: keyword dates, undated paths and
    # landing timestamps all belong to that day, and a second demo finds everything already landed.
    clock = FrozenClock(datetime.fromisoformat(str(plan["replayed_at"]).replace("Z", "+00:00")))
    jobs = [prepare(registry, item["scraper"], item.get("options") or {}, clock) for item in plan["jobs"]]
    day = plan.get("date", "?")
    print(f"Replaying {len(jobs)} jobs of game day {day} from {where.fixtures} into {where.out}")
    results = asyncio.run(
        _run_jobs(registry, where, jobs, ReplayTransport(where.fixtures), redactor, replay=True, clock=clock)
    )
    _report(results, as_json=False)
    print(f"completion events: {open_output(where.out, environ()).events_note}")
    return EXIT_OK if all(result.ok for result in results) else max(exit_code(result) for result in results)


async def _run_jobs(
    registry: Registry,
    where: Locations,
    jobs: list[Job],
    transport: httpx.AsyncBaseTransport | None,
    redactor: Redactor,
    *,
    replay: bool,
    clock: Clock | None = None,
) -> list[RunResult]:
    core = await open_core(
        registry, where, [job.entry for job in jobs], transport, redactor, replay=replay, clock=clock
    )
    results = []
    try:
        for job in jobs:
            result = await run_job(job, core.context)
            results.append(result)
            await core.after_run(result, _warn)
        return results
    finally:
        await core.aclose()


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _cmd_republish(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    _no_extra(extra)
    registry = load_registry()
    where = locations(registry, args.out, None, environ())
    output = open_output(where.out, environ())
    older_than = (
        output.delivery.sweep_age
        if args.older_than is None
        else parse_duration(args.older_than, "--older-than")
    )
    try:
        report = asyncio.run(output.delivery.sweep(older_than))
    finally:
        output.close()
    print(
        f"republish {output.where}: sent {len(report.sent)}, failed {len(report.failed)}, "
        f"taken by another sweep {report.skipped}"
    )
    for error in sorted(set(report.errors)):
        print(f"warning: {redactor(error)}", file=sys.stderr)
    return EXIT_OK if not report.failed else EXIT_PUBLISH_PENDING


def parse_duration(text: str | None, option: str) -> float:
    """`90s`, `15m`, `2h`, `1d` or plain seconds."""
    if not text:
        raise OptionError(option, "is empty", "15m")
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value < 0:
        raise OptionError(option, f"'{text}' is not a duration", "15m")
    return value * units[unit]


def parse_option_flags(tokens: Sequence[str]) -> dict[str, str]:
    """`--name value` and `--name=value` pairs after the scraper name."""
    options: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("--") or len(token) == 2:
            raise UsageError(f"expected --option value, got '{token}' (example: --gamedate 2024-01-15)")
        name, sep, value = token[2:].partition("=")
        if not sep:
            if index + 1 >= len(tokens) or tokens[index + 1].startswith("--"):
                raise OptionError(name, "has no value", f"--{name} <value>")
            value = tokens[index + 1]
            index += 1
        options[name] = value
        index += 1
    return options


def exit_code(result: RunResult) -> int:
    if result.ok:
        return EXIT_OK
    return result.failure_class.exit_code if result.failure_class else EXIT_INTERNAL


def _report(results: list[RunResult], *, as_json: bool, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if as_json:
        payload: Any = [r.to_dict() for r in results] if len(results) > 1 else results[0].to_dict()
        print(json.dumps(payload, indent=2), file=stream)
        return
    rows = [
        [
            r.scraper,
            r.status.value if r.ok else f"failed ({r.error_type})",
            str(r.record_count),
            r.landed[0] if r.landed else (r.error_message or r.no_data_reason or "-"),
        ]
        for r in results
    ]
    _print_table(["scraper", "status", "records", "landed / reason"], rows, stream)


def _print_table(header: list[str], rows: list[list[str]], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip(),
            file=stream,
        )


if __name__ == "__main__":
    raise SystemExit(main())
