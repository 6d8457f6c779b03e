"""bdl_games: BallDontLie games between two Eastern dates, walked page by page with the API cursor.

The old platform walked the cursor inside `transform_data` with its own session and retries; here
each page is a Request of the fetch plan (`next_request`), so every page gets the core's tiers,
limiter and classification, and `parse` only concatenates what arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.http.request import BodyKind, Page, Request, SecretRef

GAMES_URL = "https://api.balldontlie.io/v1/games"
# The API maximum: the BDL free tier allows 5 requests a minute, so fewer pages matter.
PER_PAGE = 100
API_KEY = SecretRef(env="BDL_API_KEY", header="Authorization")


@dataclass(frozen=True)
class BdlGamesOptions:
    startDate: date
    endDate: date


class BdlGames(Scraper[BdlGamesOptions]):
    options_type = BdlGamesOptions
    date_option = "startDate"

    def check_options(self, opts: BdlGamesOptions) -> None:
        # The API answers a backwards range with an empty list: that would be a false no_data.
        if opts.endDate < opts.startDate:
            raise OptionError(
                "endDate",
                f"{opts.endDate.isoformat()} is before startDate {opts.startDate.isoformat()}",
                "2024-01-16",
            )

    def requests(self, opts: BdlGamesOptions) -> Sequence[Request]:
        return (games_request(opts, cursor=None),)

    def next_request(self, opts: BdlGamesOptions, page: Page) -> Request | None:
        cursor = next_cursor(page)
        if cursor is None:
            return None
        # An upstream that hands back the cursor it was given would loop until the page guard.
        if cursor == dict(page.request.params).get("cursor"):
            raise ParseError(
                f"BallDontLie returned the same cursor {cursor} again: pagination does not advance"
            )
        return games_request(opts, cursor=cursor)

    def parse(self, opts: BdlGamesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        if not pages:
            raise ValueError("parse needs the fetched pages; none were given")
        games = _concatenate(pages)
        document = {
            "startDate": opts.startDate.isoformat(),
            "endDate": opts.endDate.isoformat(),
            "timestamp": utc_iso(ctx.fetched_at),
            "gameCount": len(games),
            "games": games,
        }
        if not games:
            reason = (
                f"BallDontLie lists no games from {opts.startDate.isoformat()} to {opts.endDate.isoformat()}"
            )
            return Parsed(document=document, record_count=0, no_data_reason=reason)
        return Parsed(document=document, record_count=len(games))


def games_request(opts: BdlGamesOptions, cursor: str | None) -> Request:
    params: tuple[tuple[str, str], ...] = (
        ("start_date", opts.startDate.isoformat()),
        ("end_date", opts.endDate.isoformat()),
        ("per_page", str(PER_PAGE)),
    )
    if cursor is not None:
        params += (("cursor", cursor),)
    return Request(
        url=GAMES_URL,
        params=params,
        headers={"Accept": "application/json"},
        expect=BodyKind.JSON,
        secrets=(API_KEY,),
    )


def next_cursor(page: Page) -> str | None:
    """`meta.next_cursor` of a page; None on the last page (the key is absent or null there)."""
    if page.outcome is Outcome.NO_DATA:
        return None
    meta = _body(page).get("meta")
    if not isinstance(meta, dict):
        raise ParseError(f"BallDontLie page has no 'meta' object (got {type(meta).__name__})")
    cursor = meta.get("next_cursor")
    if cursor is None:
        return None
    # bool is an int subclass; a boolean cursor means the shape changed, not a page number.
    if isinstance(cursor, bool) or not isinstance(cursor, int | str) or str(cursor) == "":
        raise ParseError(f"BallDontLie meta.next_cursor is not a cursor: {cursor!r}")
    return str(cursor)


def _concatenate(pages: Sequence[Page]) -> list[dict[str, Any]]:
    games: list[dict[str, Any]] = []
    seen: set[object] = set()
    for number, page in enumerate(pages, start=1):
        for game in _games_of(page, number):
            # Overlapping pages would double-count games; that is a broken cursor, not data.
            if game["id"] in seen:
                raise ParseError(f"BallDontLie game {game['id']} appears twice across pages")
            seen.add(game["id"])
            games.append(game)
    return games


def _games_of(page: Page, number: int) -> list[dict[str, Any]]:
    if page.outcome is Outcome.NO_DATA:
        return []
    data = _body(page).get("data")
    if not isinstance(data, list):
        raise ParseError(f"BallDontLie page {number}: 'data' is not a list (got {type(data).__name__})")
    for game in data:
        if not isinstance(game, dict) or "id" not in game:
            raise ParseError(f"BallDontLie page {number}: a game is not an object with an 'id'")
    return data


def _body(page: Page) -> dict[str, Any]:
    if not isinstance(page.data, dict):
        raise ParseError(f"BallDontLie body is not a JSON object (got {type(page.data).__name__})")
    return page.data
