"""What every BallDontLie scraper shares, checked for each: key, fixtures, failures, CLI replay.

Malformed bodies every scraper meets (truncated JSON, HTML pages, no JSON object) are checked for
all sources at once in test_malformed_bodies; the failures here are BallDontLie's own.

The per-scraper files (test_bdl_boxscores, test_bdl_players, test_bdl_misc) import the case table
and page helpers from here and test what is particular to each document.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrapers import cli
from scrapers.core.clock import FrozenClock
from scrapers.core.errors import ParseError, ScrapeError
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import Page, Request
from scrapers.core.result import RunResult
from scrapers.core.scraper import Parsed
from scrapers.core.season import Season
from scrapers.events.delivery import local_delivery
from scrapers.http.decode import to_page
from scrapers.http.fetch import Fetcher
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink
from scrapers.sources.bdl.boxscores import (
    BdlBoxScores,
    BdlLiveBoxScores,
    BdlPlayerBoxScores,
    BoxScoresOptions,
    LiveBoxScoresOptions,
    PlayerBoxScoresOptions,
)
from scrapers.sources.bdl.common import API_KEY, BASE_URL, BdlScraper, Endpoint, next_cursor
from scrapers.sources.bdl.injuries import BdlInjuries, InjuriesOptions
from scrapers.sources.bdl.odds import BdlOdds, OddsOptions
from scrapers.sources.bdl.players import ActivePlayersOptions, BdlActivePlayers, BdlPlayers, PlayersOptions
from scrapers.sources.bdl.standings import BdlStandings, StandingsOptions
from scrapers.sources.bdl.teams import BdlTeams, TeamsOptions
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.pages import TEST_CTX, replayed_page
from tests.replay_cli import TIMEOUT, replay_command

FIXTURES = PROJECT_FIXTURES / "bdl"
DAY = date(2024, 1, 15)
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
# Parts of a document that are the fetch moment, not the data.
VOLATILE = frozenset({"timestamp", "pollId", "quality"})  # quality: the run's verdict, added at landing


@dataclass(frozen=True)
class Case:
    """One scraper on the demo day: its fixture pages, its CLI flags and where it lands."""

    name: str
    scraper: BdlScraper[Any]
    opts: Any
    slugs: tuple[str, ...]
    cli: tuple[str, ...]
    # Folder under the output root; `{date}` is the job's date (the run's Eastern date if undated).
    folder: str
    records: int


CASES = (
    Case(
        "bdl_box_scores",
        BdlBoxScores(),
        BoxScoresOptions(game_date=DAY),
        ("bdl_box_scores-2024-01-15",),
        ("--date", "2024-01-15"),
        "ball-dont-lie/boxscores/{date}",
        3,
    ),
    Case(
        "bdl_live_box_scores",
        BdlLiveBoxScores(),
        LiveBoxScoresOptions(),
        ("bdl_live_box_scores-live",),
        (),
        "ball-dont-lie/live-boxscores/{date}",
        1,
    ),
    Case(
        "bdl_player_box_scores",
        BdlPlayerBoxScores(),
        PlayerBoxScoresOptions(start_date=DAY, end_date=DAY, game_ids=None, player_ids=None),
        ("bdl_player_box_scores-2024-01-15",),
        ("--startDate", "2024-01-15", "--endDate", "2024-01-15"),
        "ball-dont-lie/player-box-scores/{date}",
        16,
    ),
    Case(
        "bdl_active_players",
        BdlActivePlayers(),
        ActivePlayersOptions(team_id=None, player_id=None, search=None),
        ("bdl_active_players-league-page1", "bdl_active_players-league-page2"),
        (),
        "ball-dont-lie/active-players/{date}",
        4,
    ),
    Case(
        "bdl_players",
        BdlPlayers(),
        PlayersOptions(team_id=23, search=None),
        ("bdl_players-team-23",),
        ("--teamId", "23"),
        "ball-dont-lie/players/{date}/team_23",  # a filtered job lands in its entity folder
        3,
    ),
    Case(
        "bdl_injuries",
        BdlInjuries(),
        InjuriesOptions(team_id=None, player_id=None),
        ("bdl_injuries-league",),
        (),
        "ball-dont-lie/injuries/{date}",
        2,
    ),
    Case(
        "bdl_standings",
        BdlStandings(),
        StandingsOptions(season=Season(2023)),
        ("bdl_standings-2023-24",),
        ("--season", "2023-24"),
        "ball-dont-lie/standings/2023-24/{date}",
        4,
    ),
    Case("bdl_teams", BdlTeams(), TeamsOptions(), ("bdl_teams-all",), (), "ball-dont-lie/teams/{date}", 4),
    Case(
        "bdl_odds",
        BdlOdds(),
        OddsOptions(game_date=DAY, game_id=None),
        ("bdl_odds-2024-01-15",),
        ("--date", "2024-01-15"),
        "ball-dont-lie/odds/{date}",
        3,
    ),
)
CASE_IDS = [case.name for case in CASES]


def case(name: str) -> Case:
    return next(item for item in CASES if item.name == name)


def json_page(request: Request, data: object, status: int = 200) -> Page:
    return to_page(request, status, JSON_HEADERS, json.dumps(data).encode())


def fixture_pages(scraper: BdlScraper[Any], opts: Any, *slugs: str) -> list[Page]:
    """The fixture pages of one walk, each replayed for the request the scraper plans next."""
    request: Request | None = scraper.requests(opts)[0]
    pages: list[Page] = []
    for slug in slugs:
        assert request is not None, f"the walk ended before {slug}"
        pages.append(replayed_page(request, FIXTURES, slug))
        request = scraper.next_request(opts, pages[-1])
    assert request is None, f"the walk wants another page after {slugs[-1]}: {request}"
    return pages


def demo_parse(item: Case) -> Parsed:
    return item.scraper.parse(item.opts, fixture_pages(item.scraper, item.opts, *item.slugs), TEST_CTX)


def without_volatile(document: Any) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in VOLATILE}


# --- registry, requests and the key -------------------------------------------------------------


def test_every_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [problem for problem in problems if problem.startswith("bdl_")] == []


@pytest.mark.parametrize("item", CASES, ids=CASE_IDS)
def test_requests_carry_the_key_only_as_a_reference(item: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "bdl-secret-value-123"
    monkeypatch.setenv("BDL_API_KEY", secret)
    (request,) = item.scraper.requests(item.opts)
    assert request.url.startswith(f"{BASE_URL}/")
    assert request.secrets == (API_KEY,)
    assert (API_KEY.env, API_KEY.header) == ("BDL_API_KEY", "Authorization")
    assert secret not in repr(request)
    assert secret not in request.full_url


@pytest.mark.parametrize("item", CASES, ids=CASE_IDS)
def test_the_demo_walk_replays_from_fixtures_and_parses(item: Case) -> None:
    recordings = load_recordings(PROJECT_FIXTURES)
    (first,) = item.scraper.requests(item.opts)
    assert canonical_key(first.method, first.full_url, first.body) in recordings
    parsed = demo_parse(item)
    assert parsed.record_count == item.records
    assert parsed.no_data_reason is None


# --- BallDontLie's own failures; generic malformed bodies: test_malformed_bodies --------------


@pytest.mark.parametrize("item", CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    ("status", "outcome"),
    [(401, Outcome.AUTH), (429, Outcome.RATE_LIMITED), (404, Outcome.NOT_FOUND), (503, Outcome.TRANSIENT)],
)
def test_error_bodies_are_classified(item: Case, status: int, outcome: Outcome) -> None:
    with pytest.raises(ScrapeError) as caught:
        json_page(item.scraper.requests(item.opts)[0], {"error": "Unauthorized"}, status)
    assert caught.value.outcome is outcome


# Bodies that are no BallDontLie answer at all ([], "text", {"error": ...}) are in test_malformed_bodies.
WRONG_SHAPES: list[object] = [
    {"data": {"id": 1}, "meta": {"per_page": 100}},
    {"data": None, "meta": {"per_page": 100}},
    {"data": ["1037593"], "meta": {"per_page": 100}},
    {"data": [None], "meta": {"per_page": 100}},
]


@pytest.mark.parametrize("item", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("body", WRONG_SHAPES, ids=lambda body: json.dumps(body)[:40])
def test_wrong_shapes_fail_the_walk_as_parse_errors(item: Case, body: object) -> None:
    page = json_page(item.scraper.requests(item.opts)[0], body)
    with pytest.raises(ParseError) as caught:
        _walk_and_parse(item, page)
    assert caught.value.outcome is Outcome.STRUCTURAL


def _walk_and_parse(item: Case, page: Page) -> Parsed:
    # The runner asks for the next page first, then parses; either step may refuse the body.
    item.scraper.next_request(item.opts, page)
    return item.scraper.parse(item.opts, [page], TEST_CTX)


@pytest.mark.parametrize(
    "item", [c for c in CASES if c.scraper.row_fields or c.scraper.unique_field], ids=lambda c: c.name
)
def test_a_row_without_its_key_fields_is_a_parse_error(item: Case) -> None:
    page = json_page(
        item.scraper.requests(item.opts)[0], {"data": [{"note": "x"}], "meta": {"per_page": 100}}
    )
    with pytest.raises(ParseError, match="is not an object with"):
        item.scraper.parse(item.opts, [page], TEST_CTX)


def test_parse_without_pages_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="none were given"):
        BdlTeams().parse(TeamsOptions(), [], TEST_CTX)


# --- the cursor ---------------------------------------------------------------------------------


PAGINATED = [c for c in CASES if c.scraper.endpoint.meta_required]


@pytest.mark.parametrize("item", PAGINATED, ids=lambda c: c.name)
def test_documented_pagination_needs_meta_on_every_page(item: Case) -> None:
    page = json_page(item.scraper.requests(item.opts)[0], {"data": []})
    with pytest.raises(ParseError, match="no 'meta' object"):
        item.scraper.next_request(item.opts, page)


@pytest.mark.parametrize(
    "item", [c for c in CASES if not c.scraper.endpoint.meta_required], ids=lambda c: c.name
)
def test_unpaginated_answers_may_omit_meta_but_a_cursor_is_still_followed(item: Case) -> None:
    (request,) = item.scraper.requests(item.opts)
    assert item.scraper.next_request(item.opts, json_page(request, {"data": []})) is None
    following = item.scraper.next_request(
        item.opts, json_page(request, {"data": [], "meta": {"next_cursor": 9}})
    )
    assert following is not None
    assert following.params == (*request.params, ("cursor", "9"))


@pytest.mark.parametrize("cursor", [True, {"id": 3}, "", 1.5])
def test_a_cursor_that_is_not_one_is_a_parse_error(cursor: object) -> None:
    request = Endpoint("/players", per_page=True).request()
    with pytest.raises(ParseError, match="not a cursor"):
        next_cursor(json_page(request, {"data": [], "meta": {"next_cursor": cursor}}))


def test_a_204_has_no_rows_and_no_cursor() -> None:
    request = BdlInjuries().requests(InjuriesOptions(team_id=None, player_id=None))[0]
    page = to_page(request, 204, {}, b"")
    assert next_cursor(page) is None
    parsed = BdlInjuries().parse(InjuriesOptions(team_id=None, player_id=None), [page], TEST_CTX)
    assert (parsed.record_count, parsed.no_data_reason) == (0, "BallDontLie lists no injuries for league")


# --- through the runner: every page is a fetch of the core -------------------------------------


CANARY_KEY = "canary-bdl-key-5e1d"
RUN_CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))


def _run_active_players(tmp_path: Path, second_page: httpx.Response) -> tuple[RunResult, list[httpx.Request]]:
    item = case("bdl_active_players")
    first_body = (FIXTURES / f"{item.slugs[0]}.body.json").read_bytes()
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "cursor" not in request.url.params:
            return httpx.Response(200, content=first_body, headers=JSON_HEADERS)
        return second_page

    async def go() -> RunResult:
        fetcher = Fetcher(
            transport=httpx.MockTransport(upstream), secrets={"BDL_API_KEY": CANARY_KEY}.get, throttle=False
        )
        registry = load_registry()
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(tmp_path),
            events=local_delivery(tmp_path),
            clock=RUN_CLOCK,
            redactor=fetcher.redactor,
        )
        try:
            return await run_job(prepare(registry, item.name, {}, RUN_CLOCK), ctx)
        finally:
            await fetcher.aclose()

    return asyncio.run(go()), seen


def test_a_failed_second_page_fails_the_job_with_its_class(tmp_path: Path) -> None:
    result, seen = _run_active_players(tmp_path, httpx.Response(401, json={"error": "Unauthorized"}))
    assert (result.status, result.failure_class) == (RunStatus.FAILED, Outcome.AUTH)
    assert result.landed == ()
    assert [request.url.params.get("cursor") for request in seen] == [None, "900201"]
    # The core injects the key into the header at send time, on every page.
    assert {request.headers["Authorization"] for request in seen} == {CANARY_KEY}


def test_the_second_page_keeps_the_filters_of_the_first(tmp_path: Path) -> None:
    body = (FIXTURES / "bdl_active_players-league-page2.body.json").read_bytes()
    result, seen = _run_active_players(tmp_path, httpx.Response(200, content=body, headers=JSON_HEADERS))
    assert (result.status, result.record_count) == (RunStatus.SUCCESS, 4)
    assert [dict(request.url.params) for request in seen] == [
        {"per_page": "100"},
        {"per_page": "100", "cursor": "900201"},
    ]
    (landed,) = result.landed
    assert CANARY_KEY not in Path(landed).read_text()


# --- the CLI replays every scraper and lands under the old path contract ------------------------


@dataclass(frozen=True)
class CliRun:
    out: Path
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    """Every replay run, started together: each is a fresh interpreter, as a user runs it."""
    started = {}
    for item in CASES:
        out = tmp_path_factory.mktemp(item.name)
        process = subprocess.Popen(
            replay_command(out, item.name, *item.cli),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[item.name] = (out, process)
    runs = {}
    for label, (out, process) in started.items():
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        runs[label] = CliRun(out, process.returncode, stdout, stderr)
    return runs


@pytest.mark.parametrize("item", CASES, ids=CASE_IDS)
def test_cli_replay_lands_the_document_under_the_old_path(item: Case, cli_runs: dict[str, CliRun]) -> None:
    run = cli_runs[item.name]
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    # The fixtures' box scores add up (whole teams, minutes and points), so no verdict fails.
    assert (result["status"], result["record_count"]) == ("success", item.records)
    (landed,) = (Path(path) for path in result["landed"])
    assert landed.parent == run.out / item.folder.format(date=result["game_date"])
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    document = json.loads(landed.read_text(encoding="utf-8"))
    assert without_volatile(document) == without_volatile(demo_parse(item).document)


@pytest.mark.parametrize(
    "flags", [(), ("--date", "2024-01-15", "--game_id", "1037593")], ids=["neither", "both"]
)
def test_cli_odds_needs_exactly_one_of_date_or_game_id(
    flags: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process: the option check runs before any request, so no interpreter of its own is needed.
    code = cli.main(["run", "bdl_odds", *flags, "--replay", "--out", str(tmp_path)])
    assert code == cli.EXIT_USAGE
    stderr = capsys.readouterr().err
    assert "exactly one of game_date or game_id" in stderr
    assert "example: 2024-01-15" in stderr
    assert not any(tmp_path.iterdir())
