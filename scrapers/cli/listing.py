"""`scrapers list` and `scrapers check`, and the per-scraper help of `run NAME --help`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scrapers.cli.common import EXIT_OK, no_extra, print_table
from scrapers.core.errors import EXIT_USAGE
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, ScraperEntry, inspect_registry, load_registry


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "list", help="every scraper with its source and options", allow_abbrev=False
    )
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--markdown", action="store_true", help="the README's scraper table")
    listing.set_defaults(handler=_cmd_list)
    check = commands.add_parser("check", help="validate registry.yaml against the code", allow_abbrev=False)
    check.set_defaults(handler=_cmd_check)


def _cmd_list(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
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
    print_table(
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
    no_extra(extra)
    registry, problems = inspect_registry()
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {registry.path}", file=sys.stderr)
        return EXIT_USAGE
    print(f"ok: {len(registry.scrapers)} scrapers, {len(registry.sources)} sources in {registry.path}")
    return EXIT_OK


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
