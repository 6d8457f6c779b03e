"""bdl_injuries: BallDontLie's current player injuries (`/player_injuries`), league-wide or filtered.

The list is "now", not per date: `{date}` in the path is the Eastern date of the run. An empty list
is a clean answer that nobody (matching the filters) is injured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scrapers.core.clock import utc_iso
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, counted, ident, present


@dataclass(frozen=True)
class InjuriesOptions:
    teamId: int | None
    playerId: int | None


class BdlInjuries(BdlScraper[InjuriesOptions]):
    options_type = InjuriesOptions
    endpoint = Endpoint("/player_injuries", per_page=True, meta_required=True)
    row_name = "injury"

    def query(self, opts: InjuriesOptions) -> Query:
        return present(("team_ids[]", opts.teamId), ("player_ids[]", opts.playerId))

    def parse(self, opts: InjuriesOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        injuries = self.rows(pages)
        label = ident(("player", opts.playerId), ("team", opts.teamId))
        document = {
            "ident": label,
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(injuries),
            "injuries": injuries,
        }
        return counted(document, len(injuries), f"BallDontLie lists no injuries for {label}")
