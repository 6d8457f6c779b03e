"""bdl_player_leaders: BallDontLie's league leaders of one season in one statistic (`/leaders`).

The old platform asked for 100 a page and followed `meta.next_cursor` when present; the recorded
answer (231 rebounding leaders) came in one page without `meta`, so a missing `meta` ends the walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.core.season import Season
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, Row, counted


@dataclass(frozen=True)
class PlayerLeadersOptions:
    season: Season
    statType: str


class BdlPlayerLeaders(BdlScraper[PlayerLeadersOptions]):
    options_type = PlayerLeadersOptions
    endpoint = Endpoint("/leaders", per_page=True)
    row_name = "leader"
    row_fields = ("player", "stat_type", "season")

    def query(self, opts: PlayerLeadersOptions) -> Query:
        return (("season", str(opts.season.start_year)), ("stat_type", opts.statType))

    def parse(self, opts: PlayerLeadersOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        leaders = self.rows(pages)
        _check_board(leaders, opts)
        document = {
            "ident": f"{opts.season.start_year}_{opts.statType}",
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(leaders),
            "leaders": leaders,
        }
        reason = f"BallDontLie has no {opts.statType} leaders for {opts.season.nba_format}"
        return counted(document, len(leaders), reason)


def _check_board(leaders: list[Row], opts: PlayerLeadersOptions) -> None:
    # Another statistic's or season's board must never land under this one's ident.
    for row in leaders:
        if row["stat_type"] != opts.statType or row["season"] != opts.season.start_year:
            raise ParseError(
                f"BallDontLie answered {row['stat_type']!r} leaders of {row['season']!r}"
                f" for {opts.statType} of {opts.season.start_year}"
            )
