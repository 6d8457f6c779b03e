"""bdl_standings: BallDontLie conference and division standings of one season (`/standings`).

The path is keyed by season (`2023-24`) and the Eastern date of the run, as the old platform's
processors expect; the document's `season` is the start year the API takes.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapers.core.clock import utc_iso
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.core.season import Season
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import BdlScraper, Endpoint, Query, counted


class StandingsOptions(ScraperOptions):
    season: Season = option(
        "season", example="2023-24", default="CURRENT", help="NBA season (start year or YYYY-YY)"
    )


class BdlStandings(BdlScraper[StandingsOptions]):
    options_type = StandingsOptions
    validator = validators.standings
    endpoint = Endpoint("/standings")
    row_name = "standing"
    row_fields = ("team",)

    def query(self, opts: StandingsOptions) -> Query:
        return (("season", str(opts.season.start_year)),)

    def parse(self, opts: StandingsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        standings = self.rows(pages)
        document = {
            "season": opts.season.start_year,
            "timestamp": utc_iso(ctx.fetched_at),
            "teamCount": len(standings),
            "standings": standings,
        }
        reason = f"BallDontLie has no standings for {opts.season.nba_format} (not started yet?)"
        return counted(document, len(standings), reason)
