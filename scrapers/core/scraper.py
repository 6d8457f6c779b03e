"""The scraper contract: options in, requests out, a pure parse of pages into a document.

A scraper never does I/O. The runner fetches what `requests`/`next_request` ask for through the
resilient core and hands the decoded pages to `parse`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from scrapers.core.fanout import FanOut, FanOutRef
from scrapers.core.lines import LineExtractor
from scrapers.core.options import ScraperOptions
from scrapers.core.request import Page, Request
from scrapers.core.verdict import Validator

OptionsT = TypeVar("OptionsT")


class Landing(StrEnum):
    """What lands at a scraper's object path: the old platform's export mode, per scraper.

    Downstream reads these bytes, so the mode is part of the contract (OLD-PLATFORM.md §2.0).
    """

    # The upstream's answer exactly as received (the old `RAW` export). The parse still reads the
    # body (counts, path parts, quality checks), but what it derives goes to the completion only.
    UPSTREAM_BODY = "upstream body"
    # The parse's document (the old `DATA` export, or `DECODED` where the parse is the body itself).
    DOCUMENT = "document"


@dataclass(frozen=True)
class Parsed:
    """The parse result. Status is explicit: nothing is inferred from the document's keys.

    `record_count == 0` requires `no_data_reason`: the positive evidence that the data does not
    exist (an empty game list for the date, a 204, an empty injury report).
    """

    # What the quality checks read and, for `Landing.DOCUMENT` scrapers, what lands.
    document: Mapping[str, Any]
    record_count: int
    no_data_reason: str | None = None
    # Path placeholders from the body; a `date` here is the job's date (path and completion).
    path_values: Mapping[str, str] = field(default_factory=dict)
    raw_artifact: bytes | None = None
    # Ids that per-game / per-event scrapers expand from (scoreboards, schedules, event lists).
    fan_out: tuple[FanOutRef, ...] = ()
    # Facts for the completion's metadata, beside the landed bytes: counts, the snapshot served,
    # and for per-game scrapers `game_key` (`YYYYMMDD_AWY_HOM`) next to the source's own id.
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.record_count < 0:
            raise ValueError("record_count cannot be negative")
        if self.record_count == 0 and not self.no_data_reason:
            raise ValueError("a parse with zero records must say why (no_data_reason)")
        if self.record_count > 0 and self.no_data_reason:
            raise ValueError("a parse with records cannot carry a no_data_reason")


@dataclass(frozen=True)
class ParseContext:
    """What a pure parse may know about its run besides options and pages."""

    fetched_at: datetime  # aware, UTC: when the last page arrived
    run_id: str


class Scraper(ABC, Generic[OptionsT]):
    """Subclass per scraper. `options_type` is its options model, the one declaration of its options
    (`option(...)` fields: type, example, default, help, old spellings); the runner resolves every
    option (keywords, defaults) and hands the scraper the typed model."""

    options_type: ClassVar[type[ScraperOptions]]
    # Placeholders of the object path that come from the parsed body, not from options.
    path_fields: ClassVar[frozenset[str]] = frozenset()
    # Which date option fills `{date}` in the path; None means the run's Eastern date.
    date_option: ClassVar[str | None] = None
    # What lands: the parse's document, or the upstream body unchanged (see Landing).
    lands: ClassVar[Landing] = Landing.DOCUMENT
    # The data-quality checks of the parsed document, e.g. `validator = validators.games`, a
    # function of the source's `validators.py` (which never imports scraper modules). Every run
    # carries their verdict; without one the verdict is a warning and `scrapers check` fails.
    # Read it from the class (`cls.validator`): through an instance Python would bind it.
    validator: ClassVar[Validator | None] = None
    # Per-game or per-event child jobs built from `Parsed.fan_out`, one FanOut per child scraper
    # (the service's `fan_out`, `run-many`, `backfill`, a worker's messages); () without children.
    fan_out: ClassVar[tuple[FanOut, ...]] = ()
    # Box-score scrapers: the per-player lines `scrapers quality-compare` joins across sources, a
    # function of the source's `lines.py`. Read it from the class, like `validator`.
    lines: ClassVar[LineExtractor | None] = None

    def check_options(self, opts: OptionsT) -> None:
        """Cross-option rules (an end before a start); raise OptionError. Runs before any request."""

    @abstractmethod
    def requests(self, opts: OptionsT) -> Sequence[Request]:
        """The first request(s) of the job."""

    def next_request(self, opts: OptionsT, page: Page) -> Request | None:
        """The next page of a paginated fetch, or None. Pagination is part of the fetch plan."""
        return None

    def follow_ups(self, opts: OptionsT, page: Page) -> Sequence[Request]:
        """Requests that depend on `page`, fetched in the same job through the same core.

        The default is pagination (`next_request`). Override it for fan-out inside one job, e.g. a
        date's events page -> one offers request per event. Their pages follow `page` in the list
        handed to `parse`, in the order returned here (each with its own follow-ups after it).
        """
        following = self.next_request(opts, page)
        return () if following is None else (following,)

    def quota_cost(self, opts: OptionsT) -> int:
        """Credits of a metered upstream the job will spend, estimated before anything is sent.

        The runner refuses a job whose cost would eat into the source's quota reserve; 0 (the
        default) means quota-free, and such a job is never refused.
        """
        return 0

    def minimum_requests(self, opts: OptionsT) -> int:
        """Requests the job sends at least, known before anything is sent (pages included).

        The runner refuses a job whose minimum cannot fit its deadline at its host's allowed rate
        (`infeasible`). The default, the first requests, is always true; a paginated scraper that
        knows a lower bound of its pages (a catalogue that only grows) says so, and must never
        overstate it: an overstated minimum refuses a job that would have fit.
        """
        return len(self.requests(opts))

    @abstractmethod
    def parse(self, opts: OptionsT, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        """Pure: pages (in request order, pagination included) to the document and its count."""
