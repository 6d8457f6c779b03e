"""The per-game NBA.com scrapers a list of games fans out to, declared once for every parent.

A scoreboard (`nbac_scoreboard_v2`) and a schedule (`nbac_schedule_api`, `nbac_schedule_cdn`)
both hand out GameRefs (NBA.com game id, Eastern date, game code, tricodes); each game becomes

    nbac_gamebook_pdf    --game_code 20240115/MEMCLE
    nbac_play_by_play    --game_id 0022300601 --game_date 2024-01-15
    nbac_team_boxscore   --game_id 0022300601 --game_date 2024-01-15

A scoreboard runs the gamebooks by default (what its fan-out always did) and the other two when
named; a schedule runs none by default (a season's schedule would fan out to every game of the
season), and `backfill --season` reads the same plans to turn a landed schedule into per-game jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapers.core.fanout import Child, FanOut, FanOutRef, GameRef


def gamebook_child(parent: Mapping[str, Any], ref: FanOutRef) -> Child | str:
    """Each game -> its gamebook PDF, keyed by the game code (`20240115/MEMCLE`)."""
    if not isinstance(ref, GameRef):
        return f"{ref.kind} ref is not a game"
    if not ref.game_code:
        return f"game {ref.game_id} has no game code"
    return Child(ref.game_code, {"game_code": ref.game_code})


def game_feed_child(parent: Mapping[str, Any], ref: FanOutRef) -> Child | str:
    """Each game -> a feed keyed by NBA.com's game id and the Eastern game date."""
    if not isinstance(ref, GameRef):
        return f"{ref.kind} ref is not a game"
    return Child(ref.game_id, {"game_id": ref.game_id, "game_date": ref.game_date})


def per_game(*, gamebooks_by_default: bool) -> tuple[FanOut, ...]:
    return (
        FanOut("nbac_gamebook_pdf", ("game_code",), gamebook_child, default=gamebooks_by_default),
        FanOut("nbac_play_by_play", ("game_id", "game_date"), game_feed_child, default=False),
        FanOut("nbac_team_boxscore", ("game_id", "game_date"), game_feed_child, default=False),
    )
