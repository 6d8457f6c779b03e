"""BallDontLie players: `/players/active` (this season's players) and `/players` (the catalogue).

Both take the same optional filters and page with the cursor. Without a filter the catalogue holds
every player since 1946 (about 50 pages of 100); `search` or `teamId` keep it to one or two.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapers.core.clock import utc_iso
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import NAME, NAME_SHAPE, BdlScraper, Endpoint, Query, counted, ident, present


class ActivePlayersOptions(ScraperOptions):
    team_id: int | None = option(
        "int", example="23", aliases=("teamId",), help="only this BallDontLie team id"
    )
    player_id: int | None = option(
        "int", example="145", aliases=("playerId",), help="only this BallDontLie player id"
    )
    search: str | None = option(
        "str", example="embiid", help="first or last name contains", pattern=NAME, shape=NAME_SHAPE
    )


class BdlActivePlayers(BdlScraper[ActivePlayersOptions]):
    options_type = ActivePlayersOptions
    validator = validators.active_players
    endpoint = Endpoint("/players/active", per_page=True, meta_required=True)
    row_name = "player"
    unique_field = "id"

    def query(self, opts: ActivePlayersOptions) -> Query:
        return present(
            ("team_ids[]", opts.team_id), ("player_ids[]", opts.player_id), ("search", opts.search)
        )

    def parse(self, opts: ActivePlayersOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        players = self.rows(pages)
        label = ident(("player", opts.player_id), ("team", opts.team_id), ("search", opts.search))
        document = {
            "ident": label,
            "timestamp": utc_iso(ctx.fetched_at),
            "playerCount": len(players),
            "activePlayers": players,
        }
        return counted(document, len(players), f"BallDontLie lists no active players for {label}")


# A lower bound of the unfiltered catalogue's pages (see BdlPlayers.minimum_requests).
CATALOGUE_PAGES = 40


class PlayersOptions(ScraperOptions):
    team_id: int | None = option(
        "int", example="23", aliases=("teamId",), help="only this BallDontLie team id"
    )
    search: str | None = option(
        "str", example="embiid", help="first or last name contains", pattern=NAME, shape=NAME_SHAPE
    )


class BdlPlayers(BdlScraper[PlayersOptions]):
    options_type = PlayersOptions
    validator = validators.players
    endpoint = Endpoint("/players", per_page=True, meta_required=True)
    row_name = "player"
    unique_field = "id"

    def query(self, opts: PlayersOptions) -> Query:
        return present(("team_ids[]", opts.team_id), ("search", opts.search))

    def minimum_requests(self, opts: PlayersOptions) -> int:
        if opts.team_id is None and opts.search is None:
            # The catalogue holds every player since 1946 and only grows (about 50 pages of 100 in
            # 2025): at least CATALOGUE_PAGES, at 5 requests a minute longer than the default
            # deadline, so the unfiltered job is refused at once rather than after 24 pages.
            return CATALOGUE_PAGES
        return 1

    def parse(self, opts: PlayersOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        players = self.rows(pages)
        document = {"timestamp": utc_iso(ctx.fetched_at), "playerCount": len(players), "players": players}
        label = ident(("team", opts.team_id), ("search", opts.search), default="the whole catalogue")
        return counted(document, len(players), f"BallDontLie lists no players for {label}")
