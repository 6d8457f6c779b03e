"""Fan-out: a parent's typed id list (`RunResult.fan_out`) becomes one child job per game or event.

A parent declares its children on its class (`fan_out = (FanOut(child, filled, plan), ...)`, see
scrapers/core/fanout.py), one FanOut per child scraper; `scrapers list` and the README name them.
A fan-out asked for without naming children (`fan_out: true`, `run-many`, `backfill`) runs the
children declared `default`; the others run when named (`fan_out: ["nbac_play_by_play"]`,
`--children`), e.g. a second feed of the same games or a child that spends credits.

The child options come from the parent's refs and options; a request may add others
(`child_options`, e.g. `{"markets": "player_points,player_rebounds"}`): each goes to the children
that have such an option, never to one a ref fills. Shared by the service, `run-many`, `backfill`
and the worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scrapers.core.clock import Clock
from scrapers.core.errors import InvalidOptions, OptionError
from scrapers.core.fanout import Child, FanOut, FanOutRef
from scrapers.core.registry import Registry, ScraperEntry
from scrapers.pipeline.runner import Job


def fan_outs(registry: Registry) -> dict[str, tuple[FanOut, ...]]:
    """Every parent's declared children, by parent name."""
    declared = {name: declared_fan_outs(registry.scrapers[name]) for name in registry.names()}
    return {name: children for name, children in declared.items() if children}


def declared_fan_outs(entry: ScraperEntry) -> tuple[FanOut, ...]:
    """The children `entry`'s class declares (none for a scraper without children)."""
    return tuple(entry.load_class().fan_out)


def describe_fan_outs(registry: Registry) -> str:
    """`nbac_scoreboard_v2 -> nbac_gamebook_pdf (+ nbac_play_by_play when named), ...`, for messages
    that say which scrapers fan out."""
    parts = []
    for parent, children in fan_outs(registry).items():
        default = [f.child for f in children if f.default]
        named = [f.child for f in children if not f.default]
        text = f"{parent} -> {', '.join(default) or '(none by default)'}"
        parts.append(f"{text} (+ {', '.join(named)} when named)" if named else text)
    return "; ".join(parts)


def select_fan_outs(entry: ScraperEntry, selection: bool | Sequence[str]) -> tuple[FanOut, ...]:
    """The children a request asks for: none, the defaults (`True`), or those it names.

    Raises InvalidOptions (option `fan_out`) for a child the scraper does not declare.
    """
    if selection is False:
        return ()
    declared = declared_fan_outs(entry)
    if selection is True:
        return tuple(f for f in declared if f.default)
    known = {f.child: f for f in declared}
    unknown = [child for child in selection if child not in known]
    if unknown:
        listed = ", ".join(known) or "none"
        raise InvalidOptions(
            [
                OptionError(
                    "fan_out",
                    f"{entry.name} has no child {', '.join(unknown)} (its children: {listed})",
                    "true",
                )
            ]
        )
    return tuple(known[child] for child in dict.fromkeys(selection))


def child_options_for(registry: Registry, fan_out: FanOut, options: Mapping[str, Any]) -> dict[str, Any]:
    """The request's `child_options` this child takes (by name or old spelling)."""
    child = registry.get(fan_out.child)
    names = {name for spec in child.options for name in (spec.name, *spec.aliases)}
    return {name: value for name, value in options.items() if name in names}


def expand(
    fan_out: FanOut, parent: Job, refs: Iterable[FanOutRef], extra: Mapping[str, Any]
) -> tuple[list[Child], list[str]]:
    """One child per distinct ref, in the parent's order, and the refs skipped with their reason."""
    texts = parent.option_texts()
    children: dict[str, Child] = {}
    skipped: list[str] = []
    for ref in refs:
        planned = fan_out.plan(texts, ref)
        if isinstance(planned, str):
            skipped.append(planned)
        elif planned.label not in children:
            children[planned.label] = Child(planned.label, {**extra, **planned.options})
    return list(children.values()), skipped


def fan_out_for(
    job: Job,
    child_options: Mapping[str, Any],
    registry: Registry,
    clock: Clock,
    selection: bool | Sequence[str] = True,
) -> tuple[FanOut, ...]:
    """The fan-outs of `job`'s scraper a request selects, with `child_options` checked against
    those children's options.

    Raises InvalidOptions naming every problem, like any other option problem.
    """
    if not declared_fan_outs(job.entry):
        raise InvalidOptions(
            [
                OptionError(
                    "fan_out",
                    f"{job.entry.name} has no per-game or per-event children "
                    f"(fan-out: {describe_fan_outs(registry)})",
                    "false",
                )
            ]
        )
    selected = select_fan_outs(job.entry, selection)
    if not selected:
        named = ", ".join(f.child for f in declared_fan_outs(job.entry))
        raise InvalidOptions(
            [
                OptionError(
                    "fan_out",
                    f"{job.entry.name} runs its children only when named",
                    f'["{named.split(", ")[0]}"]',
                )
            ]
        )
    children = [registry.get(f.child) for f in selected]
    problems: list[OptionError] = []
    for name, value in child_options.items():
        # An old spelling (`oddsFormat`) names its option as it does on the command line.
        takers = [
            (fan_out, spec)
            for fan_out, child in zip(selected, children, strict=True)
            for spec in child.options
            if name in (spec.name, *spec.aliases)
        ]
        if any(spec.name in fan_out.filled for fan_out, spec in takers):
            problems.append(OptionError(f"child_options.{name}", "is set from each parent ref", "omit it"))
        elif not takers:
            free = sorted(
                {
                    s.name
                    for f, c in zip(selected, children, strict=True)
                    for s in c.options
                    if s.name not in f.filled
                }
            )
            what = ", ".join(child.name for child in children)
            problems.append(
                OptionError(
                    f"child_options.{name}",
                    f"is not an option of {what} (their options: {', '.join(free)})",
                    "omit it",
                )
            )
        elif value is not None:
            try:
                takers[0][1].resolve(value, clock)
            except OptionError as problem:
                problems.append(OptionError(f"child_options.{name}", problem.problem, problem.example))
    if problems:
        raise InvalidOptions(problems)
    return selected
