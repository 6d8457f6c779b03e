"""Fan-out: a parent's typed id list (`RunResult.fan_out`) becomes one child job per game or event.

A parent declares its children on its class (`fan_out = FanOut(child, filled, plan)`, see
scrapers/core/fanout.py); today

    nbac_scoreboard_v2 --game_date D  ->  nbac_gamebook_pdf --game_code <GameRef.game_code>   per game
    oddsa_events --game_date D        ->  oddsa_player_props --event_id <EventRef.event_id>
                                                             --game_date D [--sport S]        per event

The child options come from the parent's refs and options; a request may add others for every
child (`child_options`, e.g. `{"markets": "player_points,player_rebounds"}`) but never the ones a
ref fills. Shared by the service and `scrapers run-many`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapers.core.clock import Clock
from scrapers.core.errors import InvalidOptions, OptionError
from scrapers.core.fanout import Child, FanOut
from scrapers.core.registry import Registry
from scrapers.core.result import RunResult
from scrapers.pipeline.runner import Job


def fan_outs(registry: Registry) -> dict[str, FanOut]:
    """Every parent's declared fan-out, by parent name."""
    declared = {name: registry.scrapers[name].load_class().fan_out for name in registry.names()}
    return {name: fan_out for name, fan_out in declared.items() if fan_out is not None}


def describe_fan_outs(registry: Registry) -> str:
    """`nbac_scoreboard_v2 -> nbac_gamebook_pdf, ...`, for messages that say which scrapers fan out."""
    return ", ".join(f"{parent} -> {fan_out.child}" for parent, fan_out in fan_outs(registry).items())


def expand(
    fan_out: FanOut, parent: Job, result: RunResult, extra: Mapping[str, Any]
) -> tuple[list[Child], list[str]]:
    """One child per distinct ref, in the parent's order, and the refs skipped with their reason."""
    texts = parent.option_texts()
    children: dict[str, Child] = {}
    skipped: list[str] = []
    for ref in result.fan_out:
        planned = fan_out.plan(texts, ref)
        if isinstance(planned, str):
            skipped.append(planned)
        elif planned.label not in children:
            children[planned.label] = Child(planned.label, {**extra, **planned.options})
    return list(children.values()), skipped


def fan_out_for(job: Job, child_options: Mapping[str, Any], registry: Registry, clock: Clock) -> FanOut:
    """The fan-out of `job`'s scraper, with `child_options` checked against the child's options.

    Raises InvalidOptions naming every problem, like any other option problem.
    """
    fan_out = job.entry.load_class().fan_out
    if fan_out is None:
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
    child = registry.get(fan_out.child)
    problems: list[OptionError] = []
    for name, value in child_options.items():
        # An old spelling (`oddsFormat`) names its option as it does on the command line.
        spec = next((spec for spec in child.options if name in (spec.name, *spec.aliases)), None)
        if (spec.name if spec else name) in fan_out.filled:
            problems.append(OptionError(f"child_options.{name}", "is set from each parent ref", "omit it"))
        elif spec is None:
            free = [s for s in child.options if s.name not in fan_out.filled]
            known = ", ".join(sorted(s.name for s in free))
            problems.append(
                OptionError(
                    f"child_options.{name}",
                    f"is not an option of {child.name} (its options: {known})",
                    free[0].example if free else "omit it",
                )
            )
        elif value is not None:
            try:
                spec.resolve(value, clock)
            except OptionError as problem:
                problems.append(OptionError(f"child_options.{name}", problem.problem, problem.example))
    if problems:
        raise InvalidOptions(problems)
    return fan_out
