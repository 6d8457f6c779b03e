"""nbac_referee_assignments: the officials of one date's games from official.nba.com.

The endpoint answers one block per league (`nba`, `gl` = G League, `wnba`), each with `Table` (one
row per game and its crew) and `Table1` (the replay-center officials of the day). The old platform
landed that answer untouched under `refereeAssignments` beside counted `metadata`; so do we.
Assignments are published on the morning of game day: before that, the tables are empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.sources.nbac import headers, validators

URL = "https://official.nba.com/wp-json/api/v1/get-game-officials"
# Landed count key -> the league's block in the answer.
LEAGUES = (("nba", "nba"), ("gLeague", "gl"), ("wnba", "wnba"))
GAME_DATE_FORMAT = "%m/%d/%Y"


class RefereeAssignmentsOptions(ScraperOptions):
    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("date",), help="Eastern game date"
    )


class NbacRefereeAssignments(Scraper[RefereeAssignmentsOptions]):
    options_type = RefereeAssignmentsOptions
    validator = validators.referee_assignments
    date_option = "game_date"

    def requests(self, opts: RefereeAssignmentsOptions) -> Sequence[Request]:
        # The DATA profile (a same-site XHR from www.nba.com) is what the old platform sent here.
        params = (("date", opts.game_date.isoformat()),)
        return (Request(URL, params=params, headers=headers.DATA, expect=BodyKind.JSON),)

    def parse(self, opts: RefereeAssignmentsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        (page,) = pages
        answer = _answer(page)
        counts = {key: len(_games(answer, league, opts.game_date)) for key, league in LEAGUES}
        total = sum(counts.values())
        document = {
            "metadata": {
                "date": opts.game_date.isoformat(),
                "season": Season.of(opts.game_date).nba_format,
                "fetchedUtc": utc_iso(ctx.fetched_at),
                "gameCount": {**counts, "total": total},
                "replayCenterOfficials": _replay_center_count(answer),
            },
            "refereeAssignments": answer,
        }
        if total == 0:
            reason = (
                f"official.nba.com lists no officials on {opts.game_date} (not yet published, or no games)"
            )
            return Parsed(document, record_count=0, no_data_reason=reason)
        return Parsed(document, record_count=total)


def _answer(page: Page) -> Mapping[str, Any]:
    # A 204 arrives with no data: the endpoint answers empty tables for an empty day, so a bodiless
    # answer is no evidence that nothing is assigned.
    if not isinstance(page.data, dict):
        raise ParseError(f"get-game-officials answered HTTP {page.status} without a JSON object")
    answer: Mapping[str, Any] = page.data
    return answer


def _table_rows(answer: Mapping[str, Any], league: str, table: str) -> list[Any]:
    block = answer.get(league)
    found = block.get(table) if isinstance(block, dict) else None
    rows = found.get("rows") if isinstance(found, dict) else None
    if not isinstance(rows, list):
        raise ParseError(f"get-game-officials has no '{league}.{table}.rows' list")
    return rows


def _games(answer: Mapping[str, Any], league: str, day: date) -> list[Any]:
    rows = _table_rows(answer, league, "Table")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ParseError(f"get-game-officials '{league}' game {index} is not an object")
        _check_game_date(row.get("game_date"), league, day)
    return rows


def _check_game_date(value: object, league: str, day: date) -> None:
    """Each game names its date; another day's crews must never land under ours."""
    if value is None:
        return
    try:
        answered = datetime.strptime(str(value), GAME_DATE_FORMAT).date()
    except ValueError:
        raise ParseError(f"get-game-officials '{league}' game_date {value!r} is not MM/DD/YYYY") from None
    if answered != day:
        raise ParseError(f"get-game-officials '{league}' lists a game on {answered}, not the requested {day}")


def _replay_center_count(answer: Mapping[str, Any]) -> int:
    # Table1 is the day's replay-center crew, repeated in every league block; the NBA's is counted.
    # It is optional: the games are the data, and an answer without it must not fail the run.
    block = answer.get("nba")
    if not (isinstance(block, dict) and "Table1" in block):
        return 0
    return len(_table_rows(answer, "nba", "Table1"))
