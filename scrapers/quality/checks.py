"""Typed check results and the helpers every source's validators share.

A check looks at one property of a whole document (every row's id, every team's minutes) and
yields ONE `Check`: its name is a fixed string (a bounded metrics label), its status `ok`, `warn`
(odd but possible) or `fail` (the data cannot be right), and its detail counts the offenders and
names the first few. Helpers never raise on bad data: a missing key is a failed check, not an
exception (`scrapers.quality.verdict` still guards against a validator bug).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from scrapers.core.verdict import Check, Document, Status
from scrapers.nba.keys import is_nba_team

Row = Mapping[str, Any]
TypeSpec = type | tuple[type, ...]

NUMBER: tuple[type, ...] = (int, float)
OPTIONAL_TEXT: tuple[type, ...] = (str, type(None))
MAX_EXAMPLES = 3
MAX_DETAIL = 400


def judged(
    name: str, problems: Sequence[str], checked: int, what: str, status: Status = Status.FAIL
) -> Check:
    """One check over `checked` items: ok without problems, else `status` naming the first few."""
    if not problems:
        return Check(name, Status.OK, f"{checked} {what} checked")
    shown = "; ".join(problems[:MAX_EXAMPLES])
    more = f" (+{len(problems) - MAX_EXAMPLES} more)" if len(problems) > MAX_EXAMPLES else ""
    text = f"{len(problems)} of {checked} {what}: {shown}{more}"
    return Check(name, status, text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…")


# --- structure ------------------------------------------------------------------------------------


def is_type(value: object, spec: TypeSpec) -> bool:
    kinds = spec if isinstance(spec, tuple) else (spec,)
    # bool is an int subclass; a flag where a count belongs is a changed shape, not a count.
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def structure(document: object, spec: Mapping[str, TypeSpec]) -> list[Check]:
    """`required_keys` and `key_types` of a document's top level."""
    if not isinstance(document, Mapping):
        return [Check("required_keys", Status.FAIL, f"the document is a {type(document).__name__}")]
    missing = [f"missing '{key}'" for key in spec if key not in document]
    wrong = [
        f"'{key}' is {_kind(document[key])}, not {_spec_text(kinds)}"
        for key, kinds in spec.items()
        if key in document and not is_type(document[key], kinds)
    ]
    return [
        judged("required_keys", missing, len(spec), "keys"),
        judged("key_types", wrong, len(spec) - len(missing), "keys"),
    ]


def row_fields(rows: object, spec: Mapping[str, TypeSpec], what: str, name: str = "row_fields") -> Check:
    """Every item of a list is an object carrying these fields with these types."""
    if not isinstance(rows, list):
        return Check(name, Status.FAIL, f"{what}: not a list but {_kind(rows)}")
    problems = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(f"#{index} is {_kind(row)}")
            continue
        bad = [key for key, kinds in spec.items() if key not in row or not is_type(row[key], kinds)]
        if bad:
            problems.append(f"#{index} {', '.join(f'{key}={row.get(key)!r}' for key in bad)}")
    return judged(name, problems, len(rows), what)


def objects(value: object) -> list[Row]:
    """The objects of a list; anything else (reported by `row_fields`) is left out."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def mapping(value: object) -> Mapping[str, Any]:
    """The value if it is an object, else an empty one (its shape is reported by another check)."""
    return value if isinstance(value, Mapping) else {}


def listed(value: object) -> list[Any]:
    """The value if it is a list, else an empty one (its shape is reported by another check)."""
    return value if isinstance(value, list) else []


def dig(value: object, *keys: str | int) -> Any:
    """value[k1][k2]... or None where a level is missing."""
    for key in keys:
        if isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
            value = value[key]
        elif isinstance(key, str) and isinstance(value, Mapping):
            value = value.get(key)
        else:
            return None
    return value


def is_blank(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, int | float):
        return value <= 0  # no source numbers its ids from zero or below
    return False


def ids_present(
    rows: Sequence[Row], id_of: Callable[[Row], object], what: str, name: str = "ids_present"
) -> Check:
    problems = [f"#{index} has {id_of(row)!r}" for index, row in enumerate(rows) if is_blank(id_of(row))]
    return judged(name, problems, len(rows), what)


def unique(
    items: Iterable[Hashable], what: str, name: str = "unique_ids", status: Status = Status.FAIL
) -> Check:
    counts = Counter(items)
    duplicates = [f"{key!r} x{count}" for key, count in counts.items() if count > 1]
    return judged(name, duplicates, len(counts), f"distinct {what}", status)


def count_matches(document: Document, count_key: str, actual: int, name: str = "count_matches") -> Check:
    stated = document.get(count_key)
    if is_type(stated, int) and stated == actual:
        return Check(name, Status.OK, f"{count_key} = {actual}")
    return Check(name, Status.FAIL, f"{count_key} says {stated!r}, the document holds {actual}")


def within(
    name: str, value: float, low: float, high: float, what: str, status: Status = Status.FAIL
) -> Check:
    if low <= value <= high:
        return Check(name, Status.OK, f"{what} {value:g} within {low:g}..{high:g}")
    return Check(name, status, f"{what} {value:g} outside {low:g}..{high:g}")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _spec_text(spec: TypeSpec) -> str:
    kinds = spec if isinstance(spec, tuple) else (spec,)
    return "|".join("null" if kind is type(None) else kind.__name__ for kind in kinds)


# --- numbers in the sources' spellings ---------------------------------------------------------------

_ISO_CLOCK = re.compile(r"^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_MIN_SEC = re.compile(r"^(\d+):(\d{1,2})(?:\.\d+)?$")


def minutes(value: object) -> float | None:
    """Minutes played from 34, "34", "34.5", "34:12", "PT34M12.00S"; "", "-" and null are 0 (did
    not play). None when the value is not minutes at all."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in ("", "-"):
        return 0.0
    if match := _MIN_SEC.match(text):
        seconds = int(match.group(2))
        return int(match.group(1)) + seconds / 60 if seconds < 60 else None
    if match := _ISO_CLOCK.match(text):
        return int(match.group(1) or 0) + float(match.group(2) or 0) / 60
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number >= 0 else None


def integer(value: object) -> int | None:
    """An int from 12, 12.0 or "12"; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    return None


def number(value: object) -> float | None:
    """A float from 1.91, -110 or "+185"; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


# --- box scores -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One player's line; None where the source does not give the stat."""

    player: str
    minutes: float | None  # None: unreadable
    points: int | None = None
    fgm: int | None = None
    fga: int | None = None
    fg3m: int | None = None
    fg3a: int | None = None
    ftm: int | None = None
    fta: int | None = None
    oreb: int | None = None
    dreb: int | None = None
    reb: int | None = None


@dataclass(frozen=True)
class TeamBox:
    game: str  # for messages, e.g. "20240115_HOU_PHI"
    team: str
    lines: tuple[Line, ...]
    score: int | None = None  # the team's points when the document states them
    periods: int | None = None  # periods played of a final game; None skips the minutes sum
    whole_minutes: bool = True  # the source rounds every player's minutes

    @property
    def label(self) -> str:
        return f"{self.team} in {self.game}"


REGULATION_TEAM_MINUTES = 240  # five players for four 12-minute quarters
OVERTIME_TEAM_MINUTES = 25  # five players for a 5-minute overtime


def expected_team_minutes(periods: int) -> int:
    return REGULATION_TEAM_MINUTES + OVERTIME_TEAM_MINUTES * max(0, periods - 4)


def minutes_tolerance(team: TeamBox) -> float:
    """One minute, plus half a minute per player when every player's minutes are rounded."""
    played = sum(1 for line in team.lines if line.minutes)
    return 1.0 + (0.5 * played if team.whole_minutes else 0.0)


def periods_from_minutes(totals: Iterable[float]) -> int:
    """Periods played, read from a game's team minute totals: 240 regulation, +25 per overtime."""
    largest = max(totals, default=float(REGULATION_TEAM_MINUTES))
    return 4 + max(0, round((largest - REGULATION_TEAM_MINUTES) / OVERTIME_TEAM_MINUTES))


def with_periods_read(teams: Sequence[TeamBox]) -> list[TeamBox]:
    """For documents that do not say how many periods a game had: each team with the periods its
    game's larger team total implies, so both teams must agree (a halved team cannot hide)."""
    totals: dict[str, list[float]] = {}
    for team in teams:
        totals.setdefault(team.game, []).append(sum(line.minutes or 0.0 for line in team.lines))
    return [replace(team, periods=periods_from_minutes(totals[team.game])) for team in teams]


def box_score_checks(teams: Sequence[TeamBox]) -> list[Check]:
    """Team minutes, team points, made <= attempted, rebounds and the points formula."""
    lines = [(team, line) for team in teams for line in team.lines]
    return [
        judged(
            "minutes_readable",
            [f"{line.player} ({team.label})" for team, line in lines if line.minutes is None],
            len(lines),
            "player lines",
        ),
        _team_minutes(teams),
        _team_points(teams),
        judged(
            "made_le_attempted",
            [f"{line.player} ({team.label}): {issue}" for team, line in lines for issue in _shooting(line)],
            len(lines),
            "player lines",
        ),
        judged(
            "rebounds_sum",
            [
                f"{line.player} ({team.label}): {line.oreb}+{line.dreb} != {line.reb}"
                for team, line in lines
                if None not in (line.oreb, line.dreb, line.reb)
                and (line.oreb or 0) + (line.dreb or 0) != line.reb
            ],
            len(lines),
            "player lines",
        ),
        judged(
            "points_formula",
            [f"{line.player} ({team.label}): {issue}" for team, line in lines if (issue := _formula(line))],
            len(lines),
            "player lines",
        ),
    ]


def _team_minutes(teams: Sequence[TeamBox]) -> Check:
    final = [team for team in teams if team.periods is not None]
    problems = []
    for team in final:
        expected = expected_team_minutes(team.periods or 4)
        total = sum(line.minutes or 0.0 for line in team.lines)
        if abs(total - expected) > minutes_tolerance(team):
            problems.append(f"{team.label}: {total:.1f} of {expected} minutes")
    return judged("team_minutes", problems, len(final), "final team box scores")


def _team_points(teams: Sequence[TeamBox]) -> Check:
    scored = [team for team in teams if team.score is not None]
    problems = []
    for team in scored:
        total = sum(line.points or 0 for line in team.lines)
        if total != team.score:
            problems.append(f"{team.label}: players {total}, team {team.score}")
    return judged("team_points", problems, len(scored), "team scores")


def _shooting(line: Line) -> list[str]:
    pairs = (("FG", line.fgm, line.fga), ("3P", line.fg3m, line.fg3a), ("FT", line.ftm, line.fta))
    issues = [f"{label} {made}/{tried}" for label, made, tried in pairs if _exceeds(made, tried)]
    issues += [f"{label} negative" for label, made, tried in pairs if (made or 0) < 0 or (tried or 0) < 0]
    if _exceeds(line.fg3m, line.fgm):
        issues.append(f"3PM {line.fg3m} > FGM {line.fgm}")
    return issues


def _exceeds(part: int | None, whole: int | None) -> bool:
    return part is not None and whole is not None and part > whole


def _formula(line: Line) -> str | None:
    if None in (line.points, line.fgm, line.fg3m, line.ftm):
        return None
    computed = 2 * (line.fgm or 0) + (line.fg3m or 0) + (line.ftm or 0)
    return None if computed == line.points else f"2x{line.fgm}+{line.fg3m}+{line.ftm} != {line.points} points"


# --- schedules and game lists -------------------------------------------------------------------------

MAX_GAMES_PER_DATE = 15  # 30 teams, each at most once a day


def team_once_per_date(entries: Iterable[tuple[str, str]], what: str = "team dates") -> Check:
    """No team plays twice on one date; entries are (date, team) per team per game."""
    return unique((f"{day} {team}" for day, team in entries), what, name="team_once_per_date")


# --- odds -------------------------------------------------------------------------------------------


class PriceFormat(StrEnum):
    AMERICAN = "american"
    DECIMAL = "decimal"


# Lines outside these cannot be an NBA game or player line (alternates included).
MARKET_LINES: Mapping[str, tuple[float, float]] = {
    "points": (0.5, 75.0),
    "rebounds": (0.5, 30.0),
    "assists": (0.5, 25.0),
    "threes": (0.5, 15.0),
    "steals": (0.5, 8.0),
    "blocks": (0.5, 10.0),
    "turnovers": (0.5, 12.0),
    "points_rebounds_assists": (0.5, 100.0),
    "points_rebounds": (0.5, 90.0),
    "points_assists": (0.5, 90.0),
    "rebounds_assists": (0.5, 45.0),
    "blocks_steals": (0.5, 15.0),
    "spreads": (-40.0, 40.0),
    "totals": (150.0, 300.0),
}


def market_family(key: str) -> str:
    """`player_points_alternate` -> `points`, `spreads` -> `spreads`."""
    return key.removeprefix("player_").removesuffix("_alternate").removesuffix("_q1")


def price_problem(price: object, fmt: PriceFormat) -> str | None:
    value = number(price)
    if value is None:
        return f"price {price!r} is not a number"
    if fmt is PriceFormat.AMERICAN:
        # -100 and +100 are even money; nothing lies between them in American odds.
        return None if 100 <= abs(value) <= 100_000 else f"American price {price!r}"
    return None if 1.0 < value <= 1001.0 else f"decimal price {price!r}"


def line_problem(market: str, line: object) -> str | None:
    value = number(line)
    if value is None:
        return f"{market} line {line!r} is not a number"
    bounds = MARKET_LINES.get(market_family(market))
    if bounds is None or bounds[0] <= value <= bounds[1]:
        return None
    return f"{market} line {value:g} outside {bounds[0]:g}..{bounds[1]:g}"


# --- rosters --------------------------------------------------------------------------------------

MAX_ROSTER = 30  # 15 standard + 3 two-way contracts, with room for mid-season moves


def roster_sanity(team_abbr: object, players: Sequence[object]) -> list[Check]:
    """The team is an NBA team and the roster has a plausible size (NBA.com and ESPN rosters)."""
    team = str(team_abbr)
    return [
        judged("known_team", [] if is_nba_team(team) else [team], 1, "teams"),
        judged(
            "roster_size",
            [f"{len(players)} players"] if len(players) > MAX_ROSTER else [],
            1,
            "rosters",
            Status.WARN,
        ),
    ]
