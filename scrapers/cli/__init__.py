"""`scrapers list | check | run | record | demo | run-many | backfill | enqueue | worker | serve |
republish | quality-compare | plan | tick`.

One module per command; this one assembles the parser and maps errors to exit codes: 0 success,
no_data or partial; 2 bad input (unknown scraper, bad option or flag, missing key or setting); a
failed run exits with its failure class's code (`Outcome.exit_code`); 1 an internal error.

Log lines go to stderr (stdout is the commands' output): text, WARNING and up, for a person; JSON
from INFO on for Cloud Run and Kubernetes (or COURTSIDE_LOG_FORMAT=json), see scrapers.core.logs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from collections.abc import Sequence

from scrapers.cli import (
    backfill,
    listing,
    quality_compare,
    republish,
    run,
    run_many,
    serve,
    worker,
    workflows,
)
from scrapers.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_PUBLISH_PENDING, read_settings, tell
from scrapers.cli.listing import scraper_help, scraper_table_markdown
from scrapers.core.errors import EXIT_USAGE, CourtsideError, RegistryError, SettingsError
from scrapers.core.logs import LogFormat, choose_format, configure_logging
from scrapers.core.redact import Redactor

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_PUBLISH_PENDING",
    "EXIT_USAGE",
    "main",
    "scraper_help",
    "scraper_table_markdown",
]

GLOBAL_FLAGS = ("--verbose", "-v")
log = logging.getLogger("scrapers")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    tokens = list(sys.argv[1:] if argv is None else argv)
    # Global flags work anywhere on the line (`scrapers run X --game_date D -v`), not only first.
    verbose = any(token in GLOBAL_FLAGS for token in tokens)
    args, extra = parser.parse_known_args([token for token in tokens if token not in GLOBAL_FLAGS])
    args.verbose = verbose
    redactor = Redactor()
    _configure_logging(redactor, verbose)
    try:
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        result: int = args.handler(args, extra, redactor)
        return result
    except RegistryError as exc:
        tell(redactor(str(exc)))
        return exc.exit_code
    except CourtsideError as exc:
        if exc.exit_code == EXIT_INTERNAL:
            return _internal_error(exc, verbose, redactor)
        tell(f"error: {redactor(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`scrapers list | head`): stop quietly, as a shell tool does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        return _internal_error(exc, verbose, redactor)


def _configure_logging(redactor: Redactor, verbose: bool) -> None:
    """JSON on a container platform or when asked, text otherwise; serve sets its own (stdout)."""
    try:
        env = read_settings()
    except SettingsError:
        env = None  # the command reports it (exit 2, or `check` lists it); until then, text
    fmt = (
        choose_format(env.log_format, platform=env.platform, default=LogFormat.TEXT)
        if env is not None
        else LogFormat.TEXT
    )
    structured = fmt is LogFormat.JSON
    configure_logging(
        redactor,
        fmt,
        level=logging.DEBUG if verbose else logging.INFO if structured else logging.WARNING,
        project=env.project if env is not None else None,
        # In text, the results table already says how each run ended.
        outcomes=structured or verbose,
    )


def _internal_error(exc: BaseException, verbose: bool, redactor: Redactor) -> int:
    if verbose:
        log.error("internal error", exc_info=exc)
    tell(f"internal error: {type(exc).__name__}: {redactor(str(exc))} (--verbose shows the traceback)")
    return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scrapers", description="Courtside NBA scraper fleet", allow_abbrev=False
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logs and tracebacks (anywhere)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (listing, run, republish, run_many, backfill, worker, serve, quality_compare, workflows):
        command.add_commands(commands)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("courtside")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"
