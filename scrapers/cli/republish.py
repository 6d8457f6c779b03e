"""`scrapers republish`: send every completion still pending in the outbox."""

from __future__ import annotations

import argparse
import asyncio
import sys

from scrapers.cli.common import (
    EXIT_OK,
    EXIT_PUBLISH_PENDING,
    add_output_flags,
    no_extra,
    parse_duration,
    read_settings,
)
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import locations
from scrapers.pipeline.outputs import open_output


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    republish = commands.add_parser(
        "republish", help="send every completion still pending in the outbox", allow_abbrev=False
    )
    add_output_flags(republish)
    republish.add_argument(
        "--older-than",
        metavar="AGE",
        help="only entries at least this old, e.g. 15m, 2h (default 0: every entry no live run owns; "
        "a run's own entry is never taken while it runs)",
    )
    republish.set_defaults(handler=_cmd_republish)


def _cmd_republish(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    env = read_settings()
    registry = load_registry(env.registry)
    where = locations(registry, args.out, None, env)
    output = open_output(where.out, env)
    older_than = 0.0 if args.older_than is None else parse_duration(args.older_than, "--older-than")
    try:
        report = asyncio.run(output.delivery.sweep(older_than))
    finally:
        output.close()
    print(
        f"republish {output.where}: sent {len(report.sent)}, failed {len(report.failed)}, "
        f"owned by a live run or another sweep {report.skipped}, settled intents {len(report.settled)}, "
        f"pruned {report.pruned}"
    )
    if report.uncertain:
        # Pub/Sub cannot be asked what it holds: name the executions a subscriber may see twice.
        print(
            f"warning: {len(report.uncertain)} completion(s) may have been published before their run "
            f"died; sent again (subscribers deduplicate on execution_id): {' '.join(report.uncertain)}",
            file=sys.stderr,
        )
    for error in sorted(set(report.errors)):
        print(f"warning: {redactor(error)}", file=sys.stderr)
    return EXIT_OK if not report.failed else EXIT_PUBLISH_PENDING
