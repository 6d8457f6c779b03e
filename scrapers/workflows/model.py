"""workflows.yaml as typed data: named workflows, each a trigger on the league calendar and its jobs.

    late_after: 15m                 # a window run later than this after it was due is a catch-up
    workflows:
      injury_reports:
        description: the official injury report of every quarter hour on game days
        trigger: {every: 15m, from: "08:00", to: "23:45"}
        jobs:
          - scraper: nbac_injury_report
            options: {game_date: TODAY, hour: NOW, period: NOW, minute: NOW}

Triggers (one kind per trigger; times of day are America/New_York):

    {at: "08:00"}                               every day at 08:00 (game_days: true: game days only)
    {every: 15m, from: "08:00", to: "23:45"}    every 15 minutes between the two, on game days
                                                (game_days: false: every day); `to` before `from`
                                                runs past midnight, still the same league day
    {before_first_tip: 3h}                      on a game day, 3 hours before its first tip
    {after_last_final: 30m}                     on a game day, 30 minutes after its last game is final
    {morning_after: "06:00"}                    at 06:00 the day after a game day; with `recover:`
                                                it re-runs the jobs of those workflows for yesterday's
                                                games whose ledger status is failed or missing

A job is a scraper and its options in the CLI's vocabulary: date keywords (`TODAY`, `YESTERDAY`,
`TODAY-3`) are relative to the window's league day, `NOW` is the window's moment, `a,b,c` runs one
job per value (as `backfill`). `fan_out` runs a parent's declared children (true: the defaults; a
list: those named), `child_options` are given to every child, and `refresh: true` fetches a job
again even when the ledger has it done (a snapshot of something that changes: the schedule, a
scoreboard, rosters, odds); otherwise a job is fetched once per job key, as everywhere.

`stale_after` bounds how late a missed window still runs (default per trigger, see STALE_DEFAULTS):
past it, the window is recorded `stale` and skipped, and the tick says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from scrapers.core.errors import BadConfiguration

WORKFLOWS_FILE = "workflows.yaml"
# Workflow names become metric labels and record keys: short, lower-case, bounded.
NAME_PATTERN = r"[a-z][a-z0-9_]{0,47}"
DEFAULT_LATE_AFTER = timedelta(minutes=15)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

# How an example of each key looks, for messages (`example: ...`).
EXAMPLES: Mapping[str, str] = {
    "late_after": "15m",
    "workflows": "{morning: {description: ..., trigger: {at: '08:00'}, jobs: [...]}}",
    "description": "the schedule and rosters, every morning",
    "trigger": "{at: '08:00'}",
    "at": "'08:00'",
    "every": "15m",
    "from": "'08:00'",
    "to": "'23:45'",
    "game_days": "true",
    "before_first_tip": "3h",
    "after_last_final": "30m",
    "morning_after": "'06:00'",
    "stale_after": "2h",
    "jobs": "[{scraper: nbac_scoreboard_v2, options: {game_date: TODAY}}]",
    "recover": "[post_game]",
    "scraper": "nbac_scoreboard_v2",
    "options": "{game_date: TODAY}",
    "fan_out": "[nbac_gamebook_pdf]",
    "child_options": "{markets: player_points}",
    "refresh": "true",
}


class WorkflowsError(BadConfiguration):
    """workflows.yaml cannot be used (exit 2): every problem, each naming the workflow and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------------- value types


def parse_duration(value: object) -> timedelta:
    """`90s`, `15m`, `3h`, `1d` (a number and a unit); a bare number is refused (seconds? minutes?)."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration: a number and a unit s, m, h or d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return timedelta(seconds=seconds)


def parse_time(value: object) -> time:
    """`HH:MM` on a 24-hour clock (Eastern time is implied everywhere in this file)."""
    if isinstance(value, time):
        return value
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a time of day HH:MM (24-hour clock)")
    return time(int(match.group(1)), int(match.group(2)))


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
TimeOfDay = Annotated[time, BeforeValidator(parse_time)]


def describe_duration(span: timedelta) -> str:
    """`15m`, `3h`, `1h30m`, `2d` as the file writes them."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _option_value(value: object) -> object:
    """YAML reads 2024-01-15 as a date and `a, b` lists as lists; options take text, as on the
    command line (a list stays a list: a list option takes it as its items)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_option_value(item) for item in value]
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"{value!r} is not an option value (text, a number, true/false or a list)")


OptionValue = Annotated[object, BeforeValidator(_option_value)]


# --------------------------------------------------------------------------------- triggers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class At(_Strict):
    """Every day (or every game day) at one time."""

    kind: Literal["at"] = "at"
    at: TimeOfDay
    game_days: bool = False


class Every(_Strict):
    """Every N minutes between two times of the league day, on game days unless `game_days: false`."""

    kind: Literal["every"] = "every"
    every: Duration
    start: TimeOfDay = Field(alias="from")
    end: TimeOfDay = Field(alias="to")
    game_days: bool = True

    @model_validator(mode="after")
    def _sane(self) -> Every:
        if self.start == self.end:
            raise ValueError("'from' and 'to' are the same time: give the last slot of the day")
        if self.every > timedelta(hours=12):
            raise ValueError(f"every {describe_duration(self.every)} is more than 12h: use {{at: ...}}")
        return self

    @property
    def overnight(self) -> bool:
        """The range runs past midnight (`to` before `from`), still the same league day."""
        return self.end < self.start


class BeforeFirstTip(_Strict):
    kind: Literal["before_first_tip"] = "before_first_tip"
    before_first_tip: Duration


class AfterLastFinal(_Strict):
    kind: Literal["after_last_final"] = "after_last_final"
    after_last_final: Duration


class MorningAfter(_Strict):
    kind: Literal["morning_after"] = "morning_after"
    morning_after: TimeOfDay


TRIGGER_KEYS = ("at", "every", "before_first_tip", "after_last_final", "morning_after")


def _trigger_kind(value: Any) -> str | None:
    """The trigger's kind: the one kind key it has (None when it has none or several)."""
    if isinstance(value, BaseModel):
        return str(getattr(value, "kind", None))
    if not isinstance(value, Mapping):
        return None
    kinds = [key for key in TRIGGER_KEYS if key in value]
    return kinds[0] if len(kinds) == 1 else None


Trigger = Annotated[
    Annotated[At, Tag("at")]
    | Annotated[Every, Tag("every")]
    | Annotated[BeforeFirstTip, Tag("before_first_tip")]
    | Annotated[AfterLastFinal, Tag("after_last_final")]
    | Annotated[MorningAfter, Tag("morning_after")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_kind",
        custom_error_message=f"a trigger has exactly one of {', '.join(TRIGGER_KEYS)}",
    ),
]

# How long after its due moment a missed window still runs, per trigger kind (`stale_after`).
# A repeating window is stale an interval later (a newer report or poll replaces it), lines and
# props before the first tip at the tip (Workflow.stale).
STALE_DEFAULTS: Mapping[str, timedelta] = {
    "at": timedelta(hours=12),
    "after_last_final": timedelta(hours=6),
    "morning_after": timedelta(hours=72),
}


# --------------------------------------------------------------------------------- jobs, workflows


class JobSpec(_Strict):
    scraper: str = Field(min_length=1)
    options: dict[str, OptionValue] = Field(default_factory=dict)
    fan_out: bool | list[str] = False
    child_options: dict[str, OptionValue] = Field(default_factory=dict)
    refresh: bool = False

    def describe(self) -> str:
        options = " ".join(f"{key}={value}" for key, value in self.options.items())
        return f"{self.scraper} {options}".strip()


class Workflow(_Strict):
    description: str = Field(min_length=1)
    trigger: Trigger
    jobs: list[JobSpec] = Field(default_factory=list)
    recover: list[str] = Field(default_factory=list)
    stale_after: Duration | None = None

    @model_validator(mode="after")
    def _jobs_or_recovery(self) -> Workflow:
        if self.recover and not isinstance(self.trigger, MorningAfter):
            raise ValueError("'recover' belongs to a {morning_after: ...} trigger (yesterday's games)")
        if not self.jobs and not self.recover:
            raise ValueError("a workflow runs 'jobs' (or, the morning after, 'recover's other workflows)")
        return self

    @property
    def stale(self) -> timedelta:
        """How long after its due moment a missed window still runs."""
        if self.stale_after is not None:
            return self.stale_after
        if isinstance(self.trigger, Every):
            return self.trigger.every
        if isinstance(self.trigger, BeforeFirstTip):
            return self.trigger.before_first_tip
        return STALE_DEFAULTS[self.trigger.kind]


class WorkflowsFile(_Strict):
    late_after: Duration = DEFAULT_LATE_AFTER
    workflows: dict[Annotated[str, Field(pattern=f"^{NAME_PATTERN}$")], Workflow]

    @model_validator(mode="after")
    def _recovered_workflows_exist(self) -> WorkflowsFile:
        for name, workflow in self.workflows.items():
            for other in workflow.recover:
                if other not in self.workflows:
                    raise ValueError(
                        f"workflow '{name}': recover: '{other}' is not a workflow of this file "
                        f"(its workflows: {', '.join(self.workflows)})"
                    )
                if self.workflows[other].recover:
                    raise ValueError(f"workflow '{name}': recover: '{other}' is itself a recovery")
        return self

    def names(self) -> list[str]:
        return list(self.workflows)


# --------------------------------------------------------------------------------- loading


_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
# YAML 1.1's integers without the base-60 form, and its booleans without yes/no/on/off.
_PLAIN_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$")
_PLAIN_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _plain_resolvers(
    resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]],
) -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    kept = {
        first: [(tag, rx) for tag, rx in pairs if tag not in (_INT, _BOOL)]
        for first, pairs in resolvers.items()
    }
    for first in "-+0123456789":
        kept.setdefault(first, []).append((_INT, _PLAIN_INT))
    for first in "tTfF":
        kept.setdefault(first, []).append((_BOOL, _PLAIN_BOOL))
    return kept


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads an unquoted `17:00` as the base-60 number 1020 (but `08:00` as text), and
    `NO` (New Orleans' ESPN code), `on` or `yes` as booleans. Here a time of day and a team code stay
    text, so neither needs quotes; true and false are the only booleans."""

    yaml_implicit_resolvers = _plain_resolvers(yaml.SafeLoader.yaml_implicit_resolvers)


def default_workflows_path() -> Path:
    """The workflows.yaml the package ships (package data, like registry.yaml: in a checkout
    `scrapers/workflows.yaml` is a symbolic link to the project's one copy); a deployment names
    another with COURTSIDE_WORKFLOWS."""
    return (Path(__file__).resolve().parents[1] / WORKFLOWS_FILE).resolve()


def workflows_beside(registry: Path) -> Path:
    """The workflows file of a registry: `workflows.yaml` beside it (the project's beside the
    project's registry, in a checkout and in the wheel), as the fixtures are found beside it."""
    return registry.resolve().parent / WORKFLOWS_FILE


def read_workflows(path: Path) -> WorkflowsFile:
    """Parse and validate the structure; WorkflowsError lists every problem (exit 2). The jobs are
    checked against the registry by `jobs.check_jobs` (`scrapers check`)."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise WorkflowsError([f"{path}: cannot read: {exc}"]) from None
    if not isinstance(document, dict):
        raise WorkflowsError(
            [f"{path}: expected a mapping with 'workflows' (example: {EXAMPLES['workflows']})"]
        )
    try:
        return WorkflowsFile.model_validate(document)
    except ValidationError as exc:
        raise WorkflowsError([_problem(path, error) for error in exc.errors()]) from None


def _problem(path: Path, error: Any) -> str:
    """One pydantic error as `workflows.yaml: workflow 'x': trigger.every: ... (example: 15m)`."""
    loc = [str(part) for part in error.get("loc", ())]
    where = f"{path.name}:"
    if len(loc) >= 2 and loc[0] == "workflows":
        if loc[-1] == "[key]":
            return (
                f"{where} workflow name '{loc[1]}' is not lower-case letters, digits and _ "
                f"(at most 48, starting with a letter; example: morning_operations)"
            )
        where += f" workflow '{loc[1]}':"
        loc = loc[2:]
    # Drop the union's tag from the location (`trigger.every.every` -> `trigger.every`).
    if len(loc) >= 2 and loc[0] == "trigger" and loc[1] in TRIGGER_KEYS:
        loc = ["trigger", *loc[2:]] if len(loc) > 2 else ["trigger", loc[1]]
    if len(loc) >= 2 and loc[0] == "jobs" and loc[1].isdigit():
        where += f" job {int(loc[1]) + 1}:"
        loc = loc[2:]
    key = ".".join(loc)
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = f"is not a key here (known: {_known_keys(where, loc)})"
    elif error.get("type") == "missing":
        message = "is required and missing"
    example = EXAMPLES.get(loc[-1] if loc else "", "")
    text = f"{where} {key}: {message}" if key else f"{where} {message}"
    return f"{text} (example: {example})" if example else text


def _known_keys(where: str, loc: list[str]) -> str:
    if where.endswith(":") and " job " in where:
        return ", ".join(JobSpec.model_fields)
    if loc and loc[0] == "trigger":
        return ", ".join([*TRIGGER_KEYS, "from", "to", "game_days"])
    if " workflow " in where:
        return ", ".join(Workflow.model_fields)
    return ", ".join(WorkflowsFile.model_fields)
