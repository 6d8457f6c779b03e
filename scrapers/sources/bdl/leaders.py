"""bdl_player_leaders: BallDontLie's league leaders of one season in one statistic (`/leaders`).

The old platform asked for 100 a page and followed `meta.next_cursor` when present; the recorded
answer (231 rebounding leaders) came in one page without `meta`, so a missing `meta` ends the walk.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.core.season import Season
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, Row, counted


class PlayerLeadersOptions(ScraperOptions):
    season: Season = option(
        "season", example="2023-24", default="CURRENT", help="NBA season (start year or YYYY-YY)"
    )
    stat_type: str = option(
        "choice",
        example="reb",
        default="pts",
        choices=(
            "pts",
            "reb",
            "ast",
            "stl",
            "blk",
            "tov",
            "min",
            "oreb",
            "dreb",
        ),
        aliases=("statType",),
        help="the statistic ranked",
    )


class BdlPlayerLeaders(BdlScraper[PlayerLeadersOptions]):
    options_type = PlayerLeadersOptions
    validator = validators.player_leaders
    endpoint = Endpoint("/leaders", per_page=True)
    row_name = "leader"
    row_fields = ("player", "stat_type", "season")

    def query(self, opts: PlayerLeadersOptions) -> Query:
        return (("season", str(opts.season.start_year)), ("stat_type", opts.stat_type))

    def parse(self, opts: PlayerLeadersOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        leaders = self.rows(pages)
        _check_board(leaders, opts)
        document = {
            "ident": f"{opts.season.start_year}_{opts.stat_type}",
            "timestamp": utc_iso(ctx.fetched_at),
            "rowCount": len(leaders),
            "leaders": leaders,
        }
        reason = f"BallDontLie has no {opts.stat_type} leaders for {opts.season.nba_format}"
        return counted(document, len(leaders), reason)


def _check_board(leaders: list[Row], opts: PlayerLeadersOptions) -> None:
    # Another statistic's or season's board must never land under this one's ident.
    for row in leaders:
        if row["stat_type"] != opts.stat_type or row["season"] != opts.season.start_year:
            raise ParseError(
                f"BallDontLie answered {row['stat_type']!r} leaders of {row['season']!r}"
                f" for {opts.stat_type} of {opts.season.start_year}"
            )
