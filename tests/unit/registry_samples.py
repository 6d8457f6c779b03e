"""Small Scraper subclasses that test registry files point their `class:` at.

Each class is the code side of one registry.yaml entry in tests/unit/test_registry.py; most of
them are deliberately wrong in exactly one way, named in the class docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season


@dataclass(frozen=True)
class GoodOptions:
    gamedate: date
    sport: str
    season: Season | None
    teams: tuple[str, ...]
    limit: int
    since: datetime | None
    live: bool
    market: str


class _Base(Scraper[GoodOptions]):
    """Implements the abstract methods so every sample is a concrete scraper."""

    options_type = GoodOptions

    def requests(self, opts: GoodOptions) -> Sequence[Request]:
        return [Request(url="https://example.invalid/games")]

    def parse(self, opts: GoodOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


class GoodScraper(_Base):
    """Matches VALID_ENTRY in test_registry.py exactly."""

    path_fields = frozenset({"game_code"})
    date_option = "gamedate"


class SportDateScraper(_Base):
    """date_option names an option that exists but is not a date."""

    date_option = "sport"


class MissingDateOptionScraper(_Base):
    """date_option names an option that does not exist at all."""

    date_option = "gameday"


class NotAScraper:
    """Importable, but not a Scraper subclass."""

    options_type = GoodOptions


NOT_A_CLASS = "a module attribute that is not a class at all"


class NoOptionsTypeScraper(Scraper[object]):
    """Forgets options_type."""

    def requests(self, opts: object) -> Sequence[Request]:
        return []

    def parse(self, opts: object, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


class PlainOptions:
    gamedate: date


class NotADataclassScraper(Scraper[PlainOptions]):
    """options_type is a plain class, not a dataclass."""

    options_type = PlainOptions

    def requests(self, opts: PlainOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: PlainOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


@dataclass(frozen=True)
class OneDateOptions:
    gamedate: date


class OneDateScraper(Scraper[OneDateOptions]):
    """One required date option; entries vary the YAML side around it."""

    options_type = OneDateOptions

    def requests(self, opts: OneDateOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: OneDateOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


@dataclass(frozen=True)
class ExtraFieldOptions:
    gamedate: date
    team: str


class ExtraFieldScraper(Scraper[ExtraFieldOptions]):
    """The class has an option ('team') that registry.yaml does not declare."""

    options_type = ExtraFieldOptions

    def requests(self, opts: ExtraFieldOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: ExtraFieldOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


@dataclass(frozen=True)
class WrongTypeOptions:
    gamedate: str


class WrongTypeScraper(Scraper[WrongTypeOptions]):
    """Declares a date option as str."""

    options_type = WrongTypeOptions

    def requests(self, opts: WrongTypeOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: WrongTypeOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


@dataclass(frozen=True)
class OptionalDateOptions:
    gamedate: date | None


class OptionalDateScraper(Scraper[OptionalDateOptions]):
    """Declares `date | None`: right for an optional option without default, wrong otherwise."""

    options_type = OptionalDateOptions

    def requests(self, opts: OptionalDateOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: OptionalDateOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


@dataclass(frozen=True)
class ClassDefaultOptions:
    gamedate: date
    sport: str = "NBA"
    teams: tuple[str, ...] = field(default_factory=tuple)


class ClassDefaultScraper(Scraper[ClassDefaultOptions]):
    """Writes defaults in the dataclass (one plain, one factory) instead of registry.yaml."""

    options_type = ClassDefaultOptions

    def requests(self, opts: ClassDefaultOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: ClassDefaultOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


@dataclass(frozen=True)
class ListOptions:
    teams: tuple[str, ...]


class ListScraper(Scraper[ListOptions]):
    """One list option with a default; used to check how YAML lists become option text."""

    options_type = ListOptions

    def requests(self, opts: ListOptions) -> Sequence[Request]:
        return []

    def parse(self, opts: ListOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")
