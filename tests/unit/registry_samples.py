"""Small scrapers and options models that test registry files point their `class:` at.

Each scraper is the code side of one registry.yaml entry in tests/unit/test_registry.py; most of
them are deliberately wrong in exactly one way, named in the docstring. tests/unit/test_option_models.py
resolves options through these models, and tests/quality/test_declared.py uses GoodScraper as a
scraper that declares no validator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from scrapers.core.options import NoOptions, ScraperOptions, option
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season

if TYPE_CHECKING:
    from decimal import Decimal


class _Sample(Scraper[ScraperOptions]):
    """Implements the abstract methods so every sample is a concrete scraper; declares no options."""

    def requests(self, opts: ScraperOptions) -> Sequence[Request]:
        return [Request(url="https://example.invalid/games")]

    def parse(self, opts: ScraperOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


# --- right -----------------------------------------------------------------------------------


class GoodOptions(ScraperOptions):
    """Every option type, each in the annotation its kind of option needs, some with old spellings;
    date and season keywords as example and default."""

    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("gamedate",), help="Eastern game date"
    )
    end_date: date = option("date", example="TOMORROW", default="TODAY-3", aliases=("endDate",))
    sport: str = option("str", example="NBA", default="NBA", pattern="[A-Z]+")
    season: Season = option("season", example="2023", default="CURRENT")
    team_ids: tuple[str, ...] = option(
        "list",
        example="1610612747,1610612738",
        default="1610612747",
        aliases=("teamIds", "teams"),
        pattern="[0-9]+",
    )
    markets: tuple[str, ...] | None = option("list", example="points,rebounds")
    limit: int = option("int", example="5", default="10")
    player_id: int | None = option("int", example="145", aliases=("playerId",))
    commence_time_from: datetime | None = option(
        "datetime", example="2024-01-15T23:00:00Z", aliases=("commenceTimeFrom",)
    )
    skip_json: bool = option("bool", example="true", default="false", aliases=("skipJson",))
    odds_format: str = option(
        "choice",
        example="decimal",
        default="american",
        choices=("american", "decimal"),
        aliases=("oddsFormat",),
    )


class GoodScraper(_Sample):
    """The code side of `sample_good` in test_registry.py's VALID_REGISTRY."""

    options_type = GoodOptions
    path_fields = frozenset({"game_code"})
    date_option = "game_date"


class OneDateOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", required=True, aliases=("gamedate",))


class OneDateScraper(_Sample):
    """One required date option with an old spelling: the base of most registry entries."""

    options_type = OneDateOptions


class NoOptionsScraper(_Sample):
    """Takes no options at all."""

    options_type = NoOptions


# --- wrong: the scraper class ----------------------------------------------------------------


class SportDateScraper(_Sample):
    """date_option names an option that exists but is not a date."""

    options_type = GoodOptions
    path_fields = frozenset({"game_code"})
    date_option = "sport"


class MissingDateOptionScraper(_Sample):
    """date_option names an option that does not exist at all."""

    options_type = GoodOptions
    date_option = "gameday"


class OldSpellingDateOptionScraper(_Sample):
    """date_option names the old spelling of the date option, which is no option name."""

    options_type = GoodOptions
    date_option = "gamedate"


class NotAScraper:
    """Importable, but not a Scraper subclass."""

    options_type = GoodOptions


NOT_A_CLASS = "a module attribute that is not a class at all"


class NoOptionsTypeScraper(_Sample):
    """Forgets options_type."""


@dataclass(frozen=True)
class DataclassOptions:
    game_date: date


class DataclassOptionsScraper(_Sample):
    """Still declares its options as the frozen dataclass of the old two-declaration world."""

    options_type = DataclassOptions  # type: ignore[assignment]  # the mistake the registry must catch


class PlainModelOptions(BaseModel):
    game_date: date


class PlainModelScraper(_Sample):
    """A pydantic model, but not a ScraperOptions (no frozen, no extra=forbid, no specs)."""

    options_type = PlainModelOptions  # type: ignore[assignment]  # the mistake the registry must catch


# --- wrong: the options model ----------------------------------------------------------------


class UndeclaredFieldOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", required=True)
    team: str = "LAL"


class UndeclaredFieldScraper(_Sample):
    """'team' is a plain pydantic field with a default, not declared with option(...)."""

    options_type = UndeclaredFieldOptions


class UnresolvedAnnotationOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", required=True)
    stake: Decimal = option("str", example="1.5", required=True)


class UnresolvedAnnotationScraper(_Sample):
    """'stake' is annotated with a type imported only for type checking: it names nothing at run time."""

    options_type = UnresolvedAnnotationOptions


class RequiredButOptionalOptions(ScraperOptions):
    game_date: date | None = option("date", example="2024-01-15", required=True)


class RequiredButOptionalScraper(_Sample):
    """A required option annotated as if it could be missing."""

    options_type = RequiredButOptionalOptions


class OptionalButNeverNoneOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15")


class OptionalButNeverNoneScraper(_Sample):
    """An optional option without a default annotated as if it were always there."""

    options_type = OptionalButNeverNoneOptions


class DefaultedButOptionalOptions(ScraperOptions):
    game_date: date | None = option("date", example="2024-01-15", default="TODAY")


class DefaultedButOptionalScraper(_Sample):
    """An optional option with a default (so never None) annotated as if it could be missing."""

    options_type = DefaultedButOptionalOptions


class WrongTypesOptions(ScraperOptions):
    game_date: str = option("date", example="2024-01-15", required=True)
    commence_time_from: date | None = option("datetime", example="2024-01-15T23:00:00Z")
    season: str | None = option("season", example="2023-24")
    sport: int = option("str", example="NBA", default="NBA")
    limit: str = option("int", example="5", default="10")
    skip_json: int = option("bool", example="true", default="false")
    team_ids: list[str] = option("list", example="1610612747", default="1610612747")
    odds_format: int | None = option("choice", example="decimal", choices=("american", "decimal"))


class WrongTypesScraper(_Sample):
    """Every option type annotated as some other Python type."""

    options_type = WrongTypesOptions


class RequiredWithDefaultOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", required=True, default="TODAY")


class RequiredWithDefaultScraper(_Sample):
    """A required option that also declares a default (which could never apply)."""

    options_type = RequiredWithDefaultOptions


class ChoiceWithoutChoicesOptions(ScraperOptions):
    odds_format: str | None = option("choice", example="decimal")


class ChoiceWithoutChoicesScraper(_Sample):
    """A choice option that lists no choices (so not even its example is one)."""

    options_type = ChoiceWithoutChoicesOptions


class BadExamplesOptions(ScraperOptions):
    game_date: date | None = option("date", example="2024-02-30")
    commence_time_from: datetime | None = option("datetime", example="2024-01-15T23:00:00")
    season: Season | None = option("season", example="2023-25")
    sport: str | None = option("str", example="  ")
    limit: int | None = option("int", example="ten")
    skip_json: bool | None = option("bool", example="maybe")
    team_ids: tuple[str, ...] | None = option("list", example=" , ", pattern="[0-9]+")
    odds_format: str | None = option("choice", example="fractional", choices=("american", "decimal"))


class BadExamplesScraper(_Sample):
    """Every option type with an example that does not resolve."""

    options_type = BadExamplesOptions


class BadDefaultsOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", default="yesterdayish")
    commence_time_from: datetime = option("datetime", example="2024-01-15T23:00:00Z", default="later")
    season: Season = option("season", example="2023-24", default="2023-25")
    sport: str = option("str", example="NBA", default="")
    limit: int = option("int", example="5", default="ten")
    skip_json: bool = option("bool", example="true", default="maybe")
    team_ids: tuple[str, ...] = option("list", example="1610612747", default=",", pattern="[0-9]+")
    odds_format: str = option(
        "choice", example="decimal", default="fractional", choices=("american", "decimal")
    )


class BadDefaultsScraper(_Sample):
    """Every option type with a default that does not resolve (its example is fine)."""

    options_type = BadDefaultsOptions


class AliasIsANameOptions(ScraperOptions):
    team_id: int | None = option("int", example="14", aliases=("team",))
    team: str | None = option("str", example="LAL")


class AliasIsANameScraper(_Sample):
    """The old spelling of 'team_id' is the name of another option."""

    options_type = AliasIsANameOptions


class SharedAliasOptions(ScraperOptions):
    team_id: int | None = option("int", example="14", aliases=("team",))
    team_abbr: str | None = option("str", example="LAL", aliases=("team",))


class SharedAliasScraper(_Sample):
    """Two options claim the same old spelling."""

    options_type = SharedAliasOptions


class SelfAliasOptions(ScraperOptions):
    game_date: date = option("date", example="2024-01-15", required=True, aliases=("game_date",))


class SelfAliasScraper(_Sample):
    """An option lists its own name as its old spelling."""

    options_type = SelfAliasOptions
