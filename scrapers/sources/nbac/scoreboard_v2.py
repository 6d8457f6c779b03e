"""nbac_scoreboard_v2: the games of one Eastern date from stats.nba.com scoreboardV2.

The V2 endpoint answers tables (`resultSets`, each `name`, `headers`, `rowSet`). What lands is the
old platform's production document (its `transform_data()`), key for key: `timestamp`, `gamedate`
(`YYYYMMDD`), `gameCount`, a flat `games` list and `source: "nba_scoreboard_v2_enriched"`. Each game
is one GameHeader row: `home`/`away` are the tricodes, `state` is pre/in/post, and both teams'
LineScore rows are folded in under `teams.home` / `teams.away` (ids, points, quarters, stats), which
is what the old scoreboard processor reads. The old V3-like `{"scoreboard": {"games": [...]}}` was
only an intermediate and never landed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date
from typing import Any

from scrapers.core.errors import ParseError
from scrapers.core.fanout import GameRef
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.sources.nbac import children, headers, result_sets, validators
from scrapers.sources.nbac.result_sets import Row

URL = "https://stats.nba.com/stats/scoreboardV2"
SOURCE = "nba_scoreboard_v2_enriched"
ENDPOINT = "scoreboardV2"

# GAME_STATUS_ID -> the landed `state`; any other value (none seen) lands as "unknown", as it did.
STATES = {1: "pre", 2: "in", 3: "post"}
UNKNOWN_STATE = "unknown"

# Columns without which a game cannot be assembled; any other column may be absent (then null).
GAME_HEADER_KEYS = ("GAME_ID", "HOME_TEAM_ID", "VISITOR_TEAM_ID")
LINE_SCORE_KEYS = ("GAME_ID", "TEAM_ID")

# The landed quarters always carry q1-q4, ot1 and ot2 (the old platform's layout). Later overtimes
# are added only when played, so a triple-overtime game keeps its points without changing the
# shape of every other game.
_ALWAYS_PERIODS = (
    ("q1", "PTS_QTR1"),
    ("q2", "PTS_QTR2"),
    ("q3", "PTS_QTR3"),
    ("q4", "PTS_QTR4"),
    ("ot1", "PTS_OT1"),
    ("ot2", "PTS_OT2"),
)
_LATER_OVERTIMES = tuple((f"ot{n}", f"PTS_OT{n}") for n in range(3, 11))

_TEAM_STATS = (
    ("fgPct", "FG_PCT"),
    ("ftPct", "FT_PCT"),
    ("fg3Pct", "FG3_PCT"),
    ("assists", "AST"),
    ("rebounds", "REB"),
    ("turnovers", "TOV"),
)


class ScoreboardV2Options(ScraperOptions):
    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("gamedate",), help="Eastern game date"
    )


class NbacScoreboardV2(Scraper[ScoreboardV2Options]):
    options_type = ScoreboardV2Options
    validator = validators.scoreboard_v2
    fan_out = children.per_game(gamebooks_by_default=True)
    date_option = "game_date"

    def requests(self, opts: ScoreboardV2Options) -> Sequence[Request]:
        # One download: the old platform fetched this URL twice per run for nothing.
        params = (
            ("GameDate", opts.game_date.strftime("%m/%d/%Y")),
            ("LeagueID", "00"),
            ("DayOffset", "0"),
        )
        return (Request(URL, params=params, headers=headers.STATS, expect=BodyKind.JSON),)

    def parse(self, opts: ScoreboardV2Options, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = _single_page(pages)
        if page.outcome is Outcome.NO_DATA:
            reason = f"stats.nba.com answered HTTP {page.status} without content for {opts.game_date}"
            return Parsed(_document(opts, ctx, []), record_count=0, no_data_reason=reason)
        sets = result_sets.result_sets(page.data, ENDPOINT)
        result_sets.check_echoed_date(page.data, "GameDate", opts.game_date, ENDPOINT)
        game_rows = result_sets.table(sets, "GameHeader", GAME_HEADER_KEYS, ENDPOINT)
        line_rows = result_sets.table(sets, "LineScore", LINE_SCORE_KEYS, ENDPOINT)
        if not game_rows:
            reason = f"scoreboardV2 lists no games on {opts.game_date} (empty GameHeader)"
            return Parsed(_document(opts, ctx, []), record_count=0, no_data_reason=reason)
        lines = _index_lines(line_rows)
        games = [_game(row, lines) for row in game_rows]
        refs = tuple(_game_ref(game, opts.game_date) for game in games)
        return Parsed(_document(opts, ctx, games), record_count=len(games), fan_out=refs)


def _game_ref(game: Mapping[str, Any], gamedate: date) -> GameRef:
    code = game["gameCode"]
    return GameRef(
        game_id=game["gameId"],
        game_date=gamedate.isoformat(),
        game_code=code if isinstance(code, str) and code else None,
        away_team=_text(game["away"]),
        home_team=_text(game["home"]),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _single_page(pages: Sequence[Page]) -> Page:
    # One request, one page: anything else is a runner bug, not an upstream change.
    if len(pages) != 1:
        raise ValueError(f"scoreboardV2 parses exactly one page, got {len(pages)}")
    return pages[0]


def _document(opts: ScoreboardV2Options, ctx: ParseContext, games: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        # Microseconds always present, as the old platform wrote them: downstream parses this text.
        "timestamp": ctx.fetched_at.astimezone(UTC).isoformat(timespec="microseconds"),
        # Compact, as the old callers passed it: the old processor reads it with %Y%m%d.
        "gamedate": opts.game_date.strftime("%Y%m%d"),
        "gameCount": len(games),
        "games": games,
        "source": SOURCE,
    }


def _game_id(row: Row, table: str) -> str:
    value = row["GAME_ID"]
    if not isinstance(value, str) or not value:
        raise ParseError(f"scoreboardV2 '{table}' has a GAME_ID that is not an id: {value!r}")
    return value


def _team_id(row: Row, column: str, table: str) -> int:
    value = row[column]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParseError(f"scoreboardV2 '{table}' has a {column} that is not a team id: {value!r}")
    return value


def _index_lines(line_rows: list[Row]) -> dict[tuple[str, int], Row]:
    return {(_game_id(row, "LineScore"), _team_id(row, "TEAM_ID", "LineScore")): row for row in line_rows}


def _game(header: Row, lines: Mapping[tuple[str, int], Row]) -> dict[str, Any]:
    game_id = _game_id(header, "GameHeader")
    home_id = _team_id(header, "HOME_TEAM_ID", "GameHeader")
    away_id = _team_id(header, "VISITOR_TEAM_ID", "GameHeader")
    home = _team(_line_of(lines, game_id, home_id, "home"), home_id)
    away = _team(_line_of(lines, game_id, away_id, "away"), away_id)
    status = header.get("GAME_STATUS_ID")
    return {
        "gameId": game_id,
        "home": home["abbreviation"],
        "away": away["abbreviation"],
        "gameStatus": status,
        "state": _state(status),
        "startTimeET": header.get("GAME_DATE_EST"),
        "gameCode": header.get("GAMECODE"),
        "gameSequence": header.get("GAME_SEQUENCE"),
        "gameStatusText": header.get("GAME_STATUS_TEXT"),
        "season": header.get("SEASON"),
        "arenaName": header.get("ARENA_NAME"),
        "broadcasts": {
            "national": header.get("NATL_TV_BROADCASTER_ABBREVIATION"),
            "home": header.get("HOME_TV_BROADCASTER_ABBREVIATION"),
            "away": header.get("AWAY_TV_BROADCASTER_ABBREVIATION"),
        },
        "livePeriod": header.get("LIVE_PERIOD"),
        "livePcTime": header.get("LIVE_PC_TIME"),
        "livePeriodTimeBcast": header.get("LIVE_PERIOD_TIME_BCAST"),
        "teams": {"home": home, "away": away},
        "homeTeamId": home_id,
        "awayTeamId": away_id,
    }


def _state(status: Any) -> str:
    # A bool is an int to Python, but True is no game status.
    if isinstance(status, int) and not isinstance(status, bool):
        return STATES.get(status, UNKNOWN_STATE)
    return UNKNOWN_STATE


def _line_of(lines: Mapping[tuple[str, int], Row], game_id: str, team_id: int, side: str) -> Row:
    # Scheduled games have LineScore rows too (with null points), so a missing row is a change.
    line = lines.get((game_id, team_id))
    if line is None:
        raise ParseError(f"scoreboardV2 LineScore has no row for the {side} team {team_id} of game {game_id}")
    return line


def _team(line: Row, team_id: int) -> dict[str, Any]:
    return {
        "teamId": team_id,
        "abbreviation": line.get("TEAM_ABBREVIATION"),
        "cityName": line.get("TEAM_CITY_NAME"),
        "teamName": line.get("TEAM_NAME"),
        "winsLosses": line.get("TEAM_WINS_LOSSES"),
        "points": line.get("PTS"),
        "quarters": _quarters(line),
        "stats": {key: line.get(column) for key, column in _TEAM_STATS},
    }


def _quarters(line: Row) -> dict[str, Any]:
    periods = {key: line.get(column) for key, column in _ALWAYS_PERIODS}
    periods.update({key: line[column] for key, column in _LATER_OVERTIMES if line.get(column)})
    return periods
