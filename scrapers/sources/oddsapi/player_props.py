"""oddsa_player_props: current player-prop odds of one Odds API event.

Lands the API's event object as served (`id`, teams, `commence_time`, `bookmakers`). The path's
`teams` comes from the body and `snap` is the UTC wall-clock time of the fetch, so several snapshots
of one event per day land side by side. The completion metadata carries the event id, its game key,
the row count (one row per bookmaker x market outcome) and the run's `snapshot_type` label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from scrapers.core.options import option
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Landing, ParseContext, Parsed, Scraper
from scrapers.sources.oddsapi import validators
from scrapers.sources.oddsapi.common import (
    EventOdds,
    EventOddsOptions,
    event_odds_request,
    no_odds_because,
    odds_parsed,
    odds_query,
    only_page,
    read_event_odds,
    snap_label,
)


class OddsaPlayerPropsOptions(EventOddsOptions):
    snapshot_type: str = option(
        "choice",
        example="closing",
        default="opening",
        choices=(
            "opening",
            "closing",
        ),
        help="label carried in the completion metadata",
    )


OptionsT = TypeVar("OptionsT", bound=EventOddsOptions)


class CurrentEventOdds(Scraper[OptionsT], Generic[OptionsT]):
    """One event's current odds; props and game lines differ only in what `extra_metadata` adds."""

    date_option = "game_date"
    path_fields = frozenset({"teams", "snap"})
    lands = Landing.UPSTREAM_BODY
    label: ClassVar[str]

    def extra_metadata(self, opts: OptionsT, odds: EventOdds | None) -> dict[str, Any]:
        return {}

    def requests(self, opts: OptionsT) -> Sequence[Request]:
        return (event_odds_request(odds_query(opts)),)

    def quota_cost(self, opts: OptionsT) -> int:
        return odds_query(opts).cost(historical=False)

    def parse(self, opts: OptionsT, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = only_page(pages, self.label)
        odds = None if page.outcome is Outcome.NO_DATA else read_event_odds(page.data, opts.event_id)
        return odds_parsed(
            page,
            odds,
            query=odds_query(opts),
            teams=opts.teams,
            snap=snap_label(ctx.fetched_at),
            empty_because=no_odds_because(page),
            metadata=self.extra_metadata(opts, odds),
        )


class OddsaPlayerProps(CurrentEventOdds[OddsaPlayerPropsOptions]):
    options_type = OddsaPlayerPropsOptions
    validator = validators.current_odds
    label = "oddsa_player_props"

    def extra_metadata(self, opts: OddsaPlayerPropsOptions, odds: EventOdds | None) -> dict[str, Any]:
        return {"snapshot_type": opts.snapshot_type}
