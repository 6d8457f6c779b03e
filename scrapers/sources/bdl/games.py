"""bdl_games: BallDontLie games between two Eastern dates, walked page by page with the API cursor.

Each page is a Request of the fetch plan (`next_request`, see common.py), so every page gets the
core's tiers, limiter and classification, and `parse` only concatenates what arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from scrapers.core.clock import utc_iso
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import API_KEY, BdlScraper, Endpoint, Query, check_date_range, counted

__all__ = ["API_KEY", "BdlGames", "BdlGamesOptions", "games_request"]

ENDPOINT = Endpoint("/games", per_page=True, meta_required=True)


class BdlGamesOptions(ScraperOptions):
    start_date: date = option(
        "date", example="2024-01-15", default="YESTERDAY", aliases=("startDate",), help="first Eastern date"
    )
    end_date: date = option(
        "date", example="2024-01-16", default="TODAY", aliases=("endDate",), help="last Eastern date"
    )


class BdlGames(BdlScraper[BdlGamesOptions]):
    options_type = BdlGamesOptions
    validator = validators.games
    date_option = "start_date"
    endpoint = ENDPOINT
    row_name = "game"
    unique_field = "id"

    def check_options(self, opts: BdlGamesOptions) -> None:
        check_date_range(opts.start_date, opts.end_date)

    def query(self, opts: BdlGamesOptions) -> Query:
        return _span(opts)

    def parse(self, opts: BdlGamesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        games = self.rows(pages)
        document = {
            "startDate": opts.start_date.isoformat(),
            "endDate": opts.end_date.isoformat(),
            "timestamp": utc_iso(ctx.fetched_at),
            "gameCount": len(games),
            "games": games,
        }
        span = f"from {opts.start_date.isoformat()} to {opts.end_date.isoformat()}"
        return counted(document, len(games), f"BallDontLie lists no games {span}")


def games_request(opts: BdlGamesOptions, cursor: str | None) -> Request:
    return ENDPOINT.request(_span(opts), cursor)


def _span(opts: BdlGamesOptions) -> Query:
    return (("start_date", opts.start_date.isoformat()), ("end_date", opts.end_date.isoformat()))
