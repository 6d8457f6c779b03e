"""bdl_injuries: BallDontLie's current player injuries (`/player_injuries`), league-wide or filtered.

The list is "now", not per date: `{date}` in the path is the Eastern date of the run. An empty list
is a clean answer that nobody (matching the filters) is injured.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapers.core.clock import utc_iso
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, counted, ident, present


class InjuriesOptions(ScraperOptions):
    team_id: int | None = option(
        "int", example="23", aliases=("teamId",), help="only this BallDontLie team id"
    )
    player_id: int | None = option(
        "int", example="145", aliases=("playerId",), help="only this BallDontLie player id"
    )


class BdlInjuries(BdlScraper[InjuriesOptions]):
    options_type = InjuriesOptions
    validator = validators.injuries
    endpoint = Endpoint("/player_injuries", per_page=True, meta_required=True)
    row_name = "injury"

    def query(self, opts: InjuriesOptions) -> Query:
        return present(("team_ids[]", opts.team_id), ("player_ids[]", opts.player_id))

    def parse(self, opts: InjuriesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        injuries = self.rows(pages)
        label = ident(("player", opts.player_id), ("team", opts.team_id))
        document = {
            "ident": label,
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(injuries),
            "injuries": injuries,
        }
        return counted(document, len(injuries), f"BallDontLie lists no injuries for {label}")
