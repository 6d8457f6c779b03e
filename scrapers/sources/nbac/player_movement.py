"""nbac_player_movement: the league's transaction feed (signings, trades, waivers) from stats.nba.com.

The feed is one static file holding every transaction since July 2015, so there is nothing to ask
for: `year` is only the label the old platform stored in `metadata.year`. What lands is the old
platform's shape, `metadata{year, fetchedUtc, recordCount, columnCount}, headers, rows`, with the
rows exactly as published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.core.clock import EASTERN, utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.sources.nbac import headers, validators

URL = "https://stats.nba.com/js/data/playermovement/NBA_Player_Movement.json"
FEED = "NBA_Player_Movement"


class PlayerMovementOptions(ScraperOptions):
    year: int | None = option(
        "int",
        example="2024",
        help="metadata.year label only (the feed has every year); default: fetch year (ET)",
    )


class NbacPlayerMovement(Scraper[PlayerMovementOptions]):
    options_type = PlayerMovementOptions
    validator = validators.player_movement

    def requests(self, opts: PlayerMovementOptions) -> Sequence[Request]:
        return (Request(URL, headers=headers.STATS, expect=BodyKind.JSON),)

    def parse(self, opts: PlayerMovementOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        (page,) = pages
        feed = _feed(page)
        columns = _column_names(feed)
        rows = _rows(feed)
        # The old platform's default label: the (Eastern) calendar year the feed was fetched in.
        year = opts.year if opts.year is not None else ctx.fetched_at.astimezone(EASTERN).year
        document = {
            "metadata": {
                "year": str(year),
                "fetchedUtc": utc_iso(ctx.fetched_at),
                "recordCount": len(rows),
                "columnCount": len(columns),
            },
            "headers": columns,
            "rows": rows,
        }
        if not rows:
            reason = f"the player-movement feed answered its {len(columns)} columns and no transactions"
            return Parsed(document, record_count=0, no_data_reason=reason)
        return Parsed(document, record_count=len(rows))


def _feed(page: Page) -> Mapping[str, Any]:
    # A 204 arrives with no data: the feed is a static file that always has content.
    feed = page.data.get(FEED) if isinstance(page.data, dict) else None
    if not isinstance(feed, dict):
        raise ParseError(f"player movement answered HTTP {page.status} without an object '{FEED}'")
    return feed


def _column_names(feed: Mapping[str, Any]) -> list[str]:
    """The feed describes its columns as `[{"Name": ..., "DataType": ...}]`; `headers` lands the names."""
    columns = feed.get("columns")
    if not isinstance(columns, list):
        raise ParseError(f"player movement '{FEED}' has no 'columns' list")
    names = [column.get("Name") if isinstance(column, dict) else None for column in columns]
    if not all(isinstance(name, str) and name for name in names):
        raise ParseError(f"player movement '{FEED}' has a column without a 'Name'")
    return [str(name) for name in names]


def _rows(feed: Mapping[str, Any]) -> list[Any]:
    rows = feed.get("rows")
    if not isinstance(rows, list):
        raise ParseError(f"player movement '{FEED}' has no 'rows' list")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ParseError(f"player movement row {index} is not an object")
    return rows
