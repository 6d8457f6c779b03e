"""Options models: the one declaration of a scraper's options, and how old spellings resolve.

A model's `specs()` is what the registry check, `scrapers list`, `run NAME --help`, the service and
the README read. `resolve_options` turns an old spelling (schedulers in production still pass them)
into its canonical name, so the model a scraper receives only ever carries canonical names; both
spellings of one option in one call is bad input (exit 2) naming the option.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions
from scrapers.core.options import NoOptions, OptionSpec, OptionType, resolve_options
from scrapers.core.registry import load_registry
from scrapers.core.season import Season
from tests.unit.registry_samples import GoodOptions, OneDateOptions, UndeclaredFieldOptions

MIDDAY = FrozenClock(datetime(2024, 1, 15, 17, 0, tzinfo=UTC))  # 12:00 EST, Monday 2024-01-15
GAME_DATE = {"game_date": "2024-01-15"}  # GoodOptions' one required option


def test_specs_follow_the_model_declaration() -> None:
    assert GoodOptions.specs() == (
        OptionSpec(
            "game_date",
            OptionType.DATE,
            required=True,
            example="2024-01-15",
            help="Eastern game date",
            aliases=("gamedate",),
        ),
        OptionSpec(
            "end_date",
            OptionType.DATE,
            required=False,
            example="TOMORROW",
            default="TODAY-3",
            aliases=("endDate",),
        ),
        OptionSpec("sport", OptionType.STR, required=False, example="NBA", default="NBA", pattern="[A-Z]+"),
        OptionSpec("season", OptionType.SEASON, required=False, example="2023", default="CURRENT"),
        OptionSpec(
            "team_ids",
            OptionType.LIST,
            required=False,
            example="1610612747,1610612738",
            default="1610612747",
            aliases=("teamIds", "teams"),
            pattern="[0-9]+",
        ),
        OptionSpec("markets", OptionType.LIST, required=False, example="points,rebounds"),
        OptionSpec("limit", OptionType.INT, required=False, example="5", default="10"),
        OptionSpec("player_id", OptionType.INT, required=False, example="145", aliases=("playerId",)),
        OptionSpec(
            "commence_time_from",
            OptionType.DATETIME,
            required=False,
            example="2024-01-15T23:00:00Z",
            aliases=("commenceTimeFrom",),
        ),
        OptionSpec(
            "skip_json",
            OptionType.BOOL,
            required=False,
            example="true",
            default="false",
            aliases=("skipJson",),
        ),
        OptionSpec(
            "odds_format",
            OptionType.CHOICE,
            required=False,
            example="decimal",
            default="american",
            choices=("american", "decimal"),
            aliases=("oddsFormat",),
        ),
    )


def test_a_field_not_declared_with_option_has_no_spec() -> None:
    with pytest.raises(
        TypeError, match=r"UndeclaredFieldOptions\.team is not declared with option\(\.\.\.\)"
    ):
        UndeclaredFieldOptions.specs()


def test_a_scraper_without_options() -> None:
    assert NoOptions.specs() == ()
    assert resolve_options(NoOptions.specs(), {}, MIDDAY) == {}
    assert NoOptions() == NoOptions(**resolve_options(NoOptions.specs(), {}, MIDDAY))


def test_resolved_options_build_the_model_the_scraper_reads() -> None:
    resolved = resolve_options(GoodOptions.specs(), GAME_DATE, MIDDAY)

    opts = GoodOptions(**resolved)

    assert opts.game_date == date(2024, 1, 15)
    assert opts.end_date == date(2024, 1, 12)  # TODAY-3 in Eastern time
    assert opts.season == Season(2023)  # CURRENT on 2024-01-15 is 2023-24
    assert (opts.sport, opts.team_ids, opts.limit, opts.skip_json) == ("NBA", ("1610612747",), 10, False)
    assert (opts.markets, opts.player_id, opts.commence_time_from) == (None, None, None)
    assert opts.odds_format == "american"


def test_the_model_is_frozen_and_rejects_unknown_fields() -> None:
    resolved = resolve_options(GoodOptions.specs(), GAME_DATE, MIDDAY)
    opts = GoodOptions(**resolved)

    with pytest.raises(ValidationError, match="frozen"):
        opts.limit = 11
    with pytest.raises(ValidationError, match="nope"):
        GoodOptions(**(resolved | {"nope": 1}))  # built at run time, as the runner does


# ---------------------------------------------------------------------------------------------
# Old spellings


@pytest.mark.parametrize(
    ("old", "canonical", "text", "value"),
    [
        pytest.param("gamedate", "game_date", "20240116", date(2024, 1, 16), id="gamedate"),
        pytest.param("endDate", "end_date", "TODAY-1", date(2024, 1, 14), id="endDate"),
        pytest.param(
            "teamIds", "team_ids", "1610612747,1610612738", ("1610612747", "1610612738"), id="teamIds"
        ),
        pytest.param("teams", "team_ids", "1610612738", ("1610612738",), id="second old spelling"),
        pytest.param("playerId", "player_id", "145", 145, id="playerId"),
        pytest.param(
            "commenceTimeFrom",
            "commence_time_from",
            "2024-01-15T23:00:00Z",
            datetime(2024, 1, 15, 23, 0, tzinfo=UTC),
            id="commenceTimeFrom",
        ),
        pytest.param("skipJson", "skip_json", "true", True, id="skipJson"),
        pytest.param("oddsFormat", "odds_format", "decimal", "decimal", id="oddsFormat"),
    ],
)
def test_an_old_spelling_resolves_under_the_canonical_name(
    old: str, canonical: str, text: str, value: object
) -> None:
    specs = GoodOptions.specs()
    base = {name: given for name, given in GAME_DATE.items() if name != canonical}

    resolved = resolve_options(specs, base | {old: text}, MIDDAY)

    assert old not in resolved
    assert resolved[canonical] == value
    assert resolved == resolve_options(specs, base | {canonical: text}, MIDDAY)
    assert getattr(GoodOptions(**resolved), canonical) == value


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"gamedate": "2024-01-15", "game_date": "2024-01-16"}, id="old spelling first"),
        pytest.param({"game_date": "2024-01-16", "gamedate": "2024-01-15"}, id="canonical name first"),
    ],
)
def test_both_spellings_in_one_call_is_bad_input_naming_the_option(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidOptions) as caught:
        resolve_options(OneDateOptions.specs(), raw, MIDDAY)

    [problem] = caught.value.problems
    assert (problem.option, problem.example) == ("game_date", "2024-01-15")
    assert "given twice" in problem.problem
    assert "'gamedate'" in problem.problem
    assert "'game_date'" in problem.problem
    assert caught.value.exit_code == 2


def test_two_old_spellings_of_one_option_are_given_twice_too() -> None:
    with pytest.raises(InvalidOptions) as caught:
        resolve_options(GoodOptions.specs(), GAME_DATE | {"teamIds": "1", "teams": "2"}, MIDDAY)

    [problem] = caught.value.problems
    assert problem.option == "team_ids"
    assert "'teamIds'" in problem.problem
    assert "'teams'" in problem.problem


def test_both_spellings_are_reported_with_every_other_problem() -> None:
    raw = {"gamedate": "2024-01-15", "game_date": "2024-01-16", "limit": "ten", "gamday": "2024-01-15"}

    with pytest.raises(InvalidOptions) as caught:
        resolve_options(GoodOptions.specs(), raw, MIDDAY)

    assert sorted(problem.option for problem in caught.value.problems) == ["gamday", "game_date", "limit"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("game_date", "game_date (date, required, deprecated alias gamedate)"),
        ("team_ids", "team_ids (list, default 1610612747, deprecated alias teamIds, teams)"),
        (
            "odds_format",
            "odds_format (choice, one of american|decimal, default american, deprecated alias oddsFormat)",
        ),
        ("markets", "markets (list)"),
        ("sport", "sport (str, default NBA)"),
    ],
)
def test_describe_lists_the_deprecated_old_spellings(name: str, text: str) -> None:
    spec = next(spec for spec in GoodOptions.specs() if spec.name == name)

    assert spec.describe() == text


# ---------------------------------------------------------------------------------------------
# Every old spelling of the real registry

REGISTRY = load_registry()
OLD_SPELLINGS = [
    (name, spec.name, alias)
    for name in REGISTRY.names()
    for spec in REGISTRY.get(name).options
    for alias in spec.aliases
]


def test_the_registered_scrapers_keep_old_spellings() -> None:
    # The parametrized test below would pass vacuously if the aliases were dropped.
    assert {alias for _, _, alias in OLD_SPELLINGS} >= {"gamedate", "startDate", "teamId", "oddsFormat"}


@pytest.mark.parametrize(
    ("scraper", "canonical", "old"),
    [pytest.param(*row, id=f"{row[0]}:{row[2]}") for row in OLD_SPELLINGS],
)
def test_every_old_spelling_of_a_registered_scraper_resolves_like_its_canonical_name(
    scraper: str, canonical: str, old: str
) -> None:
    entry = REGISTRY.get(scraper)
    spec = entry.option(canonical)
    assert spec is not None
    required: dict[str, Any] = {other.name: other.example for other in entry.options if other.required}
    base = {name: value for name, value in required.items() if name != canonical}

    resolved = resolve_options(entry.options, base | {old: spec.example}, MIDDAY)

    assert resolved == resolve_options(entry.options, base | {canonical: spec.example}, MIDDAY)
    assert resolved[canonical] is not None
    # What the runner hands the scraper: its model, built from the resolved canonical names.
    entry.load_class().options_type(**resolved)
