"""espn_game_boxscore: one game's player box score from its www.espn.com box-score page.

The page is an ESPN "fitt" app: the box score travels as JSON in `window['__espnfitt__']`, under
`page.content.gamepackage.bxscr` (one object per team, stat groups `starters`/`bench`, a `totals`
group without players). That JSON is read first; the rendered HTML tables are the fallback (and
the only path with `skipJson`). Lands the old platform's layout (OLD-PLATFORM 2.4): `game_id,
gamedate, timestamp, teams{away, home}, playerCount, players[playerId, playerName, jersey,
stats[14], type, team, teamType, dnpReason?]`. The completion's metadata carries the ESPN
`game_id` and the canonical `game_key` (`YYYYMMDD_AWY_HOM`, NBA tricodes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from bs4 import BeautifulSoup, Tag

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.nba.espn_teams import team_by_name
from scrapers.nba.keys import game_key
from scrapers.sources.espn import headers, validators
from scrapers.sources.espn.lines import boxscore_lines
from scrapers.sources.espn.stat_columns import STAT_LABELS

URL = "https://www.espn.com/nba/boxscore"
# The site API profile plus an HTML Accept: www.espn.com serves the same app to any browser UA.
PAGE_HEADERS: Mapping[str, str] = MappingProxyType(
    {**headers.SITE_API, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
)
FITT_MARKER = "window['__espnfitt__']="
# `dnpRsn` is the current key; the old platform also met the other two on older pages.
DNP_KEYS = ("dnpRsn", "didNotPlayReason", "reason")
_DNP_PREFIX = re.compile(r"^\s*DNP\s*[-:]\s*", re.IGNORECASE)
SIDES = ("away", "home")  # ESPN lists the away team first, as on every ESPN game page


class EspnBoxscoreOptions(ScraperOptions):
    game_id: str = option(
        "str",
        example="401585601",
        required=True,
        help="ESPN game id (digits)",
        pattern=r"[0-9]{1,12}",
        shape="an ESPN game id (digits only)",
    )
    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("gamedate",), help="Eastern game date"
    )
    skip_json: bool = option(
        "bool",
        example="true",
        default="False",
        aliases=("skipJson",),
        help="read the HTML tables instead of the embedded JSON",
    )


@dataclass(frozen=True)
class TeamBox:
    """One team's players as the page lists them; `home` is None when the page does not say."""

    abbr: str
    home: bool | None
    players: tuple[dict[str, Any], ...]


class EspnBoxscore(Scraper[EspnBoxscoreOptions]):
    options_type = EspnBoxscoreOptions
    validator = validators.boxscore
    lines = boxscore_lines
    date_option = "game_date"

    def check_options(self, opts: EspnBoxscoreOptions) -> None:
        # The id goes into the object path (`game-<id>`), so only ESPN's numeric ids are accepted.
        if not opts.game_id.isdigit():
            raise OptionError(
                "game_id", f"'{opts.game_id}' is not an ESPN game id (digits only)", "401585601"
            )

    def requests(self, opts: EspnBoxscoreOptions) -> Sequence[Request]:
        return (Request(URL, params=(("gameId", opts.game_id),), headers=PAGE_HEADERS, expect=BodyKind.HTML),)

    def parse(self, opts: EspnBoxscoreOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        (page,) = pages
        html = _html(page)
        package = gamepackage(html)
        if package is not None:
            _check_game(package, opts.game_id)
        teams = _read_teams(html, package, opts.skip_json)
        if not teams:
            reason = _no_box_evidence(html, package, opts.game_id)
            facts = game_facts(opts, _strip_sides(package))
            return Parsed(_document(opts, ctx, {}, []), record_count=0, no_data_reason=reason, metadata=facts)
        sides, players = _landed(teams, opts.game_id)
        document = _document(opts, ctx, sides, players)
        return Parsed(document, record_count=len(players), metadata=game_facts(opts, sides))


def game_facts(opts: EspnBoxscoreOptions, sides: Mapping[str, str]) -> dict[str, str]:
    """The completion's join keys: ESPN's game id and, when the teams are known, `YYYYMMDD_AWY_HOM`."""
    facts = {"game_id": opts.game_id}
    if set(SIDES) <= sides.keys():
        # `gamedate` is the game's Eastern date (the option's contract), as the canonical key wants.
        facts["game_key"] = game_key(opts.game_date.isoformat(), sides["away"], sides["home"])
    return facts


def _read_teams(html: str, package: Mapping[str, Any] | None, skip_json: bool) -> list[TeamBox]:
    # The tables are the fallback for a page without usable JSON; a JSON box of a changed shape
    # fails (structural) rather than being papered over.
    teams = None if skip_json or package is None else json_teams(package)
    return teams or table_teams(html)


def _no_box_evidence(html: str, package: Mapping[str, Any] | None, game_id: str) -> str:
    """Why a page without a box score is no_data; raises unless the page positively says so."""
    reason = _not_started(package, game_id)
    if reason is None:
        raise ParseError(f"ESPN page of game {game_id} has no box score (no bxscr, no tables)")
    return reason


def _html(page: Page) -> str:
    # A 204 has no page: for a game page that is no evidence about the game at all.
    if not isinstance(page.data, str):
        raise ParseError(f"ESPN box score answered HTTP {page.status} without an HTML page")
    return page.data


def _document(
    opts: EspnBoxscoreOptions, ctx: ParseContext, teams: dict[str, str], players: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "game_id": opts.game_id,
        # Dashed, as the recorded landing has it (the ESPN scoreboard writes YYYYMMDD instead).
        "gamedate": opts.game_date.isoformat(),
        "timestamp": utc_iso(ctx.fetched_at),
        "teams": {side: teams[side] for side in SIDES if side in teams},
        "playerCount": len(players),
        "players": players,
    }


# --- the embedded JSON ---------------------------------------------------------------------------


def gamepackage(html: str) -> Mapping[str, Any] | None:
    """`page.content.gamepackage` of the embedded fitt JSON, or None when the page has none."""
    start = html.find(FITT_MARKER)
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(html, start + len(FITT_MARKER))
    except json.JSONDecodeError:
        # A broken blob is the case the table fallback exists for.
        return None
    for key in ("page", "content", "gamepackage"):
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


def _check_game(package: Mapping[str, Any], game_id: str) -> None:
    # ESPN redirects unknown or merged ids to another game's page; that box must not land as ours.
    strip = package.get("gmStrp")
    gid = strip.get("gid") if isinstance(strip, dict) else None
    if gid is not None and str(gid) != game_id:
        raise ParseError(f"ESPN answered the page of game {gid}, not {game_id}")


def _not_started(package: Mapping[str, Any] | None, game_id: str) -> str | None:
    """Positive evidence that the game has not been played yet: the page's own status says `pre`."""
    strip = package.get("gmStrp") if package else None
    status = strip.get("status") if isinstance(strip, dict) else None
    if not isinstance(status, dict) or status.get("state") != "pre":
        return None
    when = strip.get("dt") if isinstance(strip, dict) else None
    return f"ESPN lists game {game_id} as not started ({status.get('desc') or 'scheduled'}, tip-off {when})"


def _strip_sides(package: Mapping[str, Any] | None) -> dict[str, str]:
    """`{away, home}` from the page's game strip (a game not yet played has no box), else empty."""
    strip = package.get("gmStrp") if package else None
    teams = strip.get("tms") if isinstance(strip, dict) else None
    if not isinstance(teams, list) or len(teams) != len(SIDES):
        return {}
    sides = {
        ("home" if team["isHome"] else "away"): team["abbrev"]
        for team in teams
        if isinstance(team, dict)
        and isinstance(team.get("isHome"), bool)
        and isinstance(team.get("abbrev"), str)
    }
    # Two teams both (or neither) marked home name no game: better no key than a wrong one.
    return sides if len(sides) == len(SIDES) else {}


def json_teams(package: Mapping[str, Any]) -> list[TeamBox] | None:
    """The teams of `bxscr`, or None when the JSON holds no player (so the tables are tried)."""
    raw = package.get("bxscr")
    if not isinstance(raw, list):
        return None
    teams = [_json_team(team, index) for index, team in enumerate(raw)]
    return teams if any(team.players for team in teams) else None


def _json_team(raw: object, index: int) -> TeamBox:
    tm = raw.get("tm") if isinstance(raw, dict) else None
    groups = raw.get("stats") if isinstance(raw, dict) else None
    if not isinstance(tm, dict) or not isinstance(groups, list):
        raise ParseError(f"ESPN bxscr team {index} has no 'tm' object and 'stats' list")
    abbr = tm.get("abbrev")
    if not isinstance(abbr, str) or not abbr.strip():
        raise ParseError(f"ESPN bxscr team {index} has no abbreviation")
    home = tm.get("hm")
    players = tuple(player for group in groups for player in _json_group(group, abbr))
    return TeamBox(abbr.strip().upper(), home if isinstance(home, bool) else None, players)


def _json_group(group: object, abbr: str) -> list[dict[str, Any]]:
    if not isinstance(group, dict):
        raise ParseError(f"ESPN bxscr group of {abbr} is not an object")
    if "athlts" not in group:
        return []  # the `totals` group: team sums, no players
    athletes, kind, labels = group["athlts"], group.get("type"), group.get("lbls")
    if not isinstance(athletes, list) or not isinstance(kind, str):
        raise ParseError(f"ESPN bxscr group of {abbr} has no 'athlts' list or 'type'")
    if labels is not None and tuple(labels) != STAT_LABELS:
        raise ParseError(f"ESPN bxscr {kind} columns of {abbr} changed: {labels}")
    return [_json_player(athlete, kind, abbr) for athlete in athletes]


def _json_player(raw: object, kind: str, abbr: str) -> dict[str, Any]:
    athlete = raw.get("athlt") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(athlete, dict):
        raise ParseError(f"ESPN bxscr {kind} entry of {abbr} has no 'athlt' object")
    name = athlete.get("dspNm") or athlete.get("shrtNm")
    player_id = athlete.get("id")
    if not isinstance(name, str) or not isinstance(player_id, str | int) or isinstance(player_id, bool):
        raise ParseError(f"ESPN bxscr {kind} entry of {abbr} has no player id and name")
    reason = next((raw[key] for key in DNP_KEYS if isinstance(raw.get(key), str) and raw[key]), None)
    stats = [] if reason else raw.get("stats", [])
    return _player(str(player_id), name, athlete.get("jersey") or "", stats, kind, reason)


def _player(
    player_id: str, name: str, jersey: str, stats: object, kind: str, dnp: str | None
) -> dict[str, Any]:
    """One landed player; the same checks whichever path read it."""
    if not isinstance(stats, list) or not all(isinstance(value, str) for value in stats):
        raise ParseError(f"ESPN stat line of player {player_id} is not a list of texts")
    # Empty is real (a DNP, or a player not yet on the floor in a live game); a partial line is not.
    if stats and len(stats) != len(STAT_LABELS):
        raise ParseError(
            f"ESPN stat line of player {player_id} has {len(stats)} columns, not {len(STAT_LABELS)}"
        )
    player: dict[str, Any] = {
        "playerId": player_id,
        "playerName": name,
        "jersey": jersey,
        "stats": stats,
        "type": kind,
    }
    if dnp:
        player["dnpReason"] = _DNP_PREFIX.sub("", dnp).upper()
    return player


# --- the HTML tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _NameRow:
    player_id: str
    name: str
    jersey: str
    kind: str


def table_teams(html: str) -> list[TeamBox]:
    """Teams from the rendered tables: per team block a name table and a stat table, row by row.

    ESPN renders each team block twice for responsive layouts; the copy (same players, no team
    title) is skipped. Rows are paired by position, so tables of unequal length are an error
    rather than stats shifted onto the wrong players.
    """
    teams: list[TeamBox] = []
    seen: list[tuple[str, ...]] = []
    for section in BeautifulSoup(html, "html.parser").select(".Boxscore.flex.flex-column"):
        names, stats = _section_tables(section)
        ids = tuple(row.player_id for row in names)
        if ids in seen:
            continue
        seen.append(ids)
        players = tuple(_table_player(row, line) for row, line in zip(names, stats, strict=True))
        teams.append(TeamBox(_section_team(section, len(teams)), None, players))
    return teams


def _table_player(row: _NameRow, line: list[str] | str) -> dict[str, Any]:
    # A text instead of stat cells is the row-spanning reason of a player who did not play.
    if isinstance(line, str):
        return _player(row.player_id, row.name, row.jersey, [], row.kind, line)
    return _player(row.player_id, row.name, row.jersey, line, row.kind, None)


def _section_tables(section: Tag) -> tuple[list[_NameRow], list[list[str] | str]]:
    tables = section.select("table.Table")
    if len(tables) < 2:
        raise ParseError(f"ESPN box score team block has {len(tables)} tables, not a name and a stat table")
    names, stats = _name_rows(tables[0]), _stat_rows(tables[1])
    if len(names) != len(stats):
        raise ParseError(f"ESPN box score tables disagree: {len(names)} players, {len(stats)} stat rows")
    return names, stats


def _name_rows(table: Tag) -> list[_NameRow]:
    rows: list[_NameRow] = []
    kind = "unknown"
    for row in table.select("tbody tr"):
        header = row.select_one("td.Table__customHeader")
        if header is not None:
            kind = header.get_text(strip=True).lower() or kind
            continue
        link = row.select_one("a[data-player-uid]")
        if link is None:
            continue
        uid = str(link.get("data-player-uid", ""))
        long_name = link.select_one(".Boxscore__AthleteName--long")
        jersey = row.select_one("span.playerJersey")
        rows.append(
            _NameRow(
                player_id=uid.rsplit("~a:", 1)[-1],
                name=(long_name or link).get_text(strip=True),
                jersey=re.sub(r"\D", "", jersey.get_text()) if jersey else "",
                kind=kind,
            )
        )
    return rows


def _stat_rows(table: Tag) -> list[list[str] | str]:
    """Per player row: the stat texts, or the DNP text of a row that spans all columns."""
    rows: list[list[str] | str] = []
    for row in table.select("tbody tr"):
        header = [cell.get_text(strip=True) for cell in row.select("td.Table__customHeader")]
        if header:
            if header[0] and tuple(header) != STAT_LABELS:
                raise ParseError(f"ESPN box score stat columns changed: {header}")
            continue  # the column header, or the team totals and percentages
        spanning = row.select_one("td[colspan]")
        if spanning is not None:
            rows.append(spanning.get_text(strip=True))
            continue
        rows.append([cell.get_text(strip=True) for cell in row.select("td")])
    return rows


def _section_team(section: Tag, index: int) -> str:
    logo = section.select_one(".Boxscore__Title img")
    title = section.select_one(".BoxscoreItem__TeamName")
    name = str(logo.get("alt", "")) if logo is not None else ""
    name = name or (title.get_text(strip=True) if title is not None else "")
    team = team_by_name(name)
    if team is None:
        raise ParseError(f"ESPN box score team block {index} names no known team ({name!r})")
    return team.code


# --- sides and the landed players ----------------------------------------------------------------


def _sides(teams: list[TeamBox], game_id: str) -> tuple[str, ...]:
    if len(teams) != len(SIDES):
        raise ParseError(f"ESPN box score of game {game_id} has {len(teams)} teams, not 2")
    flags = [team.home for team in teams]
    if None in flags:
        return SIDES  # the page's order: away first
    if flags.count(True) != 1:
        raise ParseError(f"ESPN box score of game {game_id} does not mark exactly one home team")
    return tuple("home" if flag else "away" for flag in flags)


def _landed(teams: list[TeamBox], game_id: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`teams{away, home}` and the players with their team and side, in page order."""
    sides = _sides(teams, game_id)
    players = [
        {**player, "team": team.abbr, "teamType": side}
        for team, side in zip(teams, sides, strict=True)
        for player in team.players
    ]
    return {side: team.abbr for team, side in zip(teams, sides, strict=True)}, players
