"""oddsa_team_players: the players The Odds API lists for one participant (team).

The endpoint is undocumented. The old scraper accepted a bare list or an object wrapping it under
`players`; both are read, and either lands exactly as served. Unlike the old one, the URL (which
carries the key) is never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    KEY,
    KEY_SHAPE,
    PARTICIPANT_ID,
    PARTICIPANT_ID_SHAPE,
    api_request,
    checked_document,
    only_page,
    segment,
)

# Undocumented endpoint; priced like the documented participants endpoint (one credit).
TEAM_PLAYERS_COST = 1


class OddsaTeamPlayersOptions(ScraperOptions):
    participant_id: str = option(
        "str",
        example="par_01hqmkr1xsfxmrj6300d1rmzx3",
        required=True,
        help="Odds API participant id of a team",
        pattern=PARTICIPANT_ID,
        shape=PARTICIPANT_ID_SHAPE,
    )
    sport: str = option(
        "str", example="basketball_nba", default="basketball_nba", pattern=KEY, shape=KEY_SHAPE
    )


class OddsaTeamPlayers(Scraper[OddsaTeamPlayersOptions]):
    options_type = OddsaTeamPlayersOptions
    validator = validators.team_players
    lands = Landing.UPSTREAM_BODY

    def requests(self, opts: OddsaTeamPlayersOptions) -> Sequence[Request]:
        path = f"/sports/{segment(opts.sport)}/participants/{segment(opts.participant_id)}/players"
        return (api_request(path),)

    def quota_cost(self, opts: OddsaTeamPlayersOptions) -> int:
        return TEAM_PLAYERS_COST

    def parse(self, opts: OddsaTeamPlayersOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, "oddsa_team_players")
        players = [] if page.outcome is Outcome.NO_DATA else _players(page.data)
        document = checked_document(page)
        metadata = {"sport": opts.sport, "participant_id": opts.participant_id, "row_count": len(players)}
        if players:
            return Parsed(document=document, record_count=len(players), metadata=metadata)
        served = "HTTP 204 No Content" if page.outcome is Outcome.NO_DATA else "an empty player list"
        reason = f"The Odds API lists no players for participant {opts.participant_id} ({served})"
        return Parsed(document=document, record_count=0, no_data_reason=reason, metadata=metadata)


def _players(data: object) -> list[dict[str, Any]]:
    players = data.get("players") if isinstance(data, dict) else data
    if not isinstance(players, list) or not all(isinstance(player, dict) for player in players):
        raise ParseError("The Odds API players body is not a list of player objects")
    return players
