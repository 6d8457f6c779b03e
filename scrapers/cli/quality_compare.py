"""`scrapers quality-compare --date D [--to D2] [--out DIR|gs://…] [--json]`: the cross-source report
(computed by scrapers.crosscheck.compare)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from scrapers.cli.common import EXIT_OK, read_settings
from scrapers.core.errors import OptionError
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import locations
from scrapers.crosscheck.compare import MINUTES_GAP, date_range, read_days, render_text
from scrapers.crosscheck.landed import open_reader

EXIT_UNREADABLE = 1  # the output could not be listed or read (e.g. no access to the bucket)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `quality-compare` on the CLI's subcommands."""
    sub = commands.add_parser(
        "quality-compare",
        help="compare per-player minutes and points of the same games across sources",
        allow_abbrev=False,
    )
    sub.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="game date (Eastern)")
    sub.add_argument("--to", metavar="YYYY-MM-DD", help="last date of a range (default: --date)")
    sub.add_argument(
        "--out",
        metavar="DIR|gs://BUCKET/PREFIX",
        help="output folder or bucket to read (default ./data or $COURTSIDE_OUT)",
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")
    sub.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    if extra:
        raise OptionError(extra[0], "is not an option of quality-compare", "--date 2024-01-15")
    days = date_range(args.date, args.to)
    env = read_settings()
    registry = load_registry(env.registry)
    try:
        reader = open_reader(locations(registry, args.out, None, env).out)
    except ValueError as exc:
        raise OptionError("--out", str(exc), "gs://nba-scraped-data") from None
    try:
        reports = asyncio.run(read_days(reader, registry, days))
    except OSError as exc:  # a folder or bucket we cannot read (GcsError is an OSError)
        print(f"error: cannot read {reader.where}: {redactor(str(exc))}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        payload = {"where": reader.where, "minutes_gap": MINUTES_GAP, "dates": [r.to_dict() for r in reports]}
        print(json.dumps(payload, indent=2))
    else:
        render_text(reports, reader.where, sys.stdout)
    return EXIT_OK
