"""One option vocabulary: snake_case names everywhere, every old spelling still accepted.

The old platform's spellings (as registry.yaml had them before the options models) are what the
production schedulers send; each must still resolve to its canonical option, and giving both
spellings of one option in one call is bad input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from scrapers.cli import EXIT_USAGE, main
from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions
from scrapers.core.options import resolve_options
from scrapers.core.registry import load_registry

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Every spelling the old registry used that is not snake_case, and the scrapers that took it.
OLD_SPELLINGS = {
    "gamedate": "game_date",
    "date": "game_date",
    "startDate": "start_date",
    "endDate": "end_date",
    "teamId": "team_id",
    "playerId": "player_id",
    "playerIds": "player_ids",
    "gameIds": "game_ids",
    "gameId": "game_id",
    "oddsFormat": "odds_format",
    "statType": "stat_type",
    "skipJson": "skip_json",
    "seasonType": "season_type",
    "commenceTimeFrom": "commence_time_from",
    "commenceTimeTo": "commence_time_to",
}
REGISTRY = load_registry()
ALIASED = [
    (name, spec.name, alias)
    for name in REGISTRY.names()
    for spec in REGISTRY.get(name).options
    for alias in spec.aliases
]


def _required(name: str, skip: str) -> dict[str, str]:
    return {
        spec.name: spec.example for spec in REGISTRY.get(name).options if spec.required and spec.name != skip
    }


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_option_name_is_snake_case_and_every_alias_is_an_old_spelling(name: str) -> None:
    for spec in REGISTRY.get(name).options:
        assert SNAKE.match(spec.name), spec.name
        for alias in spec.aliases:
            assert OLD_SPELLINGS[alias] == spec.name


def test_every_old_spelling_is_still_taken_somewhere() -> None:
    assert {alias for _, _, alias in ALIASED} == set(OLD_SPELLINGS)


@pytest.mark.parametrize(("name", "canonical", "alias"), ALIASED, ids=[f"{n}-{a}" for n, _, a in ALIASED])
def test_an_old_spelling_resolves_to_its_canonical_option(name: str, canonical: str, alias: str) -> None:
    spec = next(spec for spec in REGISTRY.get(name).options if spec.name == canonical)
    raw = {**_required(name, canonical), alias: spec.example}
    # Resolution only: cross-option rules (exactly one of two) are the scraper's, not the name's.
    resolved = resolve_options(REGISTRY.get(name).options, raw, CLOCK)
    assert resolved[canonical] == spec.resolve(spec.example, CLOCK)
    assert alias not in resolved


@pytest.mark.parametrize(("name", "canonical", "alias"), ALIASED, ids=[f"{n}-{a}" for n, _, a in ALIASED])
def test_both_spellings_of_one_option_are_bad_input(name: str, canonical: str, alias: str) -> None:
    spec = next(spec for spec in REGISTRY.get(name).options if spec.name == canonical)
    raw = {**_required(name, canonical), alias: spec.example, canonical: spec.example}
    with pytest.raises(InvalidOptions) as caught:
        resolve_options(REGISTRY.get(name).options, raw, CLOCK)
    assert any(
        problem.option == canonical and f"'{alias}'" in problem.problem for problem in caught.value.problems
    )


def test_both_spellings_on_the_command_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--game_date", "2024-01-16"])
    assert code == EXIT_USAGE
    assert "option 'game_date': is given twice, as 'gamedate' and as 'game_date'" in capsys.readouterr().err
