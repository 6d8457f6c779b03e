"""bdl_odds: BallDontLie betting odds of one date or of one game (`/odds`).

Exactly one of `date` or `game_id` is given. Rows (one per vendor and market type) land as sent.
The old platform asked for 100 rows a page and followed `meta.next_cursor` when present; its
recorded empty answer carried no `meta` at all, so here a missing `meta` ends the walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, counted, ident, present


class OddsOptions(ScraperOptions):
    game_date: date | None = option(
        "date", example="2024-01-15", aliases=("date",), help="Eastern game date (or give game_id)"
    )
    game_id: int | None = option("int", example="1037593", help="one BallDontLie game id (or give game_date)")


class BdlOdds(BdlScraper[OddsOptions]):
    options_type = OddsOptions
    validator = validators.odds
    date_option = "game_date"
    endpoint = Endpoint("/odds", per_page=True)
    row_name = "odds row"
    row_fields = ("game_id",)

    def check_options(self, opts: OddsOptions) -> None:
        if (opts.game_date is None) == (opts.game_id is None):
            given = "both" if opts.game_date is not None else "neither"
            raise OptionError(
                "game_date", f"give exactly one of game_date or game_id (got {given})", "2024-01-15"
            )

    def query(self, opts: OddsOptions) -> Query:
        day = opts.game_date.isoformat() if opts.game_date is not None else None
        return present(("date", day), ("game_id", opts.game_id))

    def parse(self, opts: OddsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        odds = self.rows(pages)
        if opts.game_id is not None:
            _check_game(odds, opts.game_id)
        label = ident(("game", opts.game_id), ("date", opts.game_date))
        document = {"ident": label, "timestamp": utc_iso(ctx.fetched_at), "rowCount": len(odds), "odds": odds}
        # A one-game run names its game. Odds rows carry only `game_id`, never the teams or the
        # date, so no canonical `game_key` can be derived from this body (bdl_games has them).
        facts = {"game_id": opts.game_id} if opts.game_id is not None else {}
        return counted(document, len(odds), f"BallDontLie has no odds for {label}", facts)


def _check_game(odds: list[dict[str, object]], game_id: int) -> None:
    # Another game's lines must never land as this game's.
    for row in odds:
        if row["game_id"] != game_id:
            raise ParseError(f"BallDontLie odds for game {game_id} hold a row of game {row['game_id']!r}")
