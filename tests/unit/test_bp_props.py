"""bp_player_props: options, the in-job fetch plan (events -> offers pages), the pure parse, classification.

Pages come from the project's fixtures of 2024-01-15 (four events; event 27101's offers span two
pages, 27104 has none yet) and 2024-02-16 (no events), through the core's `to_page`. `_walk` follows
`follow_ups` in the order the runner hands pages to `parse`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scrapers.cli import main
from scrapers.core.errors import OptionError, ParseError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.request import Page, Request
from scrapers.core.scraper import Parsed
from scrapers.http.decode import to_page
from scrapers.http.replay import canonical_key, load_recordings
from scrapers.sources.bettingpros.events import BpEvents, BpEventsOptions
from scrapers.sources.bettingpros.headers import API_KEY
from scrapers.sources.bettingpros.props import MARKETS, BpPlayerProps, BpPlayerPropsOptions, offers_request
from tests.conftest import PROJECT_FIXTURES
from tests.pages import TEST_CTX
from tests.replay_cli import landed_files, replay_json

FIXTURES = PROJECT_FIXTURES / "bettingpros"
RECORDINGS = load_recordings(PROJECT_FIXTURES)
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}
DEMO_DAY, EMPTY_DAY = date(2024, 1, 15), date(2024, 2, 16)
BY_DATE = BpPlayerPropsOptions(event_ids=None, game_date=DEMO_DAY, market_type="points", page_limit=10)
SCRAPER = BpPlayerProps()


def _by_ids(*event_ids: str, page_limit: int = 10) -> BpPlayerPropsOptions:
    return BpPlayerPropsOptions(
        event_ids=event_ids, game_date=None, market_type="points", page_limit=page_limit
    )


def _replayed(request: Request) -> Page:
    recording = RECORDINGS[canonical_key(request.method, request.full_url, None)]
    return to_page(request, recording.status, recording.headers, recording.body_path.read_bytes())


def _walk(opts: BpPlayerPropsOptions, request: Request) -> list[Page]:
    page = _replayed(request)
    return [page, *(p for follow in SCRAPER.follow_ups(opts, page) for p in _walk(opts, follow))]


def _pages(opts: BpPlayerPropsOptions) -> list[Page]:
    return [page for request in SCRAPER.requests(opts) for page in _walk(opts, request)]


def _offers_body(event_id: str = "27101", page: int = 1) -> dict[str, Any]:
    path = FIXTURES / f"bp_player_props-{event_id}-points-p{page}.body.json"
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return body


def _offers_page(body: object, event_id: str = "27101", page: int = 1, status: int = 200) -> Page:
    request = offers_request(_by_ids(event_id), event_id, page)
    return to_page(request, status, JSON_HEADERS, json.dumps(body).encode())


def _parse_offers(body: object) -> Parsed:
    return SCRAPER.parse(_by_ids("27102"), [_offers_page(body, "27102")], TEST_CTX)


# --- options --------------------------------------------------------------------------------------


def test_options_type_mirrors_the_registry() -> None:
    _, problems = inspect_registry()
    assert [p for p in problems if p.startswith("bp_player_props:")] == []


def test_market_types_are_the_registry_choices_with_their_ids() -> None:
    spec = load_registry().get("bp_player_props").option("market_type")
    assert spec is not None
    assert spec.choices == tuple(MARKETS)
    assert {name: market.market_id for name, market in MARKETS.items()} == {
        "points": 156,
        "rebounds": 157,
        "assists": 151,
        "threes": 162,
        "steals": 160,
        "blocks": 152,
    }


@pytest.mark.parametrize(
    ("opts", "option"),
    [
        (BY_DATE.model_copy(update={"event_ids": ("27101",)}), "event_ids"),
        (BY_DATE.model_copy(update={"game_date": None}), "event_ids"),
        (_by_ids("27101", "abc"), "event_ids"),
        (_by_ids("27101", page_limit=0), "page_limit"),
        (BY_DATE.model_copy(update={"market_type": "dunks"}), "market_type"),
    ],
    ids=["both", "neither", "not-an-id", "no-pages", "unknown-market"],
)
def test_bad_options_are_option_errors(opts: BpPlayerPropsOptions, option: str) -> None:
    with pytest.raises(OptionError) as caught:
        SCRAPER.check_options(opts)
    assert caught.value.option == option


def test_cli_exits_2_when_both_event_ids_and_date_are_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "bp_player_props", "--event_ids", "27101", "--date", "2024-01-15"]
    assert main([*argv, "--replay", "--out", str(tmp_path)]) == 2
    assert "exactly one of event_ids or game_date" in capsys.readouterr().err


# --- the fetch plan -------------------------------------------------------------------------------


def test_date_mode_starts_with_exactly_the_bp_events_request() -> None:
    (request,) = SCRAPER.requests(BY_DATE)
    (events,) = BpEvents().requests(BpEventsOptions(game_date=DEMO_DAY, sport="NBA"))

    assert request.full_url == events.full_url
    assert dict(request.headers) == dict(events.headers)
    assert request.secrets == events.secrets == (API_KEY,)


def test_event_ids_mode_asks_one_offers_chain_per_distinct_event() -> None:
    requests = SCRAPER.requests(_by_ids("27102", "27101", "27102"))

    assert [r.full_url for r in requests] == [
        "https://api.bettingpros.com/v3/offers?sport=NBA&market_id=156&event_id=27102&book_id=null&limit=10&page=1",
        "https://api.bettingpros.com/v3/offers?sport=NBA&market_id=156&event_id=27101&book_id=null&limit=10&page=1",
    ]
    headers = requests[0].headers
    assert (headers["Origin"], headers["Referer"]) == (
        "https://www.bettingpros.com",
        "https://www.bettingpros.com/nba/odds/player-props/points/",
    )
    # httpx here has no Brotli decoder, so `br` must not be offered (it would arrive undecodable).
    assert "br" not in headers["Accept-Encoding"]


def test_the_events_page_fans_out_to_the_first_offers_page_of_every_event() -> None:
    (events,) = SCRAPER.requests(BY_DATE)
    following = SCRAPER.follow_ups(BY_DATE, _replayed(events))

    assert [dict(r.params)["event_id"] for r in following] == ["27101", "27102", "27103", "27104"]
    assert {dict(r.params)["page"] for r in following} == {"1"}


def test_offers_pages_follow_the_pagination_info_up_to_page_limit() -> None:
    first = _replayed(offers_request(BY_DATE, "27101", 1))

    (second,) = SCRAPER.follow_ups(BY_DATE, first)
    assert dict(second.params)["page"] == "2"
    assert SCRAPER.follow_ups(BY_DATE, _replayed(second)) == ()
    assert SCRAPER.follow_ups(BY_DATE.model_copy(update={"page_limit": 1}), first) == ()


def test_every_planned_request_has_a_recording() -> None:
    pages = _pages(BY_DATE)
    assert len(pages) == 6  # events, 27101 p1+p2, 27102, 27103, 27104


def test_a_broken_offers_page_stops_the_plan_as_structural() -> None:
    body = _offers_body()
    del body["_pagination"]
    with pytest.raises(ParseError) as caught:
        SCRAPER.follow_ups(BY_DATE, _offers_page(body))
    assert caught.value.outcome is Outcome.STRUCTURAL


# --- parse ----------------------------------------------------------------------------------------


def test_date_mode_lands_every_prop_of_every_page() -> None:
    parsed = SCRAPER.parse(BY_DATE, _pages(BY_DATE), TEST_CTX)
    document = parsed.document

    assert parsed.record_count == document["props_count"] == 15
    assert parsed.no_data_reason is None
    assert {
        k: document[k] for k in ("date", "sport", "market_id", "market_type", "market_name", "source")
    } == {
        "date": "2024-01-15",
        "sport": "NBA",
        "market_id": 156,
        "market_type": "points",
        "market_name": "points-by-player",
        "source": "bettingpros_api",
    }
    assert document["timestamp"] == "2024-01-16T03:00:00.000000+00:00"
    assert document["event_ids"] == ["27101", "27102", "27103", "27104"]
    assert document["pagination_info"] == {
        "total_offers": 15,
        "pages_fetched": 5,
        "page_limit": 10,
        "truncated_event_ids": [],
    }
    assert document["api_response_params"]["market_id"] == "156"
    assert (document["players_count"], document["failed_offers"]) == (15, 0)
    assert document["players_summary"]["Milo Archer"] == {"team": "PHI", "props_count": 1}
    # The one offer of page 2 lands right after page 1's ten.
    assert [p["player_name"] for p in document["props"]][10:12] == ["Lucas Haverford", "Andre Solberg"]


def test_a_prop_in_the_old_layout() -> None:
    prop = SCRAPER.parse(BY_DATE, _pages(BY_DATE), TEST_CTX).document["props"][0]

    assert {k: v for k, v in prop.items() if k not in ("over", "under")} == {
        "offer_id": 2710101,
        "event_id": 27101,
        "player_id": "milo-archer",
        "player_name": "Milo Archer",
        "player_team": "PHI",
        "player_position": "PG",
        "market": "points",
        "market_id": 156,
        "link": "/nba/props/milo-archer/points/",
        "active": True,
    }
    assert prop["over"]["selection_id"] == "over"
    assert prop["over"]["opening_line"] == {"line": 26.5, "cost": -110, "book_id": 0}
    assert [(b["book_name"], b["line"], b["odds"], b["best"]) for b in prop["over"]["sportsbooks"]] == [
        ("BettingPros Consensus", 26.5, -110, False),
        ("DraftKings", 26.5, -108, True),
    ]
    assert prop["under"]["sportsbooks"][1]["odds"] == -112


def test_page_limit_truncation_is_stated_in_the_document() -> None:
    opts = BY_DATE.model_copy(update={"page_limit": 1})
    document = SCRAPER.parse(opts, _pages(opts), TEST_CTX).document

    assert document["props_count"] == 14
    assert document["pagination_info"]["truncated_event_ids"] == ["27101"]


def test_event_ids_mode_dates_the_document_by_the_fetch_in_eastern_time() -> None:
    opts = _by_ids("27102", "27103")
    parsed = SCRAPER.parse(opts, _pages(opts), TEST_CTX)

    assert parsed.record_count == 4
    assert parsed.document["event_ids"] == ["27102", "27103"]
    assert parsed.document["date"] == "2024-01-15"  # 03:00 UTC on the 16th is the 15th in New York


# --- per-game facts for the completion -------------------------------------------------------------


def _one_event_day(event_id: str) -> list[Page]:
    """The demo day's events page cut down to one event, then that event's recorded offers pages."""
    body = json.loads((FIXTURES / "bp_events-2024-01-15.body.json").read_text(encoding="utf-8"))
    body["events"] = [event for event in body["events"] if str(event["id"]) == event_id]
    (events_request,) = SCRAPER.requests(BY_DATE)
    events = to_page(events_request, 200, JSON_HEADERS, json.dumps(body).encode())
    return [events, *(p for follow in SCRAPER.follow_ups(BY_DATE, events) for p in _walk(BY_DATE, follow))]


def test_a_date_with_one_event_names_the_event_and_its_game_key() -> None:
    parsed = SCRAPER.parse(BY_DATE, _one_event_day("27101"), TEST_CTX)

    assert parsed.record_count == 11
    # Event 27101 is HOU at PHI; the key is the Eastern date asked for, away team first.
    assert parsed.metadata == {"event_id": "27101", "game_key": "20240115_HOU_PHI"}


def test_a_late_game_keeps_its_eastern_date_in_the_game_key() -> None:
    # 27104 (OKC at LAL) is scheduled 2024-01-16 03:30 UTC: 10:30 pm on the 15th in New York.
    parsed = SCRAPER.parse(BY_DATE, _one_event_day("27104"), TEST_CTX)

    assert parsed.no_data_reason is not None  # no offers yet: the completion still names the game
    assert parsed.metadata == {"event_id": "27104", "game_key": "20240115_OKC_LAL"}


def test_one_given_event_is_named_but_offers_alone_give_no_game_key() -> None:
    opts = _by_ids("27101")

    assert SCRAPER.parse(opts, _pages(opts), TEST_CTX).metadata == {"event_id": "27101"}


def test_a_run_over_several_events_is_not_per_game() -> None:
    assert SCRAPER.parse(BY_DATE, _pages(BY_DATE), TEST_CTX).metadata == {}
    opts = _by_ids("27102", "27103")
    assert SCRAPER.parse(opts, _pages(opts), TEST_CTX).metadata == {}


def test_a_day_without_events_is_no_data_without_asking_for_offers() -> None:
    opts = BY_DATE.model_copy(update={"game_date": EMPTY_DAY})
    pages = _pages(opts)

    parsed = SCRAPER.parse(opts, pages, TEST_CTX)

    assert len(pages) == 1
    assert parsed.record_count == 0
    assert parsed.no_data_reason is not None
    assert "2024-02-16" in parsed.no_data_reason
    assert parsed.document["props"] == []
    assert parsed.document["event_ids"] == []


def test_events_answering_204_are_no_data() -> None:
    (events,) = SCRAPER.requests(BY_DATE)
    page = to_page(events, 204, {}, b"")

    assert SCRAPER.follow_ups(BY_DATE, page) == []
    assert SCRAPER.parse(BY_DATE, [page], TEST_CTX).no_data_reason is not None


def test_events_without_offers_yet_are_no_data_naming_the_events() -> None:
    opts = _by_ids("27104")
    parsed = SCRAPER.parse(opts, _pages(opts), TEST_CTX)

    assert parsed.record_count == 0
    assert parsed.no_data_reason == "BettingPros has no points offers for events 27104"


# --- offers that do not parse ---------------------------------------------------------------------


def _break_offers(count: int) -> dict[str, Any]:
    body = _offers_body()
    for offer in body["offers"][:count]:
        offer["participants"] = []
    return body


def test_a_few_unparsable_offers_are_counted_not_hidden() -> None:
    # 1 of 10 offers is 10 %: still within what the old platform tolerated.
    parsed = _parse_offers(_break_offers(1))

    assert parsed.record_count == 9
    assert parsed.document["failed_offers"] == 1
    assert parsed.document["pagination_info"]["total_offers"] == 10


def test_more_than_ten_percent_unparsable_offers_fail_the_run_as_structural() -> None:
    with pytest.raises(ParseError, match="2 of 10") as caught:
        _parse_offers(_break_offers(2))
    assert caught.value.outcome is Outcome.STRUCTURAL


def _first_offer(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(body: dict[str, Any]) -> dict[str, Any]:
        change(body["offers"][0])
        return body

    return mutate


BAD_OFFERS: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("not-object", lambda body: {**body, "offers": ["2710101", *body["offers"][1:]]}),
    ("no-id", _first_offer(lambda offer: offer.pop("id"))),
    ("nameless-participant", _first_offer(lambda offer: offer["participants"][0].update(name=" "))),
    ("selections-object", _first_offer(lambda offer: offer.update(selections={}))),
    ("books-object", _first_offer(lambda offer: offer["selections"][0].update(books={}))),
    ("lines-not-objects", _first_offer(lambda offer: offer["selections"][0]["books"][0].update(lines=[1.5]))),
]


@pytest.mark.parametrize("mutate", [m for _, m in BAD_OFFERS], ids=[name for name, _ in BAD_OFFERS])
def test_each_kind_of_bad_offer_is_counted(mutate: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    # Alone among 10 offers each stays within 10 %, so it is counted and the rest land.
    parsed = _parse_offers(mutate(copy.deepcopy(_offers_body())))
    assert (parsed.record_count, parsed.document["failed_offers"]) == (9, 1)


# --- error bodies ---------------------------------------------------------------------------------


def _without(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda body: {k: v for k, v in body.items() if k != key}


ERROR_BODIES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("error-message", lambda body: {"message": "Internal server error"}),
    ("list", lambda body: body["offers"]),
    ("no-offers", _without("offers")),
    ("offers-object", lambda body: {**body, "offers": {}}),
    ("no-pagination", _without("_pagination")),
    ("pages-not-a-count", lambda body: {**body, "_pagination": {"page": 1, "total_pages": "2"}}),
    ("another-page", lambda body: {**body, "_pagination": {"page": 3, "total_pages": 3}}),
    ("another-market", lambda body: {**body, "_parameters": {**body["_parameters"], "market_id": "157"}}),
    ("parameters-list", lambda body: {**body, "_parameters": ["sport"]}),
]


@pytest.mark.parametrize("mutate", [m for _, m in ERROR_BODIES], ids=[name for name, _ in ERROR_BODIES])
def test_error_bodies_are_parse_errors(mutate: Callable[[dict[str, Any]], Any]) -> None:
    with pytest.raises(ParseError) as caught:
        SCRAPER.parse(_by_ids("27101"), [_offers_page(mutate(_offers_body()))], TEST_CTX)
    assert caught.value.outcome is Outcome.STRUCTURAL


def test_events_for_another_date_are_a_parse_error() -> None:
    (events,) = SCRAPER.requests(BY_DATE)
    body = json.loads((FIXTURES / "bp_events-2024-01-15.body.json").read_text(encoding="utf-8"))
    body["_parameters"]["date"] = "2024-01-14"
    page = to_page(events, 200, JSON_HEADERS, json.dumps(body).encode())
    with pytest.raises(ParseError, match="2024-01-14"):
        SCRAPER.follow_ups(BY_DATE, page)


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (403, b'{"message":"Forbidden"}', Outcome.BLOCKED),
        (429, b'{"message":"Too Many Requests"}', Outcome.RATE_LIMITED),
    ],
    ids=["forbidden", "rate-limited"],
)
def test_failed_responses_are_classified_never_no_data(status: int, body: bytes, outcome: Outcome) -> None:
    request = offers_request(BY_DATE, "27101", 1)
    with pytest.raises(ScrapeError) as caught:
        to_page(request, status, JSON_HEADERS, body)
    assert caught.value.outcome is outcome


# --- the CLI replay: one job, events and offers through the same core -----------------------------


def test_cli_replay_of_a_date_lands_under_market_and_date(tmp_path: Path) -> None:
    result = replay_json(tmp_path, "bp_player_props", "--date", "2024-01-15")

    assert (result["status"], result["record_count"]) == ("success", 15)
    assert result["attempts"]["total"] == 6  # events + five offers pages, all in this one job
    (landed,) = landed_files(result)
    assert landed.parent == tmp_path / "bettingpros" / "player-props" / "points" / "2024-01-15"
    assert re.fullmatch(r"\d{8}_\d{6}\.json", landed.name)
    assert json.loads(landed.read_text(encoding="utf-8"))["props_count"] == 15


def test_cli_replay_of_a_day_without_events_is_no_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "bp_player_props", "--date", "2024-02-16", "--market_type", "points"]
    assert main([*argv, "--replay", "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["status"], result["landed"][0].split("/")[-4:-1]) == (
        "no_data",
        ["player-props", "points", "2024-02-16"],
    )
    assert "no NBA events on 2024-02-16" in result["no_data_reason"]
