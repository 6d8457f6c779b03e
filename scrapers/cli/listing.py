"""`scrapers list` and `scrapers check` (registry.yaml, workflows.yaml and the settings), and the
per-scraper help of `run NAME --help`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from scrapers.cli.common import EXIT_OK, no_extra, print_table, read_settings
from scrapers.core.declarations import declaration_problems
from scrapers.core.errors import EXIT_USAGE, RegistryError, SettingsError
from scrapers.core.redact import Redactor
from scrapers.core.registry import Registry, ScraperEntry, inspect_registry, load_registry
from scrapers.core.settings import Settings, settings_table_markdown
from scrapers.pipeline.wiring import environment_problems
from scrapers.workflows.jobs import inspect_workflows
from scrapers.workflows.model import workflows_beside


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "list", help="every scraper with its source and options", allow_abbrev=False
    )
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--markdown", action="store_true", help="the README's scraper table")
    listing.add_argument("--settings", action="store_true", help="the README's table of environment settings")
    listing.set_defaults(handler=_cmd_list)
    check = commands.add_parser(
        "check",
        help="validate registry.yaml against the code, workflows.yaml against the registry, and the settings",
        allow_abbrev=False,
    )
    check.set_defaults(handler=_cmd_check)


def _cmd_list(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    no_extra(extra)
    if args.settings:
        print(settings_table_markdown())
        return EXIT_OK
    registry = load_registry(read_settings().registry)
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
        cells = [
            f"`{name}`{aliases}: {entry.description}",
            entry.source,
            options,
            lands,
            f"`{entry.path_shape}`",
        ]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace, extra: list[str], redactor: Redactor) -> int:
    """Every problem of the registry and of this environment's settings, not just the first."""
    no_extra(extra)
    problems: list[str] = []
    env: Settings | None = None
    try:
        env = read_settings()
    except SettingsError as exc:
        problems.extend(exc.problems)
    try:
        registry, found = inspect_registry(env.registry if env else None)
    except RegistryError as exc:  # unreadable: nothing else of it can be checked
        found, registry = exc.problems, None
    problems.extend(found)
    if registry is not None and not found:
        # Every class imports and its options resolve: what the classes declare can be checked too.
        problems.extend(declaration_problems(registry))
    if env is not None and registry is not None:
        problems.extend(asyncio.run(environment_problems(env, registry)))
    workflows = None
    workflows_path = (env.workflows if env else None) or (
        workflows_beside(registry.path) if registry is not None else None
    )
    if registry is not None and not found and workflows_path is not None and workflows_path.is_file():
        # workflows.yaml against the registry and the option models, at a window of today.
        workflows, found_in_workflows = inspect_workflows(workflows_path, registry, datetime.now(UTC))
        problems.extend(found_in_workflows)
    for problem in problems:
        print(f"problem: {redactor(problem)}")
    if problems:
        print(f"{len(problems)} problem(s) in the registry, the workflows or the settings", file=sys.stderr)
        return EXIT_USAGE
    assert registry is not None  # found no problem, so it was read
    schedule = (
        f"{len(workflows.workflows)} workflows in {workflows_path}"
        if workflows is not None
        else f"no workflows file ({workflows_path} does not exist: `plan` and `tick` have nothing to decide)"
    )
    print(
        f"ok: {len(registry.scrapers)} scrapers, {len(registry.sources)} sources in {registry.path}; "
        f"{schedule}; {len(Settings.model_fields)} environment settings valid"
    )
    return EXIT_OK


def scraper_help(entry: ScraperEntry, command: str = "run") -> str:
    """What `scrapers run NAME --help` prints: the scraper, where it lands, every option."""
    lines = [
        f"usage: scrapers {command} {entry.name} [--OPTION VALUE ...] [--out DIR|gs://...] [--json]",
        "",
        entry.description,
        f"source: {entry.source}; lands: {entry.load_class().lands} at {entry.path_shape}",
        "",
        "options:" if entry.options else "options: none",
    ]
    for spec in entry.options:
        facts = ["required" if spec.required else (f"default {spec.default}" if spec.default else "optional")]
        if spec.choices:
            facts.append("one of " + "|".join(spec.choices))
        facts.append(f"example {spec.example}")
        if spec.aliases:
            facts.append(f"deprecated alias --{', --'.join(spec.aliases)}")
        lines.append(f"  --{spec.name} {spec.type.value.upper()}  {spec.help} ({'; '.join(facts)})".rstrip())
    return "\n".join(lines)
