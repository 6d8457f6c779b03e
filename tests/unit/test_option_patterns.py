"""Ids and dates checked where they enter: option patterns, the 1946-2100 year range, the last guard
where an object path is built, and `scrapers check` holding every id option to a pattern.

A value that fails is an OptionError naming the option and an example (exit 2 / HTTP 400), quoted
escaped; a path placeholder that would not be one safe segment fails the run `structural` before
anything lands, with its completion.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from scrapers.core.clock import FrozenClock
from scrapers.core.errors import InvalidOptions, OptionError
from scrapers.core.options import OptionSpec, OptionType, ScraperOptions, option, resolve_options, shown
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import Page, Request
from scrapers.core.result import RunResult
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink

HERE = "tests.unit.test_option_patterns"
UNPATTERNED = "(option(..., pattern=...))"
CLOCK = FrozenClock(datetime(2024, 1, 15, 17, 0, tzinfo=UTC))
# What could add a path segment, a query parameter or a fragment, or split an object name or a log line.
HOSTILE = ["abc/def", "x?apiKey=y", "a&b=c", "abc\ndef", "abc\x00def", "..", "../x", "a#b", "a%2Fb", "a\\b"]


def _spec(kind: OptionType, **fields: Any) -> OptionSpec:
    return OptionSpec("value", kind, required=False, example=fields.pop("example", "x"), **fields)


# --- the year range -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (OptionType.DATE, "9999-12-31"),
        (OptionType.DATE, "0999-01-01"),
        (OptionType.DATE, "1945-12-31"),
        (OptionType.DATE, "2101-01-01"),
        (OptionType.DATE, "00010101"),
        (OptionType.DATE, date(9999, 12, 31)),
        (OptionType.DATETIME, "9999-12-31T23:00:00-05:00"),  # overflows when turned into UTC
        (OptionType.DATETIME, "0999-06-01T00:00:00Z"),
        (OptionType.DATETIME, "2100-12-31T23:00:00-05:00"),  # 2101 in UTC
        (OptionType.SEASON, "0999"),
        (OptionType.SEASON, "9999"),
        (OptionType.SEASON, "1945-46"),
        (OptionType.SEASON, Season(2101)),
    ],
)
def test_a_year_outside_1946_to_2100_is_an_option_error_with_an_example(
    kind: OptionType, raw: object
) -> None:
    spec = _spec(kind, example="2024-01-15")
    with pytest.raises(OptionError) as caught:
        spec.resolve(raw, CLOCK)
    assert (caught.value.option, caught.value.example) == ("value", "2024-01-15")
    assert "is outside the years 1946-2100" in caught.value.problem


@pytest.mark.parametrize("raw", ["TODAY+400000", "TODAY-99999", "YESTERDAY+123456789"])
def test_a_far_offset_is_an_option_error_not_an_overflow(raw: str) -> None:
    with pytest.raises(OptionError) as caught:
        _spec(OptionType.DATE).resolve(raw, CLOCK)
    assert caught.value.option == "value"


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (OptionType.DATE, "1946-01-01", date(1946, 1, 1)),
        (OptionType.DATE, "2100-12-31", date(2100, 12, 31)),
        (OptionType.DATE, "TODAY+9999", date(2051, 6, 1)),  # the longest offset stays in range
        (OptionType.DATETIME, "2100-12-31T23:59:59Z", datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (OptionType.SEASON, "1946-47", Season(1946)),
        (OptionType.SEASON, "2100", Season(2100)),
    ],
)
def test_the_first_and_last_years_resolve(kind: OptionType, raw: str, expected: object) -> None:
    assert _spec(kind).resolve(raw, CLOCK) == expected


def test_every_date_problem_of_a_request_is_named_together() -> None:
    registry = load_registry()
    with pytest.raises(InvalidOptions) as caught:
        resolve_options(
            registry.get("bdl_games").options, {"start_date": "0999-01-01", "end_date": "9999-12-31"}, CLOCK
        )
    assert [problem.option for problem in caught.value.problems] == ["start_date", "end_date"]


# --- patterns -------------------------------------------------------------------------------------


def test_a_pattern_must_match_the_whole_value_and_each_list_item() -> None:
    spec = _spec(OptionType.LIST, pattern="[0-9]{1,3}", shape="a short id (digits)", example="1,2")
    assert spec.resolve("1,22,333", CLOCK) == ("1", "22", "333")
    with pytest.raises(OptionError) as caught:
        spec.resolve("1,22a,3333,7", CLOCK)
    assert caught.value.problem == "'22a', '3333' is not a short id (digits)"
    assert caught.value.example == "1,2"


def test_a_pattern_without_a_shape_is_quoted_in_the_message() -> None:
    with pytest.raises(OptionError, match=re.escape("'a/b' is not of the form [a-z]+")):
        _spec(OptionType.STR, pattern="[a-z]+").resolve("a/b", CLOCK)


def test_a_refused_value_is_quoted_escaped_and_cut_short() -> None:
    assert shown("a\nb\x00c") == "'a\\nb\\x00c'"
    long = "x" * 1000
    assert shown(long) == repr("x" * 64) + "..."
    with pytest.raises(OptionError) as caught:
        _spec(OptionType.STR, pattern="[a-z]+").resolve("ab\ncd/" + long, CLOCK)
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 200


def test_a_pattern_is_declared_on_text_options_only_and_must_compile() -> None:
    with pytest.raises(TypeError, match="pattern= only applies to a str or list option, not int"):
        option("int", example="1", pattern="[0-9]+")
    with pytest.raises(re.error):
        option("str", example="1", pattern="[0-9")


def _patterned() -> list[tuple[str, OptionSpec]]:
    registry = load_registry()
    return [
        (name, spec)
        for name in registry.names()
        for spec in registry.get(name).options
        if spec.pattern is not None
    ]


@pytest.mark.parametrize(("scraper", "spec"), _patterned(), ids=[f"{n}.{s.name}" for n, s in _patterned()])
def test_every_declared_pattern_refuses_what_could_leave_a_path_segment_or_a_url(
    scraper: str, spec: OptionSpec
) -> None:
    assert spec.resolve(spec.example, CLOCK) is not None
    for value in HOSTILE:
        with pytest.raises(OptionError) as caught:
            spec.resolve(value, CLOCK)
        assert (caught.value.option, caught.value.example) == (spec.name, spec.example)


@pytest.mark.parametrize(
    ("scraper", "option_name"),
    [
        ("oddsa_player_props", "event_id"),
        ("oddsa_game_lines_his", "event_id"),
        ("oddsa_events_his", "event_ids"),
        ("oddsa_team_players", "participant_id"),
        ("oddsa_player_props", "teams"),
        ("oddsa_events", "sport"),
        ("oddsa_player_props", "bookmakers"),
        ("bp_player_props", "event_ids"),
        ("espn_game_boxscore", "game_id"),
        ("espn_roster", "team_abbr"),
        ("nbac_gamebook_pdf", "game_code"),
        ("nbac_play_by_play", "game_id"),
        ("nbac_team_boxscore", "game_id"),
        ("nbac_roster", "team_abbr"),
        ("bdl_player_box_scores", "game_ids"),
        ("bdl_player_averages", "player_ids"),
        ("bdl_players", "search"),
    ],
)
def test_the_id_options_declare_patterns(scraper: str, option_name: str) -> None:
    spec = load_registry().get(scraper).option(option_name)
    assert spec is not None
    assert spec.pattern is not None
    assert spec.shape


@pytest.mark.parametrize(
    ("scraper", "options"),
    [
        ("oddsa_player_props", {"event_id": "cd0bc7d0c238f4446ce1c03d0cea7ec4", "game_date": "2024-01-15"}),
        ("oddsa_team_players", {"participant_id": "par_01hqmkr1xsfxmrj6300d1rmzx3"}),
        ("oddsa_game_lines", {"event_id": "e2a6c4f8b1d34e79a5c0b3d7f9e1a2c4", "game_date": "2024-01-15"}),
        ("bp_player_props", {"event_ids": "20879,27101"}),
        ("espn_game_boxscore", {"game_id": "401585601", "game_date": "2024-01-15"}),
        ("nbac_gamebook_pdf", {"game_code": "20240218/WSTEST"}),  # the All-Star game's teams
        ("nbac_play_by_play", {"game_id": "0022300601", "game_date": "2024-01-15"}),
        ("bdl_players", {"search": "O'Neal"}),
        ("bdl_players", {"search": "Dončić"}),
    ],
)
def test_real_ids_from_the_recorded_upstreams_pass(scraper: str, options: Mapping[str, str]) -> None:
    prepare(load_registry(), scraper, options, CLOCK)


def test_the_lower_case_tricode_still_gets_its_hint() -> None:
    # The pattern takes letters of any case, so the roster's own check can say what was meant.
    with pytest.raises(InvalidOptions, match="did you mean GSW"):
        prepare(load_registry(), "nbac_roster", {"team_abbr": "gsw"}, CLOCK)


# --- `scrapers check` -----------------------------------------------------------------------------


class _Sample(Scraper[Any]):
    def requests(self, opts: Any) -> Sequence[Request]:
        return [Request(url="https://example.invalid/teams")]

    def parse(self, opts: Any, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={"teams": []}, record_count=1)


class UnpatternedOptions(ScraperOptions):
    team_code: str = option("str", example="GSW", required=True)
    game_ids: tuple[str, ...] | None = option("list", example="1,2")
    search: str | None = option("str", example="curry")  # neither an id nor in a path: free


class UnpatternedScraper(_Sample):
    options_type = UnpatternedOptions


class ExampleMissesOptions(ScraperOptions):
    team_code: str = option("str", example="gsw/x", required=True, pattern="[A-Z]{3}")
    season_label: str = option("str", example="AB", default="2023/24", pattern="[A-Z]{2}")


class ExampleMissesScraper(_Sample):
    options_type = ExampleMissesOptions


class HostilePathOptions(ScraperOptions):
    team_code: str = option("str", example="GSW", required=True, pattern="[A-Z]{3}")


class HostilePathScraper(_Sample):
    """Files its document under a folder its parse reads from the body, as a few real ones do."""

    options_type = HostilePathOptions
    path_fields = frozenset({"team"})

    def parse(self, opts: Any, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        team = str(pages[0].data["team"])
        return Parsed(document={"team": team}, record_count=1, path_values={"team": team})


def _registry(tmp_path: Path, cls: str, path: str) -> Path:
    document = {
        "sources": {"nbac": {"description": "sample"}},
        "scrapers": [
            {"name": "sample", "class": f"{HERE}:{cls}", "source": "nbac", "description": "s", "path": path}
        ],
    }
    file = tmp_path / "registry.yaml"
    file.write_text(yaml.safe_dump(document))
    return file


def test_check_reports_an_id_or_path_option_without_a_pattern(tmp_path: Path) -> None:
    _, problems = inspect_registry(
        _registry(tmp_path, "UnpatternedScraper", "t/{team_code}/{timestamp}.json")
    )
    assert problems == [
        "sample: option 'team_code' fills a path placeholder but declares no pattern " + UNPATTERNED,
        "sample: option 'game_ids' is an id but declares no pattern " + UNPATTERNED,
    ]


def test_check_reports_an_example_or_default_that_misses_its_pattern(tmp_path: Path) -> None:
    _, problems = inspect_registry(
        _registry(tmp_path, "ExampleMissesScraper", "t/{team_code}/{timestamp}.json")
    )
    assert problems == [
        "sample: option 'team_code' example is invalid: 'gsw/x' is not of the form [A-Z]{3}",
        "sample: option 'season_label' default is invalid: '2023/24' is not of the form [A-Z]{2}",
    ]


def test_the_project_registry_holds_every_id_to_a_pattern() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if "pattern" in problem] == []


# --- the last guard where a path is built ---------------------------------------------------------


def _run_hostile_path(tmp_path: Path, team: object) -> tuple[RunResult, Path]:
    registry = load_registry(
        _registry(tmp_path, "HostilePathScraper", "t/{date}/{team}/{team_code}/{timestamp}.json")
    )
    out = tmp_path / "out"
    body = json.dumps({"team": team}).encode()

    async def go() -> RunResult:
        fetcher = Fetcher(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)))
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(out),
            events=local_delivery(out),
            clock=CLOCK,
            redactor=fetcher.redactor,
            new_run_id=lambda: "run00001",
        )
        try:
            return await run_job(prepare(registry, "sample", {"team_code": "GSW"}, CLOCK), ctx)
        finally:
            await fetcher.aclose()

    return asyncio.run(go()), out


@pytest.mark.parametrize(
    "team", ["../../escape", "a/b", "..", ".hidden", "a\nb", "a\x00b", "", "x" * 200, "a?b"]
)
def test_a_body_derived_path_value_that_is_not_one_segment_fails_structural_before_landing(
    tmp_path: Path, team: str
) -> None:
    result, out = _run_hostile_path(tmp_path, team)

    assert result.status is RunStatus.FAILED
    assert result.failure_class is Outcome.STRUCTURAL
    assert result.error_message is not None
    assert "path placeholder {team} would be" in result.error_message
    assert result.landed == ()
    # Only the run's own records (completion, outbox) under `_...`: no document anywhere.
    assert [
        path
        for path in out.rglob("*")
        if path.is_file() and not path.relative_to(out).parts[0].startswith("_")
    ] == []
    assert not (tmp_path / "escape").exists()
    (completion,) = [
        json.loads(line) for line in (out / "_events" / "completions.jsonl").read_text().splitlines()
    ]
    assert (completion["status"], completion["error_type"]) == ("failed", "structural")


def test_a_safe_body_derived_path_value_lands(tmp_path: Path) -> None:
    result, out = _run_hostile_path(tmp_path, "GSW-2023_24.v1")

    assert result.status is RunStatus.SUCCESS
    (landed,) = result.landed
    assert Path(landed).parent == out / "t" / "2024-01-15" / "GSW-2023_24.v1" / "GSW"
