"""bdl_games: BallDontLie games between two Eastern dates, walked page by page with the API cursor.

Each page is a Request of the fetch plan (`next_request`, see common.py), so every page gets the
core's tiers, limiter and classification, and `parse` only concatenates what arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scrapers.core.clock import utc_iso
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl.common import API_KEY, BdlScraper, Endpoint, Query, check_date_range, counted

__all__ = ["API_KEY", "BdlGames", "BdlGamesOptions", "games_request"]

ENDPOINT = Endpoint("/games", per_page=True, meta_required=True)


@dataclass(frozen=True)
class BdlGamesOptions:
    startDate: date
    endDate: date


class BdlGames(BdlScraper[BdlGamesOptions]):
    options_type = BdlGamesOptions
    date_option = "startDate"
    endpoint = ENDPOINT
    row_name = "game"
    unique_field = "id"

    def check_options(self, opts: BdlGamesOptions) -> None:
        check_date_range(opts.startDate, opts.endDate)

    def query(self, opts: BdlGamesOptions) -> Query:
        return _span(opts)

    def parse(self, opts: BdlGamesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        games = self.rows(pages)
        document = {
            "startDate": opts.startDate.isoformat(),
            "endDate": opts.endDate.isoformat(),
            "timestamp": utc_iso(ctx.fetched_at),
            "gameCount": len(games),
            "games": games,
        }
        span = f"from {opts.startDate.isoformat()} to {opts.endDate.isoformat()}"
        return counted(document, len(games), f"BallDontLie lists no games {span}")


def games_request(opts: BdlGamesOptions, cursor: str | None) -> Request:
    return ENDPOINT.request(_span(opts), cursor)


def _span(opts: BdlGamesOptions) -> Query:
    return (("start_date", opts.startDate.isoformat()), ("end_date", opts.endDate.isoformat()))
