"""What every Odds API scraper shares: the base URL and key, UTC and snapshot formatting, the team
suffix of the object paths, quota cost estimates, reading event lists and event odds, and what a
run tells downstream beside the landed body.

The old platform copied the URL building and status handling into seven modules (weakness 16);
here each scraper module only says what differs: its endpoint, its options and its metadata.

Every Odds API scraper lands the upstream body unchanged (`Landing.UPSTREAM_BODY`, the old `RAW`
export): downstream's processors read the API's own shapes. What the parse derives (row counts, the
snapshot served, the game key, the path's teams) travels in the completion metadata instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from scrapers.core.clock import EASTERN
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.fanout import EventRef
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request, SecretRef
from scrapers.core.scraper import Parsed
from scrapers.nba.keys import game_key
from scrapers.nba.teams import tricode_for_name

BASE_URL = "https://api.the-odds-api.com/v4"
# The Odds API takes its key only as a query parameter; the core adds it at send time and the
# replay/redaction layers drop `apiKey` from every URL they write.
API_KEY = SecretRef(env="ODDS_API_KEY", query="apiKey")
ACCEPT_JSON: Mapping[str, str] = MappingProxyType({"Accept": "application/json"})
# The API rejects fractional seconds and offsets other than Z in its date parameters.
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
END_OF_DAY = time(23, 59, 59)
# Historical snapshots exist every 5 minutes; asking on the grid makes the `snap` of the path and
# the `date` parameter agree with the snapshot the API serves.
SNAPSHOT_MINUTES = 5
# Pricing (the-odds-api.com/liveapi/guides/v4): event odds cost markets x regions, every 10
# bookmakers count as one region, and historical odds cost ten times as much.
BOOKMAKERS_PER_REGION = 10
HISTORICAL_COST_FACTOR = 10
# The path contract needs a suffix even when the body names no teams (an HTTP 204).
UNKNOWN_TEAM = "UNK"

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")

# What the options may put into URLs and object paths (option(pattern=..., shape=...)). Event ids
# are 32 lower-case hex digits (`cd0bc7d0c238f4446ce1c03d0cea7ec4`), but the format is not
# documented, so any short run of letters and digits passes: none of them can add a path segment
# or a query parameter, whether a caller or an events body (fan-out children) sends it.
EVENT_ID = r"[0-9A-Za-z]{1,64}"
EVENT_ID_SHAPE = "an Odds API event id (letters and digits, like 4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9)"
PARTICIPANT_ID = r"par_[0-9A-Za-z]{1,64}"
PARTICIPANT_ID_SHAPE = "an Odds API participant id (par_ then letters and digits)"
# Sport, market, region and bookmaker keys: `basketball_nba`, `player_points`, `williamhill_us`.
KEY = r"[a-z0-9_]{1,64}"
KEY_SHAPE = "an Odds API key (lower-case letters, digits and _)"
TEAMS = r"[A-Za-z0-9]{2,12}"
TEAMS_SHAPE = "AWYHOM (letters and digits)"


# --- time -----------------------------------------------------------------------------------------


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(UTC_FORMAT)


def default_commence_window(game_date: date) -> tuple[datetime, datetime]:
    """The Eastern day `game_date` as UTC instants: its first and its last second."""
    start = datetime.combine(game_date, time.min, tzinfo=EASTERN)
    end = datetime.combine(game_date, END_OF_DAY, tzinfo=EASTERN)
    return start.astimezone(UTC), end.astimezone(UTC)


def commence_bounds(
    game_date: date, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The window asked for: each bound as given, else the Eastern day's bound."""
    default_from, default_to = default_commence_window(game_date)
    first = (start or default_from).astimezone(UTC)
    last = (end or default_to).astimezone(UTC)
    if last < first:
        raise OptionError(
            "commence_time_to",
            f"{format_utc(last)} is before commence_time_from {format_utc(first)}",
            "2024-01-16T04:59:59Z",
        )
    return first, last


def window_params(window: tuple[datetime, datetime]) -> tuple[tuple[str, str], ...]:
    return (("commenceTimeFrom", format_utc(window[0])), ("commenceTimeTo", format_utc(window[1])))


def snap_down(moment: datetime) -> datetime:
    """The snapshot at or before `moment` on the API's 5-minute grid, in UTC."""
    utc = moment.astimezone(UTC)
    return utc.replace(second=0, microsecond=0) - timedelta(minutes=utc.minute % SNAPSHOT_MINUTES)


def snap_label(moment: datetime) -> str:
    """`HHMM` in UTC: the `snap` part of the per-event object paths."""
    return moment.astimezone(UTC).strftime("%H%M")


# --- teams ----------------------------------------------------------------------------------------


def team_code(name: str) -> str:
    """The tricode of a full team name; an unknown name keeps the old platform's fallback (its
    first three letters), cleaned so that nothing but letters and digits reaches a path."""
    known = tricode_for_name(name)
    if known:
        return known
    return _NOT_ALNUM.sub("", name)[:3].upper() or UNKNOWN_TEAM


def teams_suffix(away: str, home: str) -> str:
    """`LALDET` for the Lakers at Detroit: away then home, as NBA.com game codes are written."""
    return team_code(away) + team_code(home)


def event_game_key(commence: datetime, away: str, home: str) -> str:
    """`YYYYMMDD_AWY_HOM` of an event: the Eastern date of its tip (a 7:30 pm ET game commences at
    00:30Z the next day) and the same team codes as the path's suffix."""
    return game_key(commence.astimezone(EASTERN).date().isoformat(), team_code(away), team_code(home))


def unknown_teams(given: str | None) -> str:
    """The suffix when the body names no teams: the caller's `teams` option, else UNKUNK."""
    if given:
        cleaned = _NOT_ALNUM.sub("", given).upper()
        if cleaned:
            return cleaned
    return UNKNOWN_TEAM * 2


# --- requests and cost ----------------------------------------------------------------------------


def api_request(path: str, params: Sequence[tuple[str, str]] = ()) -> Request:
    """A GET of `BASE_URL + path` with the key added by the core at send time."""
    return Request(
        url=f"{BASE_URL}{path}",
        params=tuple(params),
        headers=ACCEPT_JSON,
        expect=BodyKind.JSON,
        secrets=(API_KEY,),
    )


def segment(value: str) -> str:
    """One path segment: a sport key or id with a `/` must not walk to another endpoint."""
    return quote(value, safe="")


@dataclass(frozen=True)
class OddsQuery:
    """What an event-odds request asks for; current and historical endpoints take the same."""

    sport: str
    event_id: str
    markets: tuple[str, ...]
    regions: tuple[str, ...]
    bookmakers: tuple[str, ...]
    odds_format: str | None

    @property
    def markets_text(self) -> str:
        return ",".join(self.markets)

    @property
    def regions_text(self) -> str:
        return ",".join(self.regions)

    def region_units(self) -> int:
        """What the API bills as regions: every 10 named bookmakers count as one region."""
        if self.bookmakers:
            return math.ceil(len(self.bookmakers) / BOOKMAKERS_PER_REGION)
        return len(self.regions)

    def cost(self, *, historical: bool) -> int:
        units = len(self.markets) * self.region_units()
        return units * HISTORICAL_COST_FACTOR if historical else units


class EventOddsOptions(ScraperOptions):
    """The options every event-odds scraper has, declared once; each scraper's model adds its own
    (a snapshot instant, a snapshot type) or changes a default (game lines ask for spreads,totals)."""

    event_id: str = option(
        "str",
        example="4c1f8e2b9a7d46b0a3e5c8d1f2b4a6e9",
        required=True,
        help="Odds API event id (see oddsa_events or oddsa_events_his)",
        pattern=EVENT_ID,
        shape=EVENT_ID_SHAPE,
    )
    game_date: date = option(
        "date", example="2024-01-15", required=True, help="Eastern game date of the event (path only)"
    )
    sport: str = option(
        "str", example="basketball_nba", default="basketball_nba", pattern=KEY, shape=KEY_SHAPE
    )
    markets: tuple[str, ...] = option(
        "list",
        example="player_points,player_rebounds",
        default="player_points",
        pattern=KEY,
        shape=KEY_SHAPE,
    )
    regions: tuple[str, ...] = option("list", example="us", default="us", pattern=KEY, shape=KEY_SHAPE)
    bookmakers: tuple[str, ...] = option(
        "list",
        example="draftkings,fanduel",
        default="draftkings,fanduel,betmgm,williamhill_us,betrivers,bovada,espnbet,hardrockbet,betonlineag,fliff,betparx,ballybet",
        help="every 10 bookmakers bill as one region",
        pattern=KEY,
        shape=KEY_SHAPE,
    )
    odds_format: str | None = option(
        "choice",
        example="american",
        choices=(
            "american",
            "decimal",
        ),
        aliases=("oddsFormat",),
        help="default is the API's (decimal)",
    )
    teams: str | None = option(
        "str",
        example="HOUPHI",
        help="AWYHOM for the completion's teams when a 204 names none; default: from the body",
        pattern=TEAMS,
        shape=TEAMS_SHAPE,
    )


def odds_query(opts: EventOddsOptions) -> OddsQuery:
    return OddsQuery(opts.sport, opts.event_id, opts.markets, opts.regions, opts.bookmakers, opts.odds_format)


def event_odds_request(query: OddsQuery, snapshot: datetime | None = None) -> Request:
    """Current odds of one event, or the historical snapshot at `snapshot` (snapped to the grid)."""
    path = f"/sports/{segment(query.sport)}/events/{segment(query.event_id)}/odds"
    params: list[tuple[str, str]] = []
    if snapshot is not None:
        path = "/historical" + path
        params.append(("date", format_utc(snap_down(snapshot))))
    params += [("regions", query.regions_text), ("markets", query.markets_text)]
    if query.bookmakers:
        params.append(("bookmakers", ",".join(query.bookmakers)))
    if query.odds_format:
        params.append(("oddsFormat", query.odds_format))
    params.append(("dateFormat", "iso"))
    return api_request(path, params)


# --- pages and what the validators read ----------------------------------------------------------


def only_page(pages: Sequence[Page], scraper: str) -> Page:
    if len(pages) != 1:
        raise ValueError(f"{scraper} fetches one page, parse got {len(pages)}")
    return pages[0]


# A 204 has no body: nothing lands (the runner saves no empty body) and the validators get this
# marker, recognised by identity, so they report one ok check for the body that does not exist
# instead of failing every structural check of it.
NO_CONTENT: Mapping[str, Any] = MappingProxyType({})
# The key a bare-list body is wrapped under for the validators; the same name as the list of a
# historical wrapper, so current and historical event lists are checked alike.
LIST_KEY = "data"


def as_document(body: object) -> Mapping[str, Any]:
    """What the validators read of a decoded body (`Parsed.document`, a mapping): an object body as
    is, a bare list (the events and players endpoints answer one) as `{"data": [...]}`.

    Only the validators see the wrapper: the bytes that land are the body exactly as served.
    """
    if isinstance(body, Mapping):
        return body
    if isinstance(body, list):
        return {LIST_KEY: body}
    raise ParseError(f"The Odds API body is a {type(body).__name__}, neither an object nor a list")


def checked_document(page: Page) -> Mapping[str, Any]:
    """`as_document` of the page's body, or NO_CONTENT after a 204."""
    return NO_CONTENT if page.outcome is Outcome.NO_DATA else as_document(page.data)


@dataclass(frozen=True)
class Snapshot:
    """The wrapper of every historical answer: which snapshot was served and its neighbours."""

    timestamp: str
    previous: str | None
    next: str | None
    data: object


def read_snapshot(data: object) -> Snapshot:
    if not isinstance(data, dict) or "data" not in data:
        raise ParseError("The Odds API historical body is not an object with 'data'")
    timestamp = data.get("timestamp")
    if not isinstance(timestamp, str) or not timestamp:
        raise ParseError("The Odds API historical body has no snapshot 'timestamp'")
    return Snapshot(
        timestamp=timestamp,
        previous=_optional_text(data, "previous_timestamp"),
        next=_optional_text(data, "next_timestamp"),
        data=data["data"],
    )


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ParseError(f"The Odds API historical body has a non-text '{key}'")
    return value


def snapshot_metadata(snapshot: Snapshot | None, requested: datetime) -> dict[str, str | None]:
    """The snapshot served and its neighbours (the old documents' key names); after a 204, the
    grid instant that was asked for. A null neighbour is left out of the completion."""
    if snapshot is None:
        return {
            "snapshot_timestamp": format_utc(snap_down(requested)),
            "previous_snapshot": None,
            "next_snapshot": None,
        }
    return {
        "snapshot_timestamp": snapshot.timestamp,
        "previous_snapshot": snapshot.previous,
        "next_snapshot": snapshot.next,
    }


# --- event lists ----------------------------------------------------------------------------------


def sorted_events(data: object) -> list[dict[str, Any]]:
    """The API's event list, checked and sorted by commence time (the API does not promise order)."""
    if not isinstance(data, list):
        raise ParseError(f"The Odds API events body is not a list (got {type(data).__name__})")
    keyed = [(_commence_time(event), event) for event in data]
    keyed.sort(key=lambda pair: pair[0])
    return [event for _, event in keyed]


def _commence_time(event: object) -> datetime:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        raise ParseError("The Odds API event is not an object with a string 'id'")
    text = event.get("commence_time")
    if not isinstance(text, str):
        raise ParseError(f"The Odds API event {event['id']} has no commence_time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(f"The Odds API event {event['id']} has commence_time {text!r}") from None
    if moment.tzinfo is None:
        raise ParseError(f"The Odds API event {event['id']} has a zoneless commence_time {text!r}")
    return moment


def event_refs(events: list[dict[str, Any]]) -> tuple[EventRef, ...]:
    return tuple(
        EventRef(
            event_id=event["id"],
            source="oddsapi",
            commence_time=event["commence_time"],
            away_team=event.get("away_team"),
            home_team=event.get("home_team"),
        )
        for event in events
    )


def events_metadata(sport: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """What an event list tells downstream, in commence order: ids and game keys side by side (a
    game key is null for an event that does not name both teams)."""
    return {
        "sport": sport,
        "row_count": len(events),
        "event_ids": [event["id"] for event in events],
        "game_keys": [_list_game_key(event) for event in events],
    }


def _list_game_key(event: Mapping[str, Any]) -> str | None:
    away, home = event.get("away_team"), event.get("home_team")
    if not isinstance(away, str) or not isinstance(home, str):
        return None
    return event_game_key(_commence_time(event), away, home)


# --- event odds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventOdds:
    """One event's odds, checked and counted: the counts go to the completion metadata."""

    teams: str
    game_key: str
    row_count: int
    rows_by_market: Mapping[str, int]


def read_event_odds(data: object, event_id: str) -> EventOdds:
    """Check an event-odds object (current body, or a historical snapshot's `data`) and count it.

    A row is one outcome of one bookmaker's market; a market listed without outcomes still counts
    as one row, as the old platform's `rowCount` did, so downstream sees the same numbers.
    """
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ParseError("The Odds API event odds body is not an event object with a string 'id'")
    if data["id"] != event_id:
        raise ParseError(f"The Odds API answered for event {data['id']}, not the requested {event_id}")
    away, home = data.get("away_team"), data.get("home_team")
    if not isinstance(away, str) or not isinstance(home, str):
        raise ParseError(f"The Odds API event {event_id} does not name its away_team and home_team")
    commence = _commence_time(data)
    rows: Counter[str] = Counter()
    for bookmaker in _list_of_objects(data.get("bookmakers"), f"event {event_id} bookmakers"):
        for market in _list_of_objects(bookmaker.get("markets"), f"event {event_id} markets"):
            key = market.get("key")
            if not isinstance(key, str):
                raise ParseError(f"The Odds API event {event_id} has a market without a key")
            outcomes = _list_of_objects(market.get("outcomes", []), f"event {event_id} outcomes")
            rows[key] += len(outcomes) or 1
    return EventOdds(
        teams=teams_suffix(away, home),
        game_key=event_game_key(commence, away, home),
        row_count=sum(rows.values()),
        rows_by_market=rows,
    )


def _list_of_objects(value: object, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ParseError(f"The Odds API {what} is not a list of objects")
    return value


def is_empty_snapshot(data: object) -> bool:
    """A historical wrapper whose `data` is null or {}: the snapshot holds nothing for the event.

    Only the intact wrapper (a snapshot timestamp, read before this) makes that positive evidence.
    """
    return data is None or data == {}


def odds_parsed(
    page: Page,
    odds: EventOdds | None,
    *,
    query: OddsQuery,
    teams: str | None,
    snap: str,
    empty_because: str,
    metadata: Mapping[str, Any],
) -> Parsed:
    """The parse result of an event-odds body: counts, no-data evidence, path parts and metadata.

    `game_key` is there whenever the body names the event (not after a 204 or an empty snapshot);
    `metadata` adds what one scraper reports beyond what every event-odds scraper does.
    """
    suffix = odds.teams if odds else unknown_teams(teams)
    facts: dict[str, Any] = {
        "sport": query.sport,
        "event_id": query.event_id,
        **({"game_key": odds.game_key} if odds else {}),
        "teams": suffix,
        "markets": list(query.markets),
        "regions": list(query.regions),
        "row_count": odds.row_count if odds else 0,
        "rows_by_market": dict(odds.rows_by_market) if odds else {},
        **metadata,
    }
    document = checked_document(page)
    path_values = {"teams": suffix, "snap": snap}
    if odds is not None and odds.row_count:
        return Parsed(document=document, record_count=odds.row_count, path_values=path_values, metadata=facts)
    reason = (
        f"The Odds API has no {query.markets_text} odds for event {query.event_id} "
        f"from the requested bookmakers ({empty_because})"
    )
    return Parsed(
        document=document, record_count=0, no_data_reason=reason, path_values=path_values, metadata=facts
    )


def market_counts(odds: EventOdds | None) -> dict[str, int]:
    """The game-lines counts the old documents carried as spreadsCount and totalsCount."""
    rows = odds.rows_by_market if odds else {}
    return {"spreads_count": rows.get("spreads", 0), "totals_count": rows.get("totals", 0)}


def no_odds_because(page: Page, snapshot: Snapshot | None = None) -> str:
    if page.outcome is Outcome.NO_DATA:
        return "HTTP 204 No Content"
    if snapshot is None:
        return "no bookmaker lists a market"
    if is_empty_snapshot(snapshot.data):
        return f"snapshot {snapshot.timestamp} is empty"
    return f"no bookmaker lists a market at snapshot {snapshot.timestamp}"


def read_historical_odds(page: Page, event_id: str) -> tuple[Snapshot | None, EventOdds | None]:
    """The snapshot wrapper and the event's odds in it; None for what a 204 or empty snapshot lacks."""
    if page.outcome is Outcome.NO_DATA:
        return None, None
    snapshot = read_snapshot(page.data)
    if is_empty_snapshot(snapshot.data):
        return snapshot, None
    return snapshot, read_event_odds(snapshot.data, event_id)
