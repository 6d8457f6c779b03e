"""The cross-source report behind `scrapers quality-compare` (scrapers/cli/quality_compare.py).

For each date it reads the newest landed box score of each game from every scraper that declares
`lines` (today BallDontLie's `bdl_box_scores` and `bdl_player_box_scores`, ESPN's
`espn_game_boxscore`, NBA.com's `nbac_gamebook_pdf` and `nbac_player_boxscore`, in name order),
joins players by canonical game key and normalised name, and reports per pair of sources: games
in both, players compared, the share whose minutes differ by more than 5, players whose points
differ, players who played in one source but have no match in the other, and the worst examples.
Count checks cannot see a minutes bug (every row is there); this can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations
from typing import Any, TextIO

from scrapers.core.errors import OptionError
from scrapers.core.lines import LineExtractor, PlayerLine
from scrapers.core.registry import Registry
from scrapers.crosscheck.landed import LandedReader, latest_documents

MINUTES_GAP = 5.0  # the threshold: BDL was off by far more than this on bad days
WORST_EXAMPLES = 5
MAX_DAYS = 366


@dataclass(frozen=True)
class SourceDay:
    scraper: str
    documents: int
    games: int
    players: int
    unreadable: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scraper": self.scraper,
            "documents": self.documents,
            "games": self.games,
            "players": self.players,
            "unreadable": list(self.unreadable),
        }


@dataclass(frozen=True)
class Difference:
    game: str
    name: str
    team: str
    minutes: tuple[float, float]
    points: tuple[int | None, int | None]

    @property
    def minutes_gap(self) -> float:
        return abs(self.minutes[0] - self.minutes[1])

    @property
    def points_differ(self) -> bool:
        return None not in self.points and self.points[0] != self.points[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "game": self.game,
            "player": self.name,
            "team": self.team,
            "minutes": [round(value, 2) for value in self.minutes],
            "points": list(self.points),
            "minutes_gap": round(self.minutes_gap, 2),
        }


@dataclass(frozen=True)
class Pair:
    sources: tuple[str, str]
    games: int
    compared: tuple[Difference, ...]
    unmatched: int  # played in one source's shared game, no name match in the other

    @property
    def over_gap(self) -> int:
        return sum(1 for item in self.compared if item.minutes_gap > MINUTES_GAP)

    @property
    def share_over_gap(self) -> float:
        return self.over_gap / len(self.compared) if self.compared else 0.0

    @property
    def points_differ(self) -> int:
        return sum(1 for item in self.compared if item.points_differ)

    def worst(self, count: int = WORST_EXAMPLES) -> list[Difference]:
        ranked = sorted(self.compared, key=lambda item: (-item.minutes_gap, item.game, item.name))
        return [item for item in ranked[:count] if item.minutes_gap > 0 or item.points_differ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "games": self.games,
            "players_compared": len(self.compared),
            "minutes_gap_over": MINUTES_GAP,
            "players_over_gap": self.over_gap,
            "share_over_gap": round(self.share_over_gap, 4),
            "points_differ": self.points_differ,
            "unmatched": self.unmatched,
            "worst": [item.to_dict() for item in self.worst()],
        }


@dataclass(frozen=True)
class DayReport:
    day: str
    sources: tuple[SourceDay, ...]
    pairs: tuple[Pair, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day,
            "sources": [source.to_dict() for source in self.sources],
            "comparisons": [pair.to_dict() for pair in self.pairs],
        }


# --- comparing ----------------------------------------------------------------------------------

Keyed = dict[tuple[str, str], PlayerLine]


def keyed(lines: Sequence[PlayerLine]) -> Keyed:
    """(game, player) -> line; a name twice in one game keeps its first line."""
    table: Keyed = {}
    for line in lines:
        table.setdefault((line.game, line.player), line)
    return table


def compare_pair(names: tuple[str, str], left: Keyed, right: Keyed) -> Pair:
    shared = {game for game, _ in left} & {game for game, _ in right}
    compared: list[Difference] = []
    unmatched = 0
    for key in sorted({key for key in (*left, *right) if key[0] in shared}):
        a, b = left.get(key), right.get(key)
        if a is None or b is None:
            only = a or b
            unmatched += int(only is not None and only.minutes > 0)
            continue
        if a.minutes > 0 or b.minutes > 0:
            compared.append(Difference(a.game, a.name, a.team, (a.minutes, b.minutes), (a.points, b.points)))
    return Pair(names, len(shared), tuple(compared), unmatched)


def compare_day(
    day: str, lines: Mapping[str, Sequence[PlayerLine]], sources: Sequence[SourceDay]
) -> DayReport:
    """Every pair of the sources in `lines`, in its order, that holds at least one game in common."""
    tables = {name: keyed(found) for name, found in lines.items()}
    pairs = [
        pair
        for left, right in combinations(tables, 2)
        if (pair := compare_pair((left, right), tables[left], tables[right])).games
    ]
    return DayReport(day, tuple(sources), tuple(pairs))


def extractors(registry: Registry) -> dict[str, LineExtractor]:
    """The box-score scrapers compared (those that declare `lines`), by name, in name order."""
    declared = {name: registry.scrapers[name].load_class().lines for name in registry.names()}
    return {name: extract for name, extract in declared.items() if extract is not None}


async def read_day(reader: LandedReader, registry: Registry, day: str) -> DayReport:
    lines: dict[str, list[PlayerLine]] = {}
    sources = []
    for name, extract in extractors(registry).items():
        documents, unreadable = await latest_documents(reader, registry.get(name).path, day)
        found = [line for landed in documents for line in extract(landed.document, day)]
        lines[name] = found
        sources.append(
            SourceDay(
                name,
                len(documents),
                len({line.game for line in found}),
                len({(line.game, line.player) for line in found}),
                tuple(unreadable),
            )
        )
    return compare_day(day, lines, sources)


async def read_days(reader: LandedReader, registry: Registry, days: Sequence[str]) -> list[DayReport]:
    return [await read_day(reader, registry, day) for day in days]


def date_range(start: str, end: str | None) -> list[str]:
    first = _day("--date", start)
    last = _day("--to", end) if end else first
    if last < first:
        raise OptionError("--to", f"{last} is before --date {first}", first.isoformat())
    if (last - first).days >= MAX_DAYS:
        raise OptionError(
            "--to", f"more than {MAX_DAYS} days from --date", (first + timedelta(days=30)).isoformat()
        )
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise OptionError(option, f"'{text}' is not a date YYYY-MM-DD", "2024-01-15") from None


# --- printing -----------------------------------------------------------------------------------


def render_text(reports: Sequence[DayReport], where: str, stream: TextIO) -> None:
    print(f"Cross-source box scores in {where} (minutes gap > {MINUTES_GAP:g})", file=stream)
    for report in reports:
        print(f"\n{report.day}", file=stream)
        _table(
            ["source", "documents", "games", "players"],
            [
                [source.scraper, str(source.documents), str(source.games), str(source.players)]
                + ([f"unreadable: {', '.join(source.unreadable)}"] if source.unreadable else [])
                for source in report.sources
            ],
            stream,
        )
        if not report.pairs:
            print("  no game has a box score in two sources", file=stream)
            continue
        print(file=stream)
        _table(
            [
                "comparison",
                "games",
                "players",
                f"minutes gap > {MINUTES_GAP:g}",
                "points differ",
                "unmatched",
            ],
            [
                [
                    f"{pair.sources[0]} vs {pair.sources[1]}",
                    str(pair.games),
                    str(len(pair.compared)),
                    f"{pair.over_gap} ({pair.share_over_gap:.1%})",
                    str(pair.points_differ),
                    str(pair.unmatched),
                ]
                for pair in report.pairs
            ],
            stream,
        )
        _worst(report.pairs, stream)


def _worst(pairs: Sequence[Pair], stream: TextIO) -> None:
    rows = [
        [
            f"{pair.sources[0]} vs {pair.sources[1]}",
            item.game,
            f"{item.name} ({item.team})",
            f"{item.minutes[0]:.1f} vs {item.minutes[1]:.1f}",
            f"{_points(item.points[0])} vs {_points(item.points[1])}",
        ]
        for pair in pairs
        for item in pair.worst()
    ]
    if rows:
        print("\n  worst examples", file=stream)
        _table(["comparison", "game", "player", "minutes", "points"], rows, stream)


def _points(value: int | None) -> str:
    return "-" if value is None else str(value)


def _table(header: list[str], rows: list[list[str]], stream: TextIO) -> None:
    widths = [
        max(len(row[index]) for row in [header, *rows] if index < len(row)) for index in range(len(header))
    ]
    for row in [header, ["-" * width for width in widths], *rows]:
        cells = [cell.ljust(widths[index]) if index < len(widths) else cell for index, cell in enumerate(row)]
        print("  " + "  ".join(cells).rstrip(), file=stream)


# --- the command --------------------------------------------------------------------------------
