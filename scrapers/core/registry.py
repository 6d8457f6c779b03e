"""registry.yaml: the one list of scrapers. Loading validates everything and reports every problem."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import string
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import OptionError, RegistryError, UnknownScraperError
from scrapers.core.options import PYTHON_TYPES, OptionSpec, OptionType, ScraperOptions
from scrapers.core.scraper import Scraper
from scrapers.core.source_spec import SourceSpec, read_source

# Placeholders the runner always fills: the landing time and the job's Eastern date.
RUN_PLACEHOLDERS = frozenset({"timestamp", "date"})


@dataclass(frozen=True)
class SourceEntry:
    name: str
    description: str
    settings: SourceSpec = field(default_factory=SourceSpec)  # validated: unknown keys are problems


@dataclass(frozen=True)
class QualityPolicy:
    """`quality:` of a scraper entry: what a `fail` verdict of its data-quality checks does."""

    fail_marks_partial: bool = False  # report the run `partial` (it still lands) instead of `success`


ENTRY_KEYS = frozenset(
    {"name", "class", "source", "description", "path", "raw_path", "entity", "aliases", "quality", "differs"}
)
QUALITY_KEYS = frozenset(spec.name for spec in dataclasses.fields(QualityPolicy))


@dataclass(frozen=True)
class ScraperEntry:
    name: str
    target: str
    source: str
    description: str
    path: str
    raw_path: str | None = None
    # Entity segments, one per filtering option (`team_{team_id}`): each whose options are set
    # joins the folder before the file name, so two jobs filtered differently never compete for
    # one object path (the old contract's `<date>/[<entity>/]<timestamp>` shape).
    entity: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    # Where the landed document deliberately differs from what the old platform's production
    # landed (a documented old bug it does not repeat); shown in the README's scraper table.
    differs: str | None = None

    @property
    def path_shape(self) -> str:
        """The path template as a reader sees it: the entity folder, when declared, in brackets."""
        if not self.entity:
            return self.path
        folder, _, name = self.path.rpartition("/")
        return f"{folder}/[{'-'.join(self.entity)}/]{name}"

    def load_class(self) -> type[Scraper[Any]]:
        module_name, _, class_name = self.target.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(cls, type) and issubclass(cls, Scraper)):
            raise TypeError(f"{self.target} is not a Scraper subclass")
        return cls

    def create(self) -> Scraper[Any]:
        return self.load_class()()

    @functools.cached_property
    def options(self) -> tuple[OptionSpec, ...]:
        """The scraper's options, as its options model declares them (their only declaration)."""
        return self.load_class().options_type.specs()

    def option(self, name: str) -> OptionSpec | None:
        return next((spec for spec in self.options if spec.name == name), None)


@dataclass(frozen=True)
class Registry:
    path: Path
    scrapers: Mapping[str, ScraperEntry]
    sources: Mapping[str, SourceEntry]
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The project root: fixtures and other project files are found relative to it."""
        return self.path.parent

    def get(self, name: str) -> ScraperEntry:
        canonical = self.aliases.get(name, name)
        entry = self.scrapers.get(canonical)
        if entry is None:
            raise UnknownScraperError(name, self.names())
        return entry

    def names(self) -> list[str]:
        return sorted(self.scrapers)


def default_registry_path() -> Path:
    """The registry.yaml the package ships (package data, so an installed wheel has it); a
    deployment names another with COURTSIDE_REGISTRY (Settings).

    In a checkout, `scrapers/registry.yaml` is a symbolic link to the project's `registry.yaml`,
    the one copy everyone edits; resolving it keeps the project root as the registry's root, where
    `tests/fixtures` is found.
    """
    return (Path(__file__).resolve().parents[1] / "registry.yaml").resolve()


def load_registry(path: Path | None = None) -> Registry:
    """Load and validate; raise RegistryError listing every problem found."""
    registry, problems = inspect_registry(path)
    if problems:
        raise RegistryError(problems)
    return registry


def inspect_registry(path: Path | None = None) -> tuple[Registry, list[str]]:
    """Load as much as possible and return every problem instead of stopping at the first."""
    path = path or default_registry_path()
    problems: list[str] = []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError([f"{path}: cannot read: {exc}"]) from None
    if not isinstance(document, dict):
        raise RegistryError([f"{path}: expected a mapping with 'sources' and 'scrapers'"])

    sources = _load_sources(document.get("sources"), problems)
    scrapers: dict[str, ScraperEntry] = {}
    aliases: dict[str, str] = {}
    for index, raw in enumerate(document.get("scrapers") or []):
        entry = _load_entry(raw, index, problems)
        if entry is None:
            continue
        for name in (entry.name, *entry.aliases):
            owner = name if name in scrapers else aliases.get(name)
            if owner is not None:
                kind = "name" if name == entry.name else "alias"
                taken = "" if owner == name else f" (an alias of {owner})"
                problems.append(
                    f"{entry.name}: duplicate scraper name: {kind} '{name}' is already taken{taken}"
                )
        if entry.name in scrapers:
            continue
        scrapers[entry.name] = entry
        aliases.update(dict.fromkeys(entry.aliases, entry.name))
        if entry.source not in sources:
            problems.append(f"{entry.name}: unknown source '{entry.source}' (known: {', '.join(sources)})")
        problems.extend(_check_entry(entry))
    return Registry(path=path, scrapers=scrapers, sources=sources, aliases=aliases), problems


def _load_sources(raw: object, problems: list[str]) -> dict[str, SourceEntry]:
    if not isinstance(raw, dict):
        problems.append("'sources' must be a mapping of source name to settings")
        return {}
    sources = {}
    for name, settings in raw.items():
        settings = settings or {}
        if not isinstance(settings, dict):
            problems.append(f"source {name}: settings must be a mapping")
            continue
        spec, found = read_source(str(name), settings)
        problems.extend(found)
        sources[str(name)] = SourceEntry(name=str(name), description=spec.description, settings=spec)
    return sources


def _load_entry(raw: object, index: int, problems: list[str]) -> ScraperEntry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        problems.append(f"scrapers[{index}]: every entry needs a 'name'")
        return None
    name = raw["name"]
    missing = [key for key in ("class", "source", "description", "path") if not raw.get(key)]
    unknown = sorted(str(key) for key in raw.keys() - ENTRY_KEYS - {"options"})
    if unknown:
        # A misspelled key (`qualty:`, `raw-path:`) would otherwise be ignored without a word.
        problems.append(
            f"{name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(ENTRY_KEYS))}"
        )
    if missing:
        problems.append(f"{name}: missing {', '.join(missing)}")
        return None
    if "options" in raw:
        problems.append(
            f"{name}: 'options:' is no longer read here; options are declared once, in the options model "
            f"of {raw['class']} (option(...) fields, see scrapers/core/options.py)"
        )
    raw_aliases = raw.get("aliases") or ()
    if isinstance(raw_aliases, str):
        raw_aliases = (raw_aliases,)  # `aliases: old_name` means one alias, not one per character
    return ScraperEntry(
        name=name,
        target=str(raw["class"]),
        source=str(raw["source"]),
        description=str(raw["description"]),
        path=str(raw["path"]),
        raw_path=raw.get("raw_path"),
        entity=tuple(str(segment) for segment in _as_list(raw.get("entity"))),
        aliases=tuple(str(alias) for alias in raw_aliases),
        quality=_load_quality(name, raw.get("quality"), problems),
        differs=str(raw["differs"]) if raw.get("differs") else None,
    )


def _as_list(raw: object) -> list[object]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def _load_quality(name: str, raw: object, problems: list[str]) -> QualityPolicy:
    if raw is None:
        return QualityPolicy()
    if not isinstance(raw, dict):
        problems.append(f"{name}: 'quality' must be a mapping like {{fail_marks_partial: true}}")
        return QualityPolicy()
    unknown = sorted(str(key) for key in raw.keys() - QUALITY_KEYS)
    if unknown:
        known = ", ".join(sorted(QUALITY_KEYS))
        problems.append(f"{name}: unknown 'quality' key(s) {', '.join(unknown)} (known: {known})")
    flag = raw.get("fail_marks_partial", False)
    if not isinstance(flag, bool):
        problems.append(f"{name}: quality.fail_marks_partial must be true or false, not {flag!r}")
        return QualityPolicy()
    return QualityPolicy(fail_marks_partial=flag)


def _check_entry(entry: ScraperEntry) -> list[str]:
    try:
        cls = entry.load_class()
    except Exception as exc:  # noqa: BLE001 - importing a module can raise anything; report it with the rest
        return [f"{entry.name}: class {entry.target} does not import: {type(exc).__name__}: {exc}"]
    problems = _check_options_type(entry, cls)
    if problems:
        return problems
    check_clock = FrozenClock(datetime(2024, 1, 15, 17, 0, tzinfo=UTC))
    for spec in entry.options:
        if spec.required and spec.default is not None:
            problems.append(f"{entry.name}: option '{spec.name}' is required but has a default")
        if spec.type is OptionType.CHOICE and not spec.choices:
            problems.append(f"{entry.name}: option '{spec.name}' is a choice without choices")
            continue  # its example and default cannot resolve either: one finding is enough
        for label, value in (("example", spec.example), ("default", spec.default)):
            if value is None:
                continue
            try:
                spec.resolve(value, check_clock)
            except OptionError as exc:
                problems.append(f"{entry.name}: option '{spec.name}' {label} is invalid: {exc.problem}")
    provided = RUN_PLACEHOLDERS | {spec.name for spec in entry.options} | cls.path_fields
    in_paths: set[str] = set()
    for template in filter(None, (entry.path, entry.raw_path)):
        try:
            names = placeholders(template)
        except ValueError as exc:
            problems.append(f"{entry.name}: path '{template}' is not a valid template: {exc}")
            continue
        in_paths.update(names)
        for placeholder in names:
            if placeholder not in provided:
                problems.append(
                    f"{entry.name}: path placeholder '{{{placeholder}}}' in '{template}' "
                    "is filled by no option and not provided by the scraper"
                )
    options = {spec.name for spec in entry.options}
    for segment in entry.entity:
        try:
            names = placeholders(segment)
        except ValueError as exc:
            problems.append(f"{entry.name}: entity '{segment}' is not a valid template: {exc}")
            continue
        if not names or "/" in segment or not set(names) <= options:
            problems.append(
                f"{entry.name}: entity '{segment}' must be one path segment naming options "
                f"({', '.join(sorted(options)) or 'none'}), e.g. team_{{team_id}}"
            )
        in_paths.update(names)
    problems.extend(_unpatterned_ids(entry, in_paths))
    if cls.date_option is not None:
        date_spec = entry.option(cls.date_option)
        if date_spec is None or date_spec.type is not OptionType.DATE:
            problems.append(f"{entry.name}: date_option '{cls.date_option}' is not a date option")
    return problems


def _unpatterned_ids(entry: ScraperEntry, in_paths: set[str]) -> list[str]:
    """Free text that fills a path placeholder or names an id (it enters a URL) needs a pattern:
    whatever a caller or an upstream body (fan-out children) passes goes there verbatim. The
    example and the default are checked against it above, like every other value."""
    return [
        f"{entry.name}: option '{spec.name}' "
        f"{'fills a path placeholder' if spec.name in in_paths else 'is an id'} "
        "but declares no pattern (option(..., pattern=...))"
        for spec in entry.options
        if spec.type in (OptionType.STR, OptionType.LIST)
        and spec.pattern is None
        and (spec.name in in_paths or spec.name.endswith(_ID_SUFFIXES))
    ]


# Option names that hold upstream ids (`event_id`, `game_ids`, `game_code`, `team_abbr`).
_ID_SUFFIXES = ("_id", "_ids", "_code", "_abbr")


def _check_options_type(entry: ScraperEntry, cls: type[Scraper[Any]]) -> list[str]:
    options_type = getattr(cls, "options_type", None)
    if not (isinstance(options_type, type) and issubclass(options_type, ScraperOptions)):
        return [f"{entry.name}: {entry.target}.options_type must be a ScraperOptions model"]
    try:
        specs = options_type.specs()
        hints = typing.get_type_hints(options_type)
    except (NameError, TypeError) as exc:
        return [f"{entry.name}: the options of {entry.target} do not resolve: {exc}"]
    names = [name for spec in specs for name in (spec.name, *spec.aliases)]
    problems = [
        f"{entry.name}: option name '{name}' is declared twice (as a name or an alias)"
        for name in sorted({name for name in names if names.count(name) > 1})
    ]
    for spec in specs:
        expected = _expected_annotation(spec)
        if hints[spec.name] != expected:
            problems.append(
                f"{entry.name}: option '{spec.name}' is {spec.type.value} "
                f"({'required' if spec.required else 'optional'}), so the model must "
                f"declare {_type_name(expected)}, not {_type_name(hints[spec.name])}"
            )
    return problems


def _expected_annotation(spec: OptionSpec) -> object:
    base: object = tuple[str, ...] if spec.type is OptionType.LIST else PYTHON_TYPES[spec.type]
    if not spec.required and spec.default is None:
        return base | None  # type: ignore[operator]
    return base


def _type_name(annotation: object) -> str:
    if isinstance(annotation, type):  # false for tuple[str, ...] since Python 3.11
        return annotation.__name__
    return str(annotation).replace("datetime.", "").replace("scrapers.core.season.", "")


def placeholders(template: str) -> list[str]:
    """The field names of a path template, in order (`{date}` -> `date`)."""
    # `name is None` marks literal text; an empty name is a positional `{}` that no option fills.
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
