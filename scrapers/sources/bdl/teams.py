"""bdl_teams: every franchise BallDontLie knows (`/teams`), the current 30 and defunct ones.

The old platform's module crashed at import (no path template), so it never landed anything; the
path `ball-dont-lie/teams/{date}/{timestamp}.json` is ours, beside the other BDL datasets.
"""

from __future__ import annotations

from collections.abc import Sequence

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions
from scrapers.core.request import Page
from scrapers.core.scraper import ParseContext, Parsed
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import BdlScraper, Endpoint


class TeamsOptions(ScraperOptions):
    """`/teams` takes no parameters worth exposing: the list is small and changes once a decade."""


class BdlTeams(BdlScraper[TeamsOptions]):
    options_type = TeamsOptions
    validator = validators.teams
    endpoint = Endpoint("/teams")
    row_name = "team"
    row_fields = ("abbreviation",)
    unique_field = "id"

    def parse(self, opts: TeamsOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        teams = self.rows(pages)
        # The league always has teams: an empty list is a broken answer, never "no data".
        if not teams:
            raise ParseError("BallDontLie /teams answered no teams")
        document = {"timestamp": utc_iso(ctx.fetched_at), "teamCount": len(teams), "teams": teams}
        return Parsed(document=document, record_count=len(teams))
