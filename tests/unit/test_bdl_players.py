"""bdl_active_players and bdl_players: filters, the cursor walk over two pages, the documents.

Failures shared by every BDL scraper and the CLI replay are in test_bdl_common.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scrapers.core.errors import ParseError
from scrapers.sources.bdl.players import ActivePlayersOptions, BdlActivePlayers, BdlPlayers, PlayersOptions
from tests.pages import TEST_CTX
from tests.unit.test_bdl_common import FIXTURES, fixture_pages, json_page

ACTIVE = BdlActivePlayers()
PLAYERS = BdlPlayers()
LEAGUE = ActivePlayersOptions(team_id=None, player_id=None, search=None)
PAGES = ("bdl_active_players-league-page1", "bdl_active_players-league-page2")


def _data(slug: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((FIXTURES / f"{slug}.body.json").read_text(encoding="utf-8"))[
        "data"
    ]
    return rows


# --- bdl_active_players -------------------------------------------------------------------------


def test_active_players_ask_for_the_largest_page() -> None:
    (request,) = ACTIVE.requests(LEAGUE)
    assert request.full_url == "https://api.balldontlie.io/v1/players/active?per_page=100"


def test_filters_travel_as_the_api_names_them() -> None:
    opts = ActivePlayersOptions(team_id=23, player_id=900101, search="stone")
    (request,) = ACTIVE.requests(opts)
    assert request.params == (
        ("team_ids[]", "23"),
        ("player_ids[]", "900101"),
        ("search", "stone"),
        ("per_page", "100"),
    )


def test_the_cursor_walk_follows_page_one_to_page_two_then_stops() -> None:
    first, last = fixture_pages(ACTIVE, LEAGUE, *PAGES)
    assert ACTIVE.next_request(LEAGUE, first) == ACTIVE.endpoint.request((), "900201")
    assert ACTIVE.next_request(LEAGUE, last) is None


def test_active_players_concatenate_the_pages_in_order() -> None:
    parsed = ACTIVE.parse(LEAGUE, fixture_pages(ACTIVE, LEAGUE, *PAGES), TEST_CTX)
    document = parsed.document
    assert list(document) == ["ident", "timestamp", "playerCount", "activePlayers"]
    assert (document["ident"], document["timestamp"]) == ("league", "2024-01-16T03:00:00.000000+00:00")
    assert parsed.record_count == document["playerCount"] == 4
    assert document["activePlayers"] == _data(PAGES[0]) + _data(PAGES[1])


@pytest.mark.parametrize(
    ("opts", "ident"),
    [
        (ActivePlayersOptions(team_id=23, player_id=None, search=None), "team_23"),
        (ActivePlayersOptions(team_id=None, player_id=900101, search=None), "player_900101"),
        (ActivePlayersOptions(team_id=None, player_id=None, search="stone"), "search_stone"),
        (ActivePlayersOptions(team_id=23, player_id=900101, search="stone"), "player_900101"),
    ],
)
def test_ident_names_the_narrowest_filter_like_the_old_platform(
    opts: ActivePlayersOptions, ident: str
) -> None:
    page = json_page(ACTIVE.requests(opts)[0], {"data": _data(PAGES[0]), "meta": {"per_page": 100}})
    assert ACTIVE.parse(opts, [page], TEST_CTX).document["ident"] == ident


def test_filters_stay_on_every_following_page() -> None:
    opts = ActivePlayersOptions(team_id=23, player_id=None, search=None)
    page = json_page(ACTIVE.requests(opts)[0], {"data": [], "meta": {"next_cursor": 5}})
    following = ACTIVE.next_request(opts, page)
    assert following is not None
    assert following.params == (("team_ids[]", "23"), ("per_page", "100"), ("cursor", "5"))


def test_overlapping_pages_are_a_parse_error_not_double_counted() -> None:
    first, _ = fixture_pages(ACTIVE, LEAGUE, *PAGES)
    with pytest.raises(ParseError, match="player 900101 appears twice"):
        ACTIVE.parse(LEAGUE, [first, first], TEST_CTX)


def test_a_cursor_that_does_not_advance_is_a_parse_error() -> None:
    request = ACTIVE.endpoint.request((), "77")
    with pytest.raises(ParseError, match="does not advance"):
        ACTIVE.next_request(LEAGUE, json_page(request, {"data": [], "meta": {"next_cursor": 77}}))


def test_a_search_without_matches_is_no_data_naming_it() -> None:
    opts = ActivePlayersOptions(team_id=None, player_id=None, search="zzz")
    parsed = ACTIVE.parse(opts, [json_page(ACTIVE.requests(opts)[0], {"data": [], "meta": {}})], TEST_CTX)
    assert (parsed.record_count, parsed.document["activePlayers"]) == (0, [])
    assert parsed.no_data_reason == "BallDontLie lists no active players for search_zzz"


# --- bdl_players --------------------------------------------------------------------------------


def test_players_of_one_team_land_under_the_old_document_keys() -> None:
    opts = PlayersOptions(team_id=23, search=None)
    parsed = PLAYERS.parse(opts, fixture_pages(PLAYERS, opts, "bdl_players-team-23"), TEST_CTX)
    assert list(parsed.document) == ["timestamp", "playerCount", "players"]
    assert parsed.record_count == parsed.document["playerCount"] == 3
    assert parsed.document["players"] == _data("bdl_players-team-23")


def test_the_unfiltered_catalogue_sends_only_the_page_size() -> None:
    (request,) = PLAYERS.requests(PlayersOptions(team_id=None, search=None))
    assert request.full_url == "https://api.balldontlie.io/v1/players?per_page=100"


@pytest.mark.parametrize(
    ("opts", "label"),
    [
        (PlayersOptions(team_id=None, search="zzz"), "search_zzz"),
        (PlayersOptions(team_id=None, search=None), "the whole catalogue"),
    ],
)
def test_no_players_is_no_data_naming_the_filter(opts: PlayersOptions, label: str) -> None:
    page = json_page(PLAYERS.requests(opts)[0], {"data": [], "meta": {"per_page": 100}})
    parsed = PLAYERS.parse(opts, [page], TEST_CTX)
    assert parsed.record_count == 0
    assert parsed.no_data_reason == f"BallDontLie lists no players for {label}"
