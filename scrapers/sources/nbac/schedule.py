"""nbac_schedule_api and nbac_schedule_cdn: a season's league schedule, flattened and flagged.

Both upstreams answer the same `scheduleleaguev2` document (`leagueSchedule.gameDates[].games[]`):
stats.nba.com for a requested season, cdn.nba.com's static file for the season the league
currently publishes. Both land the old platform's transformed shape: every game flattened in
(gameDateEst, gameSequence) order, bulky sub-objects dropped, the ScheduleTransformer flags added,
and a `metadata` summary. The season in the object path is the one the body states, so it is a
path value from the parse, not an option.

The old platform also wrote `metadata` alone to `nba-com/schedule[-cdn]-metadata/...`. The runner
lands one document per run, so that second object is not written; the summary stays inside the
main document under `metadata`, where downstream already reads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from scrapers.core.clock import EASTERN, utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.fanout import GameRef
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.sources.nbac import children, headers, validators
from scrapers.sources.nbac.result_sets import json_list, json_object, no_content_reason, single_page

API_URL = "https://stats.nba.com/stats/scheduleleaguev2int"
# The old platform's backup `scheduleLeagueV2.json` was commented out there and stays unused here.
CDN_URL = "https://cdn.nba.com/static/json/staticData/scheduleLeagueV2_1.json"
CDN_SOURCE = "cdn_static"
PATH_FIELD = "actual_season_nba_format"
BACKFILL_DESCRIPTION = "Regular season + playoffs, completed games only, excluding All-Star and invalid teams"

Game = dict[str, Any]

# Per-game sub-objects the old platform dropped before landing (broadcasters after reading flags).
_DROPPED_GAME_KEYS = frozenset(
    {"tickets", "links", "promotions", "seriesText", "pointsLeaders", "broadcasters"}
)


# --- the scrapers ---------------------------------------------------------------------------------


class ScheduleApiOptions(ScraperOptions):
    season: Season = option(
        "season", example="2024-25", default="CURRENT", help="season start year or YYYY-YY"
    )


class ScheduleCdnOptions(ScraperOptions):
    """The static file has no parameters: it is whatever season the league publishes now."""


class NbacScheduleApi(Scraper[ScheduleApiOptions]):
    options_type = ScheduleApiOptions
    validator = validators.schedule
    # The season's completed games, each to its gamebook, play-by-play, team box score: only when
    # named (a season is ~1,300 games); `backfill --season` reads these plans too.
    fan_out = children.per_game(gamebooks_by_default=False)
    path_fields: ClassVar[frozenset[str]] = frozenset({PATH_FIELD})

    def requests(self, opts: ScheduleApiOptions) -> Sequence[Request]:
        params = (("GameSubType", ""), ("LeagueID", "00"), ("Season", opts.season.nba_format))
        return (Request(API_URL, params=params, headers=headers.STATS, expect=BodyKind.JSON),)

    def parse(self, opts: ScheduleApiOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = single_page(pages, "scheduleleaguev2int")
        reason = no_content_reason(page, f"the {opts.season} schedule")
        schedule = _empty_schedule(opts.season) if reason else _read_schedule(page.data)
        if schedule.season != opts.season:
            raise ParseError(f"scheduleleaguev2int answered season {schedule.season}, not {opts.season}")
        # `season` is the requested start year as text, the way the old platform echoed its option.
        head = {"season": str(opts.season.start_year), "season_nba_format": opts.season.nba_format}
        return _parsed(schedule, head, {}, reason, ctx)


class NbacScheduleCdn(Scraper[ScheduleCdnOptions]):
    options_type = ScheduleCdnOptions
    validator = validators.schedule
    fan_out = children.per_game(gamebooks_by_default=False)
    path_fields: ClassVar[frozenset[str]] = frozenset({PATH_FIELD})

    def requests(self, opts: ScheduleCdnOptions) -> Sequence[Request]:
        return (Request(CDN_URL, headers=headers.DATA, expect=BodyKind.JSON),)

    def parse(self, opts: ScheduleCdnOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = single_page(pages, "scheduleLeagueV2_1.json")
        reason = no_content_reason(page, "the static schedule")
        # Without a body the season can only be the one current when fetched; the path needs one.
        fetched_season = Season.of(ctx.fetched_at.astimezone(EASTERN).date())
        schedule = _empty_schedule(fetched_season) if reason else _read_schedule(page.data)
        # The API's shape (season = start year) rather than the old CDN code's copy of seasonYear:
        # the CDN document exists to be a drop-in for the API one.
        head = {"season": str(schedule.season.start_year), "season_nba_format": schedule.season.nba_format}
        return _parsed(schedule, head, {"source": CDN_SOURCE}, reason, ctx)


# --- reading the body -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _GameDay:
    label: str  # `gameDates[].gameDate` as written; landed as the games' gameDate
    day: date
    games: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class _Schedule:
    season: Season
    season_year: Any  # `seasonYear` as the body wrote it ("2024-25" or "2024")
    league_id: Any
    meta: Any
    dates: list[_GameDay]


def _empty_schedule(season: Season) -> _Schedule:
    return _Schedule(season=season, season_year=season.nba_format, league_id="00", meta={}, dates=[])


def _read_schedule(data: Any) -> _Schedule:
    body = json_object(data, "schedule body")
    league = json_object(body.get("leagueSchedule"), "leagueSchedule")
    season_year = league.get("seasonYear")
    season = _stated_season(season_year)
    dates = [
        _read_date(entry, index)
        for index, entry in enumerate(json_list(league.get("gameDates"), "gameDates"))
    ]
    return _Schedule(season, season_year, league.get("leagueId"), body.get("meta", {}), dates)


def _stated_season(season_year: Any) -> Season:
    # The path is keyed by this season, so a body that does not state one cannot land.
    if isinstance(season_year, str):
        with contextlib.suppress(ValueError):
            return Season.parse(season_year)
    raise ParseError(f"leagueSchedule.seasonYear {season_year!r} is not a season")


def _read_date(entry: Any, index: int) -> _GameDay:
    raw = json_object(entry, f"gameDates[{index}]")
    label = raw.get("gameDate")
    day = _calendar_day(label)
    if not isinstance(label, str) or day is None:
        raise ParseError(f"gameDates[{index}].gameDate {label!r} does not start with MM/DD/YYYY")
    games = [
        json_object(game, f"a game of {label}") for game in json_list(raw.get("games"), f"games of {label}")
    ]
    for game in games:
        if not isinstance(game.get("gameId"), str):
            raise ParseError(f"a game of {label} has no gameId text: {game.get('gameId')!r}")
    return _GameDay(label, day, games)


def _calendar_day(label: Any) -> date | None:
    # Seen as `10/04/2024 00:00:00` (stats and cdn) and `01/20/2025 12:00:00 AM`: the date leads.
    if not isinstance(label, str):
        return None
    try:
        return datetime.strptime(label[:10], "%m/%d/%Y").date()
    except ValueError:
        return None


# --- the landed document --------------------------------------------------------------------------


def _parsed(
    schedule: _Schedule,
    head: Mapping[str, str],
    tail: Mapping[str, str],
    reason: str | None,
    ctx: ParseContext,
) -> Parsed:
    games = _flatten(schedule)
    timestamp = utc_iso(ctx.fetched_at)
    document = {
        **head,
        "seasonYear": schedule.season_year,
        "leagueId": schedule.league_id,
        "timestamp": timestamp,
        "meta": schedule.meta,
        "game_count": len(games),
        "date_count": len(schedule.dates),
        "games": games,
        "metadata": season_metadata(games, schedule.season, timestamp),
        **tail,
    }
    if not games and reason is None:
        reason = f"the {schedule.season} schedule lists no games yet ({len(schedule.dates)} game dates)"
    path_values = {PATH_FIELD: schedule.season.nba_format}
    return Parsed(
        document,
        record_count=len(games),
        no_data_reason=reason,
        path_values=path_values,
        fan_out=backfill_refs(games),
    )


def _flatten(schedule: _Schedule) -> list[Game]:
    games = [_enhance_game(game, day, schedule.season) for day in schedule.dates for game in day.games]
    # The old platform's order; the landed 2024-25 document matches it game for game.
    games.sort(key=lambda game: (str(game.get("gameDateEst") or ""), _int(game.get("gameSequence"))))
    return games


def _enhance_game(game: Mapping[str, Any], game_day: _GameDay, season: Season) -> Game:
    """One game as landed: raw fields minus the bulky ones, plus the flags, plus its date label."""
    enhanced = {key: value for key, value in game.items() if key not in _DROPPED_GAME_KEYS}
    enhanced.update(broadcast_flags(game.get("broadcasters"), season))
    enhanced.update(context_flags(game, game_day.day))
    enhanced.update(scheduling_flags(game))
    enhanced.update(gameDate=game_day.label, gameDateObj=game_day.label)
    return enhanced


# --- the ScheduleTransformer flags: rules derived from the landed 2024-25 schedule ---------------


@dataclass(frozen=True)
class Network:
    """A national network whose games count as primetime, for the seasons it held NBA rights."""

    name: str
    first_season: int = 0  # start year of the first season with rights
    last_season: int = 9999  # start year of the last season with rights
    also_written: tuple[str, ...] = ()

    def covers(self, part: str, season: Season) -> bool:
        if not self.first_season <= season.start_year <= self.last_season:
            return False
        upper = part.upper()
        return any(name.upper() in upper for name in (self.name, *self.also_written))


# In priority order: the highest-priority network matched names `primaryNetwork`. A part counts
# for a network when it contains its name, so ESPN2, ESPNU, ESPNews and ESPN+ are ESPN's. TNT's
# rights ended after 2024-25; NBC, Prime Video and Peacock start in 2025-26 (the old table gated
# TNT to 2024-25 only, which would have called 2023-24 TNT games non-national; and it looked for
# "Amazon Prime" where NBA.com writes "Prime Video").
NETWORKS = (
    Network("ABC"),
    Network("NBC", first_season=2025),
    Network("ESPN"),
    Network("TNT", last_season=2024),
    Network("Prime Video", first_season=2025, also_written=("Amazon Prime",)),
    Network("Peacock", first_season=2025),
)
# Simulcast and streaming outlets: national, but not primetime networks. NBA TV and TBS are
# neither (the landed documents give NBA TV-only games hasNationalTV false).
STREAMING = ("Max", "Disney+", "truTV", "Peacock", "Prime Video", "Amazon Prime", "Netflix", "Apple TV")


def broadcast_flags(broadcasters: Any, season: Season) -> dict[str, Any]:
    """isPrimetime, hasNationalTV, primaryNetwork, traditionalNetworks, streamingPlatforms."""
    traditional: list[str] = []
    streaming: list[str] = []
    matched: list[Network] = []
    for part in _national_tv_parts(broadcasters):
        network = next((n for n in NETWORKS if n.covers(part, season)), None)
        if network is not None:
            matched.append(network)
            _add_once(traditional, part)
        elif any(name.upper() in part.upper() for name in STREAMING):
            _add_once(streaming, part)
    primary = min(matched, key=NETWORKS.index).name if matched else None
    return {
        "isPrimetime": bool(traditional),
        "hasNationalTV": bool(traditional or streaming),
        "primaryNetwork": primary,
        "traditionalNetworks": traditional,
        "streamingPlatforms": streaming,
    }


def _national_tv_parts(broadcasters: Any) -> list[str]:
    # `broadcasterDisplay` like "ABC/ESPN+/Disney+" names several outlets of one broadcast.
    national = broadcasters.get("nationalTvBroadcasters") if isinstance(broadcasters, dict) else None
    displays = [b.get("broadcasterDisplay") for b in national or () if isinstance(b, dict)]
    return [
        part.strip() for text in displays if isinstance(text, str) for part in text.split("/") if part.strip()
    ]


def _add_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


_PLAYOFF_ROUNDS = (  # checked in order against the lower-cased gameLabel
    ("first_round", ("first round",)),
    ("conf_semifinals", ("conf", "semi")),
    ("conf_finals", ("conf", "finals")),
    ("nba_finals", ("nba finals",)),
    ("play_in", ("play-in",)),
)


def context_flags(game: Mapping[str, Any], day: date) -> dict[str, Any]:
    """isRegularSeason, isPlayoffs, isAllStar, isEmiratesCup, playoffRound, isChristmas, isMLKDay."""
    label, sub_label, week = (_lower(game.get(key)) for key in ("gameLabel", "gameSubLabel", "weekName"))
    all_star = "all-star" in label or "rising stars" in label
    playoffs = not all_star and any(term in label for term in ("first round", "conf", "finals", "play-in"))
    playoff_round = (
        next((name for name, terms in _PLAYOFF_ROUNDS if all(t in label for t in terms)), None)
        if playoffs
        else None
    )
    return {
        # "Scheduled in a league week", as landed: playoff games carry week numbers too, so this is
        # also true for them; the metadata counts therefore check isPlayoffs first.
        "isRegularSeason": week.startswith("week"),
        "isPlayoffs": playoffs,
        "isAllStar": all_star,
        "isEmiratesCup": "emirates" in label or "cup" in label,
        "playoffRound": playoff_round,
        "isChristmas": "christmas" in sub_label or (day.month, day.day) == (12, 25),
        # The old rule read any January 15 as MLK Day (true in 2024, wrong in 2025: a Wednesday);
        # the holiday is the third Monday of January.
        "isMLKDay": "mlk" in sub_label or day == mlk_day(day.year),
    }


def mlk_day(year: int) -> date:
    first = date(year, 1, 1)
    first_monday = first + timedelta(days=(7 - first.weekday()) % 7)
    return first_monday + timedelta(weeks=2)


def scheduling_flags(game: Mapping[str, Any]) -> dict[str, Any]:
    """dayOfWeek, isWeekend (Friday to Sunday, the league's weekend slate) and timeSlot."""
    day_of_week = _lower(game.get("day"))
    return {
        "dayOfWeek": day_of_week,
        "isWeekend": day_of_week in ("fri", "sat", "sun"),
        "timeSlot": time_slot(game.get("gameTimeEst")),
    }


def time_slot(game_time_est: Any) -> str:
    """Eastern start hour: before 15:00 afternoon, before 20:00 early_evening, else primetime."""
    if not isinstance(game_time_est, str) or not game_time_est:
        return "unknown"
    clock = game_time_est.split("T", 1)[-1]  # `1900-01-01T19:30:00Z`; a bare `19:30:00` too
    try:
        hour = int(clock.split(":", 1)[0])
    except ValueError:
        return "unknown"
    if hour < 15:
        return "afternoon"
    return "early_evening" if hour < 20 else "primetime"


def _lower(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- metadata: the season summary downstream monitors --------------------------------------------


def _status_counts() -> dict[str, int]:
    return {"total": 0, "completed": 0, "live": 0, "scheduled": 0}


def _phase(game: Mapping[str, Any]) -> str:
    # Order matters: All-Star before playoffs, playoffs before the week-based regular-season flag.
    if game["isAllStar"]:
        return "allstar"
    if game["isPlayoffs"]:
        return "playoffs"
    return "regular_season" if game["isRegularSeason"] else "preseason"


def _tricodes(game: Mapping[str, Any]) -> tuple[str, str]:
    def code(side: str) -> str:
        team = game.get(side)
        value = team.get("teamTricode") if isinstance(team, dict) else None
        return value if isinstance(value, str) else ""

    return code("awayTeam"), code("homeTeam")


def _valid_teams(game: Mapping[str, Any]) -> bool:
    return all(len(code) == 3 and code.isalpha() for code in _tricodes(game))


def backfill_refs(games: Sequence[Mapping[str, Any]]) -> tuple[GameRef, ...]:
    """The games a season's backfill covers, as per-game refs: completed regular-season and playoff
    games between valid teams (the old platform's definition, `BACKFILL_DESCRIPTION`), read from
    the landed document's flattened `games` in their order."""
    refs: list[GameRef] = []
    for game in games:
        if game.get("gameStatus") != 3 or _phase(game) not in ("regular_season", "playoffs"):
            continue
        if not _valid_teams(game):
            continue
        away, home = _tricodes(game)
        code, when = game.get("gameCode"), game.get("gameDateEst")
        try:
            day = date.fromisoformat(str(when)[:10])
        except ValueError:
            continue  # no Eastern date: nothing a per-date or per-game job could be keyed by
        refs.append(
            GameRef(
                game_id=str(game["gameId"]),
                game_date=day.isoformat(),
                game_code=code if isinstance(code, str) and code else None,
                away_team=away,
                home_team=home,
            )
        )
    return tuple(refs)


def season_metadata(games: list[Game], season: Season, scraped_at: str) -> dict[str, Any]:
    """Per-phase status counts, season progress and the backfill estimate, as the old platform wrote."""
    phases = {name: _status_counts() for name in ("regular_season", "playoffs", "allstar", "preseason")}
    filtered: dict[str, Any] = {"allstar_games": 0, "invalid_team_codes": 0, "invalid_team_examples": []}
    backfill = 0
    for game in games:
        phase, status = _phase(game), game.get("gameStatus", 1)
        counts = phases[phase]
        counts["total"] += 1
        counts["completed" if status == 3 else "live" if status == 2 else "scheduled"] += 1
        filtered["allstar_games"] += phase == "allstar"
        backfill += status == 3 and phase in ("regular_season", "playoffs") and _valid_teams(game)
        if not _valid_teams(game):
            filtered["invalid_team_codes"] += 1
            if len(filtered["invalid_team_examples"]) < 3:
                away, home = _tricodes(game)
                example = {"game_code": game.get("gameCode", "unknown"), "away_team": away, "home_team": home}
                filtered["invalid_team_examples"].append(example)
    return _summary(phases, filtered, backfill, season, scraped_at)


def _summary(
    phases: dict[str, dict[str, int]],
    filtered: dict[str, Any],
    backfill: int,
    season: Season,
    scraped_at: str,
) -> dict[str, Any]:
    total = sum(counts["total"] for counts in phases.values())
    completed = sum(counts["completed"] for counts in phases.values())
    remaining = sum(counts["scheduled"] for counts in phases.values())
    remaining_backfill = phases["regular_season"]["scheduled"] + phases["playoffs"]["scheduled"]
    return {
        "season": season.nba_format,
        "scraped_at": scraped_at,
        "total_games": total,
        **phases,
        "season_progress": {
            "completion_percentage": round(completed / total * 100, 1) if total else 0,
            "total_completed": completed,
            "total_remaining": remaining,
            "estimated_final_backfill": backfill + remaining_backfill,
        },
        "backfill": {
            "total_games": backfill,
            "estimated_remaining": remaining_backfill,
            "description": BACKFILL_DESCRIPTION,
        },
        "filtered": filtered,
    }
