"""What every BallDontLie scraper shares: base URL, key, list bodies and cursor pagination.

Every endpoint answers `{"data": [...], "meta": {...}}`. The old platform walked `meta.next_cursor`
inside `transform_data` with its own session, and most of its modules sent only `cursor` and
`per_page` after the first page, dropping the date and filters. Here each page is a Request of the
fetch plan rebuilt from the same query plus the cursor, so every page goes through the core's
limiter, retries and classification, and a page that fails fails the job with its class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar, TypeVar

from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request, SecretRef
from scrapers.core.scraper import Parsed, Scraper

BASE_URL = "https://api.balldontlie.io/v1"
# The API maximum: the BDL free tier allows 5 requests a minute, so fewer pages matter.
PER_PAGE = 100
API_KEY = SecretRef(env="BDL_API_KEY", header="Authorization")
ACCEPT_JSON = {"Accept": "application/json"}
# BallDontLie ids are integers (`1037593`); list options take them as text (option(pattern=...)).
ID = r"[0-9]{1,12}"
ID_SHAPE = "a BallDontLie id (digits)"
# A name fragment for `search`: letters of any script, spaces, `.`, `'` and `-` (`O'Neal`, `Dončić`).
NAME = r"[^\W_][\w .'-]{0,63}"
NAME_SHAPE = "a name (letters, spaces, . ' -)"

Query = tuple[tuple[str, str], ...]
Row = dict[str, Any]
OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class Endpoint:
    path: str
    # The endpoint pages: ask for the largest page.
    per_page: bool = False
    # Documented cursor pagination: every page carries `meta`. A page without it means the API
    # changed, and ending the walk there would silently drop the pages that follow.
    meta_required: bool = False

    def request(self, query: Query = (), cursor: str | None = None) -> Request:
        params = query
        if self.per_page:
            params += (("per_page", str(PER_PAGE)),)
        if cursor is not None:
            params += (("cursor", cursor),)
        return Request(
            url=f"{BASE_URL}{self.path}",
            params=params,
            headers=ACCEPT_JSON,
            expect=BodyKind.JSON,
            secrets=(API_KEY,),
        )


class BdlScraper(Scraper[OptionsT]):
    """One BallDontLie endpoint: a first request, then `meta.next_cursor` until it runs out."""

    endpoint: ClassVar[Endpoint]
    # What a row is called in messages, and the fields every row must carry.
    row_name: ClassVar[str] = "row"
    row_fields: ClassVar[tuple[str, ...]] = ()
    # A field unique per row: the same value on two pages is an overlapping cursor, not data.
    unique_field: ClassVar[str | None] = None

    def query(self, opts: OptionsT) -> Query:
        """The endpoint's query parameters for these options (without per_page and cursor)."""
        return ()

    def requests(self, opts: OptionsT) -> Sequence[Request]:
        return (self.endpoint.request(self.query(opts)),)

    def next_request(self, opts: OptionsT, page: Page) -> Request | None:
        cursor = next_cursor(page, self.endpoint.meta_required)
        if cursor is None:
            return None
        # An upstream that hands back the cursor it was given would loop until the page guard.
        if cursor == dict(page.request.params).get("cursor"):
            raise ParseError(
                f"BallDontLie returned the same cursor {cursor} again: pagination does not advance"
            )
        return continued(page.request, cursor)

    def rows(self, pages: Sequence[Page]) -> list[Row]:
        """Every page's `data` rows in order, each checked for the fields the scraper relies on."""
        if not pages:
            raise ValueError("parse needs the fetched pages; none were given")
        rows: list[Row] = []
        for number, page in enumerate(pages, start=1):
            rows.extend(self._checked_rows(page, number))
        if self.unique_field is not None:
            _check_unique(rows, self.unique_field, self.row_name)
        return rows

    def _checked_rows(self, page: Page, number: int) -> list[Row]:
        data = page_rows(page, number)
        required = self.row_fields + ((self.unique_field,) if self.unique_field else ())
        for row in data:
            if not isinstance(row, dict) or any(name not in row for name in required):
                wanted = f" with {', '.join(repr(name) for name in required)}" if required else ""
                raise ParseError(f"BallDontLie page {number}: a {self.row_name} is not an object{wanted}")
        return data


def continued(request: Request, cursor: str) -> Request:
    """The page after `request`: the same path and filters with the new cursor. Continuing the
    page's own request (not the options') lets a job that starts with several requests (chunks of
    ids, a path per category) walk each one on its own."""
    params = tuple(pair for pair in request.params if pair[0] != "cursor")
    return replace(request, params=(*params, ("cursor", cursor)))


def page_rows(page: Page, number: int = 1) -> list[Any]:
    """The `data` list of one page; a 204 (no body) holds no rows."""
    if page.outcome is Outcome.NO_DATA:
        return []
    data = body_of(page).get("data")
    if not isinstance(data, list):
        raise ParseError(f"BallDontLie page {number}: 'data' is not a list (got {type(data).__name__})")
    return data


def next_cursor(page: Page, meta_required: bool = True) -> str | None:
    """`meta.next_cursor` of a page; None on the last page (the key is absent or null there)."""
    if page.outcome is Outcome.NO_DATA:
        return None
    meta = body_of(page).get("meta")
    if meta is None and not meta_required:
        return None
    if not isinstance(meta, dict):
        raise ParseError(f"BallDontLie page has no 'meta' object (got {type(meta).__name__})")
    cursor = meta.get("next_cursor")
    if cursor is None:
        return None
    # bool is an int subclass; a boolean cursor means the shape changed, not a page number.
    if isinstance(cursor, bool) or not isinstance(cursor, int | str) or str(cursor) == "":
        raise ParseError(f"BallDontLie meta.next_cursor is not a cursor: {cursor!r}")
    return str(cursor)


def body_of(page: Page) -> dict[str, Any]:
    if not isinstance(page.data, dict):
        raise ParseError(f"BallDontLie body is not a JSON object (got {type(page.data).__name__})")
    return page.data


def _check_unique(rows: list[Row], field: str, name: str) -> None:
    seen: set[object] = set()
    for row in rows:
        # Overlapping pages would double-count rows; that is a broken cursor, not data.
        if row[field] in seen:
            raise ParseError(f"BallDontLie {name} {row[field]} appears twice across pages")
        seen.add(row[field])


def counted(
    document: Mapping[str, Any], count: int, no_data_reason: str, metadata: Mapping[str, Any] | None = None
) -> Parsed:
    """The parse result: `no_data_reason` applies only when the clean answer held no rows.

    `metadata` is the completion's facts (a per-game run's `game_id` and `game_key`).
    """
    facts = metadata or {}
    if count == 0:
        return Parsed(document=document, record_count=0, no_data_reason=no_data_reason, metadata=facts)
    return Parsed(document=document, record_count=count, metadata=facts)


def present(*pairs: tuple[str, object | None]) -> Query:
    """Query parameters for the options that were given (None means not given)."""
    return tuple((name, str(value)) for name, value in pairs if value is not None)


def ident(*filters: tuple[str, object | None], default: str = "league") -> str:
    """The old platform's `ident`: the first filter given as `<label>_<value>`, else `default`."""
    return next((f"{label}_{value}" for label, value in filters if value is not None), default)


def check_ids(option: str, ids: Sequence[str] | None, example: str) -> None:
    """A list option of BallDontLie ids holds only digits: anything else can only match nothing,
    and the API's empty answer would be a false no_data."""
    if ids and not all(value.isdigit() for value in ids):
        raise OptionError(option, f"{','.join(ids)} are not all BallDontLie ids", example)


def id_filters(name: str, ids: Sequence[str] | None) -> Query:
    """`game_ids[]=1&game_ids[]=2`: one array parameter per id, as the API takes lists."""
    return tuple((f"{name}[]", value) for value in ids or ())


def check_date_range(start: date, end: date) -> None:
    """`startDate`..`endDate` must not run backwards; the API answers that with an empty list,
    which would be a false no_data."""
    if end < start:
        problem = f"{end.isoformat()} is before start_date {start.isoformat()}"
        raise OptionError("end_date", problem, start.isoformat())


class StatFilterOptions(ScraperOptions):
    """A date range with optional game and player filters, as /stats and /stats/advanced take them."""

    start_date: date = option(
        "date", example="2024-01-15", default="YESTERDAY", aliases=("startDate",), help="first Eastern date"
    )
    end_date: date = option(
        "date", example="2024-01-16", default="TODAY", aliases=("endDate",), help="last Eastern date"
    )
    game_ids: tuple[str, ...] | None = option(
        "list",
        example="1037593,1037594",
        aliases=("gameIds",),
        help="only these BallDontLie game ids",
        pattern=ID,
        shape=ID_SHAPE,
    )
    player_ids: tuple[str, ...] | None = option(
        "list",
        example="145,237",
        aliases=("playerIds",),
        help="only these BallDontLie player ids",
        pattern=ID,
        shape=ID_SHAPE,
    )


def check_stat_filters(opts: StatFilterOptions) -> None:
    check_date_range(opts.start_date, opts.end_date)
    check_ids("game_ids", opts.game_ids, "1037593,1037594")
    check_ids("player_ids", opts.player_ids, "145,237")


def stat_filters(opts: StatFilterOptions) -> Query:
    """One date-range query with the id filters (the old platform walked one date at a time)."""
    span = (("start_date", opts.start_date.isoformat()), ("end_date", opts.end_date.isoformat()))
    return span + id_filters("game_ids", opts.game_ids) + id_filters("player_ids", opts.player_ids)
