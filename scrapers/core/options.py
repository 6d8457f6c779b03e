"""Option specs and their resolution: one code path for the CLI, the service and the library.

Resolution is pure: it reads the clock it is given and never touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, JsonValue

from scrapers.core.clock import EASTERN, Clock, eastern_today
from scrapers.core.errors import InvalidOptions, OptionError, did_you_mean
from scrapers.core.season import Season


class OptionType(StrEnum):
    DATE = "date"
    DATETIME = "datetime"
    SEASON = "season"
    STR = "str"
    INT = "int"
    BOOL = "bool"
    LIST = "list"
    CHOICE = "choice"


# The Python type a scraper's options model declares for each option type.
PYTHON_TYPES: dict[OptionType, type] = {
    OptionType.DATE: date,
    OptionType.DATETIME: datetime,
    OptionType.SEASON: Season,
    OptionType.STR: str,
    OptionType.INT: int,
    OptionType.BOOL: bool,
    OptionType.LIST: tuple,
    OptionType.CHOICE: str,
}


class NowPart(StrEnum):
    """What `NOW` stands for in an option that is one part of a report time (the injury report's
    `hour`, `period` and `minute`): that part of the current Eastern time. The parts agree with each
    other (the quarter hour is rounded down, so it never moves the hour), so `--hour NOW --period NOW
    --minute NOW` names the report slot that has begun. A datetime option takes `NOW` as the moment."""

    HOUR12 = "hour12"  # 1-12: the hour on a 12-hour clock
    PERIOD = "period"  # AM or PM
    QUARTER = "quarter"  # 00, 15, 30 or 45: the quarter hour that has begun

    def of(self, moment: datetime) -> str:
        local = moment.astimezone(EASTERN)
        if self is NowPart.HOUR12:
            return str(local.hour % 12 or 12)
        if self is NowPart.PERIOD:
            return "AM" if local.hour < 12 else "PM"
        return f"{local.minute // 15 * 15:02d}"

    @property
    def values(self) -> tuple[str, ...]:
        """Every text `of` can give: what a choice option declaring this part must accept."""
        if self is NowPart.HOUR12:
            return tuple(str(hour) for hour in range(1, 13))
        if self is NowPart.PERIOD:
            return ("AM", "PM")
        return ("00", "15", "30", "45")


NOW = "NOW"
# Option types whose values could be mistaken for the keyword: `NOW` there gets a message that says
# where it applies, instead of "'NOW' is not an integer".
_NOW_MISTAKEN = frozenset({"date", "season", "int", "choice"})

# At most four digits of offset (27 years), so `TODAY+400000` is not a date at all.
_DAY_KEYWORD = re.compile(r"^(TODAY|YESTERDAY|TOMORROW)(?:([+-])(\d{1,4}))?$")
_KEYWORD_OFFSETS = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}

# The years any date, time or season may name: the NBA (BAA) began in 1946, and nothing upstream
# holds data past 2100. Outside them a value is a typo or an attack, never a real request: years
# below 1000 reach an upstream malformed (`999-01-01`), and `9999-12-31` overflows date arithmetic.
FIRST_YEAR = 1946
LAST_YEAR = 2100


@dataclass(frozen=True)
class OptionSpec:
    name: str
    type: OptionType
    required: bool
    example: str
    default: str | None = None
    help: str = ""
    choices: tuple[str, ...] = ()
    # Old spellings still accepted (schedulers in production pass them); shown as deprecated.
    aliases: tuple[str, ...] = ()
    # What a str value (each item of a list) must fully match: ids enter object paths and URLs, and
    # a value from a caller or from an upstream body (fan-out children) must not be able to add a
    # path segment, a query parameter or a control character. `shape` says it in words.
    pattern: str | None = None
    shape: str = ""
    # What `NOW` means for this option (a part of the current Eastern time); None: it takes no NOW
    # (a datetime takes it as the moment whatever this says).
    now: NowPart | None = None

    def resolve(self, raw: object, clock: Clock) -> Any:
        """Turn one user-supplied value into its typed value, or raise OptionError naming it."""
        raw = self._now(raw, clock)
        try:
            value = _PARSERS[self.type](self, raw, clock)
        except OptionError:
            raise
        except OverflowError:
            # Date arithmetic past year 9999 (`9999-12-31T23:00:00-05:00` in UTC).
            raise OptionError(
                self.name, f"{shown(raw)} is outside the years {_YEARS}", self.example
            ) from None
        except (ValueError, TypeError) as exc:
            raise OptionError(self.name, str(exc), self.example) from None
        self._check_year(value)
        self._check_pattern(value)
        return value

    def _now(self, raw: object, clock: Clock) -> object:
        """`NOW` as this option's part of the clock's Eastern time, before the type's parser."""
        if not (isinstance(raw, str) and raw.strip().upper() == NOW):
            return raw
        if self.now is not None:
            return self.now.of(clock.now())
        if self.type.value in _NOW_MISTAKEN:
            raise OptionError(
                self.name,
                f"takes no NOW (NOW is the current time for datetimes, and the current hour, period or "
                f"quarter hour for an option that is part of a report time; {self.name} is a "
                f"{self.type.value})",
                self.example,
            )
        return raw

    def _check_year(self, value: object) -> None:
        year = value.start_year if isinstance(value, Season) else getattr(value, "year", None)
        if isinstance(year, int) and not FIRST_YEAR <= year <= LAST_YEAR:
            raise OptionError(
                self.name, f"{option_to_text(value)} is outside the years {_YEARS}", self.example
            )

    def _check_pattern(self, value: object) -> None:
        if self.pattern is None:
            return
        items = value if isinstance(value, tuple) else (value,)
        bad = [item for item in items if not re.fullmatch(self.pattern, str(item))]
        if bad:
            what = self.shape or f"of the form {self.pattern}"
            raise OptionError(
                self.name, f"{', '.join(shown(item) for item in bad)} is not {what}", self.example
            )

    def describe(self) -> str:
        parts = [self.type.value]
        if self.choices:
            parts.append("one of " + "|".join(self.choices))
        if self.required:
            parts.append("required")
        elif self.default is not None:
            parts.append(f"default {self.default}")
        if self.now is not None:
            parts.append("or NOW")
        if self.aliases:
            parts.append(f"deprecated alias {', '.join(self.aliases)}")
        return f"{self.name} ({', '.join(parts)})"


_YEARS = f"{FIRST_YEAR}-{LAST_YEAR}"
_SHOWN_CHARS = 64


def shown(value: object) -> str:
    """A refused value as messages quote it: escaped (a newline or NUL stays visible and cannot
    split a log line) and cut short (a hostile body cannot fill the log)."""
    text = str(value)
    cut = text[:_SHOWN_CHARS]
    return repr(cut) + ("..." if len(text) > _SHOWN_CHARS else "")


def resolve_day(text: str, clock: Clock) -> date:
    """`YYYY-MM-DD`, `YYYYMMDD`, or a keyword (`TODAY`, `YESTERDAY`, `TOMORROW`, `TODAY-3`) in ET."""
    value = text.strip()
    keyword = _DAY_KEYWORD.match(value.upper())
    if keyword:
        offset = _KEYWORD_OFFSETS[keyword.group(1)]
        if keyword.group(2):
            step = int(keyword.group(3))
            offset += step if keyword.group(2) == "+" else -step
        return eastern_today(clock) + timedelta(days=offset)
    # strptime accepts unpadded fields, so `2024115` would silently become 2024-11-05; the compact
    # form is only unambiguous with exactly eight digits.
    formats = ("%Y-%m-%d", "%Y%m%d") if len(value) == 8 and value.isdigit() else ("%Y-%m-%d",)
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date; use YYYY-MM-DD, YYYYMMDD, TODAY, YESTERDAY or TODAY-3")


def _parse_date(spec: OptionSpec, raw: object, clock: Clock) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    return resolve_day(_text(raw), clock)


def _parse_datetime(spec: OptionSpec, raw: object, clock: Clock) -> datetime:
    if isinstance(raw, datetime):
        moment = raw
    else:
        text = _text(raw).strip()
        if text.upper() == "NOW":
            return clock.now()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"'{raw}' has no time zone; write it in UTC like 2024-01-15T23:00:00Z")
    return moment.astimezone(UTC)


def _parse_season(spec: OptionSpec, raw: object, clock: Clock) -> Season:
    if isinstance(raw, Season):
        return raw
    # An int goes through the same text check as "2023", so 23 or True never become a season.
    text = _text(raw).strip()
    if text.upper() == "CURRENT":
        return Season.of(eastern_today(clock))
    return Season.parse(text)


def _parse_str(spec: OptionSpec, raw: object, clock: Clock) -> str:
    text = _text(raw).strip()
    if not text:
        raise ValueError("is empty")
    return text


def _parse_int(spec: OptionSpec, raw: object, clock: Clock) -> int:
    if isinstance(raw, bool):
        raise TypeError(f"'{raw}' is not an integer")
    if isinstance(raw, int):
        return raw
    try:
        return int(_text(raw).strip())
    except ValueError:
        raise ValueError(f"'{raw}' is not an integer") from None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_bool(spec: OptionSpec, raw: object, clock: Clock) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"'{raw}' is not a boolean; use true or false")


def _parse_list(spec: OptionSpec, raw: object, clock: Clock) -> tuple[str, ...]:
    items = [str(item) for item in raw] if isinstance(raw, list | tuple) else _text(raw).split(",")
    values = tuple(item.strip() for item in items if item.strip())
    if not values:
        raise ValueError("is an empty list")
    return values


def _parse_choice(spec: OptionSpec, raw: object, clock: Clock) -> str:
    text = _text(raw).strip()
    if text not in spec.choices:
        raise ValueError(f"'{text}' is not one of {', '.join(spec.choices)}")
    return text


def _text(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float):
        return str(raw)
    raise TypeError(f"expected text, got {type(raw).__name__}")


_PARSERS: dict[OptionType, Callable[[OptionSpec, object, Clock], Any]] = {
    OptionType.DATE: _parse_date,
    OptionType.DATETIME: _parse_datetime,
    OptionType.SEASON: _parse_season,
    OptionType.STR: _parse_str,
    OptionType.INT: _parse_int,
    OptionType.BOOL: _parse_bool,
    OptionType.LIST: _parse_list,
    OptionType.CHOICE: _parse_choice,
}


def _canonical_names(
    specs: tuple[OptionSpec, ...], raw: Mapping[str, object], problems: list[OptionError]
) -> dict[str, object]:
    """Old spellings under their canonical name; both spellings in one call is a problem."""
    canonical = {alias: spec.name for spec in specs for alias in spec.aliases}
    named: dict[str, object] = {}
    given_as: dict[str, str] = {}
    for name, value in raw.items():
        target = canonical.get(name, name)
        if target in given_as:
            spec = next(spec for spec in specs if spec.name == target)
            problems.append(
                OptionError(
                    target,
                    f"is given twice, as '{given_as[target]}' and as '{name}'; give it once",
                    spec.example,
                )
            )
            continue
        given_as[target] = name
        named[target] = value
    return named


def resolve_options(specs: tuple[OptionSpec, ...], raw: Mapping[str, object], clock: Clock) -> dict[str, Any]:
    """Resolve every option: the given value, else the registry default, else None.

    Unknown names are errors too, so a typo never silently falls back to a default. Every problem
    is collected before raising, so one message names all of them.
    """
    known = {spec.name: spec for spec in specs}
    problems: list[OptionError] = []
    raw = _canonical_names(specs, raw, problems)
    for name in raw:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            example = next(iter(known.values())).example if known else "(this scraper takes no options)"
            guess = did_you_mean(name, known)
            problems.append(
                OptionError(name, f"is not an option of this scraper{guess} (its options: {listed})", example)
            )
    resolved: dict[str, Any] = {}
    for spec in specs:
        value = raw.get(spec.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.required:
                problems.append(OptionError(spec.name, "is required and missing", spec.example))
                continue
            value = spec.default
        try:
            resolved[spec.name] = None if value is None else spec.resolve(value, clock)
        except OptionError as problem:
            problems.append(problem)
    if problems:
        raise InvalidOptions(problems)
    return resolved


def option_to_text(value: object) -> object:
    """The JSON form of a resolved value, used in events, summaries and job keys."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Season):
        return value.nba_format
    if isinstance(value, tuple):
        return list(value)
    return value


# --- the options model: a scraper declares its options once -------------------------------------

_SPEC_KEY = "courtside_option"


def option(
    kind: OptionType | str,
    *,
    example: str,
    help: str = "",
    default: str | None = None,
    required: bool = False,
    choices: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    pattern: str | None = None,
    shape: str = "",
    now: NowPart | None = None,
) -> Any:
    """Declare one option of a scraper's options model (its only declaration).

    `default` is text resolved at run time like a user's value (`TODAY`, `CURRENT`), so it never
    becomes a pydantic default; `aliases` are old spellings still accepted, listed as deprecated.
    `pattern` is a regular expression a str value (each item of a list) must match in full, `shape`
    the same in words for messages (`YYYYMMDD/AWYHOM`): every id that enters a path or a URL has one.
    `now` lets the option take `NOW`, standing for that part of the current Eastern time (an int
    hour, or a choice whose choices hold every value the part can take).
    """
    if choices and OptionType(kind) is not OptionType.CHOICE:
        raise TypeError(f"choices= only applies to a choice option, not {OptionType(kind).value}")
    if pattern is not None:
        if OptionType(kind) not in (OptionType.STR, OptionType.LIST):
            raise TypeError(f"pattern= only applies to a str or list option, not {OptionType(kind).value}")
        re.compile(pattern)  # a broken pattern fails at import, which `scrapers check` reports
    if now is not None:
        if OptionType(kind) not in (OptionType.INT, OptionType.CHOICE):
            raise TypeError(f"now= only applies to an int or choice option, not {OptionType(kind).value}")
        if choices and not set(NowPart(now).values) <= set(choices):
            raise TypeError(f"now={NowPart(now).value} gives values outside the choices {choices}")
    spec: dict[str, JsonValue] = {
        "type": OptionType(kind).value,
        "example": example,
        "default": default,
        "required": required,
        "choices": list[JsonValue](choices),
        "aliases": list[JsonValue](aliases),
        "pattern": pattern,
        "shape": shape,
        "now": None if now is None else NowPart(now).value,
    }
    return Field(
        description=help,
        examples=[example],
        validation_alias=AliasChoices(*aliases) if aliases else None,
        json_schema_extra={_SPEC_KEY: spec},
    )


class ScraperOptions(BaseModel):
    """Base of every scraper's options model: frozen, no unknown fields, typed values only.

    The runner passes every option already resolved (keywords, defaults, seasons); the model is
    what the scraper's code reads (`opts.game_date`), and the one place its options are declared:
    the registry check, `scrapers list`, `run NAME --help`, GET /scrapers, the OpenAPI description
    and the README table all read `specs()`.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, populate_by_name=True
    )

    @classmethod
    def specs(cls) -> tuple[OptionSpec, ...]:
        specs = []
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra
            spec = extra.get(_SPEC_KEY) if isinstance(extra, dict) else None
            if not isinstance(spec, dict):
                raise TypeError(f"{cls.__name__}.{name} is not declared with option(...)")
            specs.append(
                OptionSpec(
                    name=name,
                    type=OptionType(str(spec["type"])),
                    required=bool(spec["required"]),
                    example=str(spec["example"]),
                    default=None if spec["default"] is None else str(spec["default"]),
                    help=field.description or "",
                    choices=tuple(str(choice) for choice in spec["choices"]),  # type: ignore[union-attr]
                    aliases=tuple(str(alias) for alias in spec["aliases"]),  # type: ignore[union-attr]
                    pattern=None if spec.get("pattern") is None else str(spec["pattern"]),
                    shape=str(spec.get("shape") or ""),
                    now=None if spec.get("now") is None else NowPart(str(spec["now"])),
                )
            )
        return tuple(specs)


class NoOptions(ScraperOptions):
    """The options model of a scraper that takes none."""
