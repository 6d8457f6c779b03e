"""nbac_play_by_play: one game's full play-by-play feed from cdn.nba.com liveData.

The feed lands whole under `playByPlay`, with a small `metadata` header (game id, season, fetch
time, event count), as on the old platform. The season comes from the game id (`00224…` is
2024-25). A feed whose `actions` list is still empty (the game has not started) is no data; a feed
for another game, or without `game.actions`, is a structural failure.

The completion names the game by its canonical key. The feed never says which team is home, but
every made basket moves the home or the away score, so the teams seen scoring name the sides; a
feed with no basket yet, or one that contradicts itself, carries only its game id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.sources.nbac import headers, validators
from scrapers.sources.nbac.game_keys import game_metadata
from scrapers.sources.nbac.result_sets import (
    GAME_ID_PATTERN,
    GAME_ID_SHAPE,
    check_game_id,
    json_list,
    json_object,
    no_content_reason,
    single_page,
)

URL_TEMPLATE = "https://cdn.nba.com/static/json/liveData/playbyplay/playbyplay_{game_id}.json"


class PlayByPlayOptions(ScraperOptions):
    game_id: str = option(
        "str",
        example="0022300601",
        required=True,
        help="NBA.com game id",
        pattern=GAME_ID_PATTERN,
        shape=GAME_ID_SHAPE,
    )
    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("gamedate",), help="Eastern game date"
    )


class NbacPlayByPlay(Scraper[PlayByPlayOptions]):
    options_type = PlayByPlayOptions
    validator = validators.play_by_play
    date_option = "game_date"

    def check_options(self, opts: PlayByPlayOptions) -> None:
        check_game_id("game_id", opts.game_id)

    def requests(self, opts: PlayByPlayOptions) -> Sequence[Request]:
        url = URL_TEMPLATE.format(game_id=opts.game_id)
        return (Request(url, headers=headers.DATA, expect=BodyKind.JSON),)

    def parse(self, opts: PlayByPlayOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = single_page(pages, "playbyplay")
        reason = no_content_reason(page, f"game {opts.game_id}")
        if reason:
            metadata = game_metadata(opts.game_date, None, None, game_id=opts.game_id)
            return Parsed(
                _document(opts, ctx, {}, 0), record_count=0, no_data_reason=reason, metadata=metadata
            )
        actions = _actions(page.data, opts.game_id)
        document = _document(opts, ctx, page.data, len(actions))
        metadata = game_metadata(opts.game_date, *sides(actions), game_id=opts.game_id)
        if not actions:
            reason = f"the play-by-play of game {opts.game_id} has no actions yet"
            return Parsed(document, record_count=0, no_data_reason=reason, metadata=metadata)
        return Parsed(document, record_count=len(actions), metadata=metadata)


def season_of_game(game_id: str) -> Season:
    """`0022400561` -> 2024-25: digits 4-5 are the season's start year (ids are 10 digits, checked)."""
    return Season(2000 + int(game_id[3:5]))


def _document(opts: PlayByPlayOptions, ctx: ParseContext, feed: Any, event_count: int) -> dict[str, Any]:
    # No `record_count` key: the old platform added it only so its status probe saw records; our
    # status is explicit (and the landed recordings predate that key).
    return {
        "metadata": {
            "game_id": opts.game_id,
            "season": season_of_game(opts.game_id).nba_format,
            "fetchedUtc": utc_iso(ctx.fetched_at),
            "eventCount": event_count,
        },
        "playByPlay": feed,
    }


def _actions(data: Any, game_id: str) -> list[Any]:
    game = json_object(json_object(data, "playbyplay body").get("game"), "playbyplay 'game'")
    if game.get("gameId") != game_id:
        raise ParseError(f"playbyplay answered game {game.get('gameId')!r}, not the requested {game_id}")
    actions = json_list(game.get("actions"), "game.actions")
    for index, action in enumerate(actions):
        json_object(action, f"game.actions[{index}]")
    return actions


def sides(actions: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(away, home) tricodes from who scored on which side, or (None, None) when the feed cannot tell."""
    named = {team for action in actions if (team := _tricode(action))}
    if len(named) != 2:
        return None, None
    home: set[str] = set()
    previous = (0, 0)
    for action in actions:
        score = _score(action)
        if score is None:
            continue
        team = _tricode(action)
        if team and action.get("shotResult") == "Made":
            if score[0] > previous[0] and score[1] == previous[1]:
                home.add(team)
            elif score[1] > previous[1] and score[0] == previous[0]:
                home |= named - {team}
        previous = score
    if len(home) != 1:
        return None, None
    (away,) = named - home
    return away, next(iter(home))


def _tricode(action: dict[str, Any]) -> str | None:
    team = action.get("teamTricode")
    return team if isinstance(team, str) and team else None


def _score(action: dict[str, Any]) -> tuple[int, int] | None:
    """(home, away) after the action; the feed writes them as digit strings."""
    home, away = action.get("scoreHome"), action.get("scoreAway")
    if isinstance(home, str) and home.isdigit() and isinstance(away, str) and away.isdigit():
        return int(home), int(away)
    return None
