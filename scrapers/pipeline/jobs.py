"""A job as a request states it, and its plan: the old body `{"scraper": name, ...options}`.

Every key except the few below is an option of the scraper, resolved exactly as the CLI resolves
`--name value` (date keywords in America/New_York, the same messages for the same mistakes).

Service keys: `fan_out` (true: expand per game / per event into the parent's default children; a
list of child scraper names: those children; see fanout.py), `child_options`
(options added to every child), `deadline_seconds` (at most the service's job deadline),
`workflow` (the completion's `metadata.workflow`) and `source` (the completion's
`trigger_source`; the old executor sent `CONTROLLER`). The old service's `group` and `debug` are
accepted and ignored: `debug` there switched the whole process to DEBUG logging.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from scrapers.core.clock import Clock
from scrapers.core.errors import CourtsideError
from scrapers.core.fanout import FanOut
from scrapers.core.registry import Registry
from scrapers.pipeline.fanout import fan_out_for
from scrapers.pipeline.runner import Job, prepare

SERVICE_KEYS = frozenset({"scraper", "fan_out", "child_options", "deadline_seconds", "workflow", "source"})
IGNORED_KEYS = frozenset({"group", "debug"})
RESERVED_KEYS = SERVICE_KEYS | IGNORED_KEYS
MAX_LABEL_LENGTH = 64
EXAMPLE = '{"scraper": "nbac_scoreboard_v2", "game_date": "2024-01-15"}'
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class MalformedJob(CourtsideError):
    """The request is not a job: not an object, no scraper name, a service key of the wrong type."""

    def __init__(self, message: str, available: list[str] | None = None) -> None:
        super().__init__(message)
        self.available = available


@dataclass(frozen=True)
class JobRequest:
    scraper: str
    options: Mapping[str, object]
    fan_out: bool | tuple[str, ...] = False  # True: the default children; names: those
    child_options: Mapping[str, object] = field(default_factory=dict)
    deadline_seconds: float | None = None
    workflow: str | None = None
    trigger: str | None = None


@dataclass(frozen=True)
class PlannedJob:
    request: JobRequest
    job: Job
    fan_out: tuple[FanOut, ...]  # the parent's children the request asks for; () for none


def read_job(raw: object, known: list[str]) -> JobRequest:
    """Split a decoded body into the scraper, its options and the service keys."""
    if not isinstance(raw, Mapping):
        raise MalformedJob(f"a job is a JSON object such as {EXAMPLE}")
    scraper = raw.get("scraper")
    if not isinstance(scraper, str) or not scraper.strip():
        raise MalformedJob(f"'scraper' (a scraper name) is required, e.g. {EXAMPLE}", known)
    child_options = raw.get("child_options") or {}
    if not isinstance(child_options, Mapping) or not all(isinstance(k, str) for k in child_options):
        raise MalformedJob("'child_options' is an object of options for every child job")
    return JobRequest(
        scraper=scraper.strip(),
        options={str(k): v for k, v in raw.items() if k not in RESERVED_KEYS},
        fan_out=_fan_out(raw.get("fan_out")),
        child_options=dict(child_options),
        deadline_seconds=_seconds(raw.get("deadline_seconds")),
        workflow=_label(raw.get("workflow"), "workflow"),
        trigger=_label(raw.get("source"), "source"),
    )


def job_from_query(items: Iterable[tuple[str, str]], skip: frozenset[str]) -> dict[str, object]:
    """A job sent as a query string; a repeated name becomes a list (for list options)."""
    job: dict[str, object] = {}
    for name, value in items:
        if name in skip:
            continue
        if name in job:
            previous = job[name]
            job[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            job[name] = value
    return job


def read_job_file(text: str, known: list[str]) -> list[JobRequest]:
    """`scrapers run-many --file`: YAML or JSON, a list of jobs or `{jobs: [...]}`.

    Each job is a service body (`{scraper: NAME, OPTION: value, fan_out: true}`), or names its
    options under `options:` as demo.yaml does.
    """
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MalformedJob(f"the jobs file is not YAML or JSON: {exc}") from None
    items = loaded.get("jobs") if isinstance(loaded, Mapping) else loaded
    if not isinstance(items, list) or not items:
        raise MalformedJob("the jobs file lists no jobs (a list, or `jobs:` with a list)")
    jobs = []
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and isinstance(item.get("options"), Mapping):
            item = {**{k: v for k, v in item.items() if k != "options"}, **item["options"]}
        try:
            jobs.append(read_job(_plain(item), known))
        except MalformedJob as exc:
            raise MalformedJob(f"job {index + 1}: {exc}", exc.available) from None
    return jobs


def plan_job(request: JobRequest, registry: Registry, clock: Clock) -> PlannedJob:
    """Resolve the scraper and its options; UnknownScraperError or InvalidOptions as in the CLI."""
    job = prepare(registry, request.scraper, request.options, clock)
    fan_out = (
        fan_out_for(job, request.child_options, registry, clock, request.fan_out) if request.fan_out else ()
    )
    if request.child_options and not fan_out:
        raise MalformedJob("'child_options' needs \"fan_out\": true")
    return PlannedJob(request, job, fan_out)


def _fan_out(value: object) -> bool | tuple[str, ...]:
    if isinstance(value, list) and value and all(isinstance(name, str) and name for name in value):
        return tuple(value)
    if isinstance(value, list):
        raise MalformedJob("'fan_out' is true, false or a list of child scraper names")
    return _flag(value, "fan_out")


def _flag(value: object, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise MalformedJob(f"'{name}' is true or false")


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number <= 0:
        raise MalformedJob("'deadline_seconds' is a positive number of seconds")
    return number


def _label(value: object, name: str) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_LABEL_LENGTH
        or not all(c.isalnum() or c in "_.:-" for c in value)
        or not value.isascii()
    ):
        raise MalformedJob(f"'{name}' is 1 to {MAX_LABEL_LENGTH} letters, digits or _.:-")
    return value


def _plain(value: Any) -> Any:
    """YAML reads 2024-01-15 as a date; options take text, as on the command line."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
