"""Fan-out: a parent's typed id list (`RunResult.fan_out`) becomes one child job per game or event.

    nbac_scoreboard_v2 --gamedate D   ->  nbac_gamebook_pdf --game_code <GameRef.game_code>   per game
    oddsa_events --game_date D        ->  oddsa_player_props --event_id <EventRef.event_id>
                                                             --game_date D [--sport S]        per event

The child options come from the parent's refs and options; a request may add others for every
child (`child_options`, e.g. `{"markets": "player_points,player_rebounds"}`) but never the ones a
ref fills. Shared by the service and `scrapers run-many`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scrapers.core.clock import Clock
from scrapers.core.errors import InvalidOptions, OptionError
from scrapers.core.fanout import EventRef, FanOutRef, GameRef
from scrapers.core.registry import Registry
from scrapers.core.result import RunResult
from scrapers.pipeline.runner import Job


@dataclass(frozen=True)
class Child:
    label: str  # what the child is about, for progress lines: a game code, an event id
    options: Mapping[str, Any]


# (parent job, one ref) -> the child's label and options, or a reason to skip the ref.
ChildOptions = Callable[[Job, FanOutRef], Child | str]


@dataclass(frozen=True)
class FanOutRule:
    parent: str
    child: str
    filled: tuple[str, ...]  # child options every ref fills; a request cannot override them
    options: ChildOptions

    def expand(
        self, parent: Job, result: RunResult, extra: Mapping[str, Any]
    ) -> tuple[list[Child], list[str]]:
        """One child per distinct ref, in the parent's order, and the refs skipped with their reason."""
        children: dict[str, Child] = {}
        skipped: list[str] = []
        for ref in result.fan_out:
            planned = self.options(parent, ref)
            if isinstance(planned, str):
                skipped.append(planned)
            elif planned.label not in children:
                children[planned.label] = Child(planned.label, {**extra, **planned.options})
        return list(children.values()), skipped


def _gamebook(parent: Job, ref: FanOutRef) -> Child | str:
    if not isinstance(ref, GameRef):
        return f"{ref.kind} ref is not a game"
    if not ref.game_code:
        return f"game {ref.game_id} has no game code"
    return Child(ref.game_code, {"game_code": ref.game_code})


def _player_props(parent: Job, ref: FanOutRef) -> Child | str:
    if not isinstance(ref, EventRef):
        return f"{ref.kind} ref is not an event"
    texts = parent.option_texts()
    options = {"event_id": ref.event_id, "game_date": texts["game_date"]}
    if "sport" in texts:
        options["sport"] = texts["sport"]
    return Child(ref.event_id, options)


RULES: Mapping[str, FanOutRule] = {
    "nbac_scoreboard_v2": FanOutRule("nbac_scoreboard_v2", "nbac_gamebook_pdf", ("game_code",), _gamebook),
    "oddsa_events": FanOutRule(
        "oddsa_events", "oddsa_player_props", ("event_id", "game_date", "sport"), _player_props
    ),
}


def describe_rules() -> str:
    return ", ".join(f"{rule.parent} -> {rule.child}" for rule in RULES.values())


def rule_for(job: Job, child_options: Mapping[str, Any], registry: Registry, clock: Clock) -> FanOutRule:
    """The fan-out of `job`'s scraper, with `child_options` checked against the child's options.

    Raises InvalidOptions naming every problem, like any other option problem.
    """
    rule = RULES.get(job.entry.name)
    if rule is None:
        raise InvalidOptions(
            [
                OptionError(
                    "fan_out",
                    f"{job.entry.name} has no per-game or per-event children (fan-out: {describe_rules()})",
                    "false",
                )
            ]
        )
    child = registry.get(rule.child)
    problems: list[OptionError] = []
    for name, value in child_options.items():
        spec = child.option(name)
        if name in rule.filled:
            problems.append(OptionError(f"child_options.{name}", "is set from each parent ref", "omit it"))
        elif spec is None:
            free = [s for s in child.options if s.name not in rule.filled]
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
    return rule
