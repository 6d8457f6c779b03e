"""espn_game_boxscore, espn_roster and bp_player_props against the real recordings in ../shared.

Raw bodies go through the core's `to_page` and the scraper's pure parse; the document must equal
what the old platform landed (`exp`), except the landing `timestamp` (the old run's clock) and the
deviations named one per line below. Files are read in place, never copied; tests skip without them.
"""

from __future__ import annotations

import collections
import gzip
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.scraper import ParseContext, Parsed
from scrapers.http.decode import to_page
from scrapers.nba.espn_teams import team_by_code
from scrapers.sources.bettingpros.props import BpPlayerProps, BpPlayerPropsOptions
from scrapers.sources.espn.boxscore import FITT_MARKER, EspnBoxscore, EspnBoxscoreOptions
from scrapers.sources.espn.roster import EspnRoster, EspnRosterOptions

CTX = ParseContext(fetched_at=datetime(2024, 1, 16, 3, 0, tzinfo=UTC), run_id="conform1")
HTML_HEADERS = {"content-type": "text/html; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _boxscore(html: bytes, game_id: str, day: date, skip_json: bool = False) -> Parsed:
    scraper, opts = EspnBoxscore(), EspnBoxscoreOptions(game_id=game_id, game_date=day, skip_json=skip_json)
    page = to_page(scraper.requests(opts)[0], 200, HTML_HEADERS, html)
    return scraper.parse(opts, [page], CTX)


def _without(document: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


# --- espn_game_boxscore: game 401585183 (HOU @ PHI, 2024-01-15) ---------------------------------

BOXSCORE_RECORDINGS = ["6f34c64b", "fbd5b07e", "da177814"]
BOX_PARAMS = [(rec, skip) for rec in BOXSCORE_RECORDINGS for skip in (False, True)]


def _recorded_box(shared: Path, recording: str, skip_json: bool) -> Parsed:
    folder = shared / "recorded" / "espn_game_boxscore"
    html = gzip.decompress((folder / f"raw_{recording}.html.gz").read_bytes())
    return _boxscore(html, "401585183", date(2024, 1, 15), skip_json)


@pytest.mark.parametrize(("recording", "skip_json"), BOX_PARAMS, ids=[f"{r}-skip{s}" for r, s in BOX_PARAMS])
def test_boxscore_recordings_land_the_same_players_by_json_and_by_tables(
    shared_fixtures: Path, recording: str, skip_json: bool
) -> None:
    parsed = _recorded_box(shared_fixtures, recording, skip_json)
    # Every raw is the same final game; exp_6f34c64b is the current layout to compare with.
    expected = _json(shared_fixtures / "recorded" / "espn_game_boxscore" / "exp_6f34c64b.json")

    assert _without(parsed.document, "timestamp", "playerCount") == _without(
        expected, "timestamp", "playerCount"
    )
    assert parsed.record_count == 25
    # exp predates the plain-number playerCount of the current layout (OLD-PLATFORM 2.4); same total.
    assert parsed.document["playerCount"] == expected["playerCount"]["total"]
    players = parsed.document["players"]
    assert dict(collections.Counter(p["team"] for p in players)) == expected["playerCount"]["byTeam"]
    assert dict(collections.Counter(p["type"] for p in players)) == expected["playerCount"]["byType"]


def test_boxscore_obsolete_per_team_layout_holds_the_same_players(shared_fixtures: Path) -> None:
    # exp_da177814 is the obsolete layout (one list per team, no `team`/`teamType` per player).
    expected = _json(shared_fixtures / "recorded" / "espn_game_boxscore" / "exp_da177814.json")
    parsed = _recorded_box(shared_fixtures, "da177814", skip_json=False)

    for team in ("HOU", "PHI"):
        landed = [_without(p, "team", "teamType") for p in parsed.document["players"] if p["team"] == team]
        assert landed == expected[team]
    assert (parsed.document["game_id"], parsed.document["gamedate"]) == (
        expected["game_id"],
        expected["gamedate"],
    )


def test_boxscore_handmade_bxscr_matches_the_expected_players(shared_fixtures: Path) -> None:
    folder = shared_fixtures / "handmade" / "espn"
    package = {"page": {"content": {"gamepackage": {"bxscr": _json(folder / "espn_boxscore_bxscr.json")}}}}
    # The handmade payload is the bare `bxscr` list; the page around it is what ESPN serves.
    html = f"<!DOCTYPE html><html><body><script>{FITT_MARKER}{json.dumps(package)};</script></body></html>"
    expected = _json(folder / "espn_boxscore_expected.json")

    parsed = _boxscore(html.encode(), "401766123", date(2025, 1, 20))

    assert parsed.record_count == expected["playerCount"] == parsed.document["playerCount"]
    strip = ("teamType",)
    assert [_without(p, *strip) for p in parsed.document["players"]] == [
        _without(p, *strip) for p in expected["players"]
    ]
    # The handmade bxscr has no `hm` flags; ESPN lists the away team first (the old code's rule
    # too), while the handmade expectation calls the first-listed LAL the home team.
    assert parsed.document["teams"] == {"away": "LAL", "home": "BOS"}
    # gamedate is dashed as in the real recording's exp; the handmade file writes it YYYYMMDD.
    assert parsed.document["gamedate"].replace("-", "") == expected["gamedate"]


# --- espn_roster: Boston Celtics (ESPN team 2), 2025-06-19 --------------------------------------


def _recorded_roster(shared: Path) -> Parsed:
    scraper, opts = EspnRoster(), EspnRosterOptions(team_abbr="BOS")
    raw = shared / "recorded" / "espn_roster_api" / "raw_2.json"
    return scraper.parse(opts, [to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, raw.read_bytes())], CTX)


def test_roster_api_recording_lands_the_same_players(shared_fixtures: Path) -> None:
    expected = _json(shared_fixtures / "recorded" / "espn_roster_api" / "exp_2.json")
    parsed = _recorded_roster(shared_fixtures)
    document = parsed.document

    assert document["players"] == expected["players"]
    assert (document["teamName"], document["playerCount"]) == (expected["teamName"], expected["playerCount"])
    assert parsed.record_count == 17
    # exp predates the current keys: `teamId` ("2") became `espn_team_id` (2) beside both team codes.
    assert (document["espn_team_id"], document["espn_team_abbr"], document["team_abbr"]) == (2, "BOS", "BOS")
    assert str(document["espn_team_id"]) == expected["teamId"]
    assert set(document) - set(expected) == {"team_abbr", "espn_team_abbr", "espn_team_id"}


def test_roster_api_agrees_with_the_html_roster_of_the_same_day(shared_fixtures: Path) -> None:
    html_roster = _json(shared_fixtures / "recorded" / "espn_roster" / "exp_bos.json")
    players = _recorded_roster(shared_fixtures).document["players"]

    assert [(p["playerId"], p["fullName"], p["jersey"]) for p in players] == [
        (p["playerId"], p["name"], p["number"]) for p in html_roster["players"]
    ]


def test_espn_team_table_matches_the_recorded_scoreboards(shared_fixtures: Path) -> None:
    seen = 0
    for raw in sorted((shared_fixtures / "recorded" / "espn_scoreboard_api").glob("raw_*.json")):
        for event in _json(raw)["events"]:
            for competitor in event["competitions"][0]["competitors"]:
                team = competitor["team"]
                known = team_by_code(team["abbreviation"])
                assert known is not None, team["abbreviation"]
                assert (str(known.team_id), known.name) == (team["id"], team["displayName"])
                seen += 1
    assert seen > 0


# --- bp_player_props: no props recording exists; its date mode runs on the real events -----------


def test_bp_props_date_mode_fans_out_over_the_recorded_events(shared_fixtures: Path) -> None:
    scraper = BpPlayerProps()
    opts = BpPlayerPropsOptions(
        event_ids=None, game_date=date(2021, 10, 21), market_type="rebounds", page_limit=10
    )
    folder = shared_fixtures / "recorded" / "bp_events"
    expected = _json(folder / "exp_75470647.json")
    page = to_page(scraper.requests(opts)[0], 200, JSON_HEADERS, (folder / "raw_75470647.json").read_bytes())

    following = scraper.follow_ups(opts, page)

    assert [dict(r.params)["event_id"] for r in following] == [str(e["id"]) for e in expected["events"]]
    assert {(dict(r.params)["market_id"], dict(r.params)["page"]) for r in following} == {("157", "1")}
