"""oddsa_events: The Odds API events commencing on one Eastern game date (a quota-free endpoint).

The API filters by UTC instants, while the league's calendar is Eastern: by default the window is
the Eastern day converted to UTC through zoneinfo, so it is 05:00Z-04:59:59Z in winter and
04:00Z-03:59:59Z in summer. The event ids feed the per-event props and lines scrapers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from scrapers.core.clock import EASTERN
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.fanout import EventRef
from scrapers.core.outcome import Outcome
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.http.request import BodyKind, Page, Request, SecretRef

BASE_URL = "https://api.the-odds-api.com/v4"
# The Odds API takes its key only as a query parameter; the core adds it at send time and the
# replay/redaction layers drop `apiKey` from every URL they write.
API_KEY = SecretRef(env="ODDS_API_KEY", query="apiKey")
# The API rejects fractional seconds and offsets other than Z in commenceTime* parameters.
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class OddsaEventsOptions:
    game_date: date
    sport: str
    commenceTimeFrom: datetime | None
    commenceTimeTo: datetime | None


def default_commence_window(game_date: date) -> tuple[datetime, datetime]:
    """The Eastern day `game_date` as UTC instants: its first and its last second."""
    start = datetime.combine(game_date, time.min, tzinfo=EASTERN)
    end = datetime.combine(game_date, END_OF_DAY, tzinfo=EASTERN)
    return start.astimezone(UTC), end.astimezone(UTC)


def commence_window(opts: OddsaEventsOptions) -> tuple[datetime, datetime]:
    """The window asked for: each bound as given, else the Eastern day's bound."""
    default_from, default_to = default_commence_window(opts.game_date)
    start = (opts.commenceTimeFrom or default_from).astimezone(UTC)
    end = (opts.commenceTimeTo or default_to).astimezone(UTC)
    if end < start:
        raise OptionError(
            "commenceTimeTo",
            f"{format_utc(end)} is before commenceTimeFrom {format_utc(start)}",
            "2024-01-16T04:59:59Z",
        )
    return start, end


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(UTC_FORMAT)


class OddsaEvents(Scraper[OddsaEventsOptions]):
    options_type = OddsaEventsOptions
    date_option = "game_date"

    def check_options(self, opts: OddsaEventsOptions) -> None:
        commence_window(opts)

    def requests(self, opts: OddsaEventsOptions) -> Sequence[Request]:
        start, end = commence_window(opts)
        return (
            Request(
                url=f"{BASE_URL}/sports/{quote(opts.sport, safe='')}/events",
                params=(
                    ("commenceTimeFrom", format_utc(start)),
                    ("commenceTimeTo", format_utc(end)),
                    ("dateFormat", "iso"),
                ),
                headers={"Accept": "application/json"},
                expect=BodyKind.JSON,
                secrets=(API_KEY,),
            ),
        )

    def parse(self, opts: OddsaEventsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        if len(pages) != 1:
            raise ValueError(f"oddsa_events fetches one page, parse got {len(pages)}")
        page = pages[0]
        events = [] if page.outcome is Outcome.NO_DATA else _events(page.data)
        document = {
            "sport": opts.sport,
            "game_date": opts.game_date.isoformat(),
            "rowCount": len(events),
            "events": events,
        }
        if not events:
            start, end = commence_window(opts)
            reason = (
                f"The Odds API lists no {opts.sport} events commencing {format_utc(start)}..{format_utc(end)}"
            )
            return Parsed(document=document, record_count=0, no_data_reason=reason)
        return Parsed(document=document, record_count=len(events), fan_out=_event_refs(events))


def _event_refs(events: list[dict[str, Any]]) -> tuple[EventRef, ...]:
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


def _events(data: object) -> list[dict[str, Any]]:
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
