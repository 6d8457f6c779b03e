"""The completion metadata of a per-game NBA.com run: the canonical game key beside NBA.com's own id.

Downstream joins NBA.com, BallDontLie, ESPN and Odds API data on `YYYYMMDD_AWY_HOM` (the game's
Eastern date, NBA tricodes; DESIGN.md), so every per-game run names it in its completion next to
the id the source itself uses (`game_id`, or the gamebook's `game_code`).
"""

from __future__ import annotations

from datetime import date

from scrapers.nba.keys import game_key


def game_metadata(day: date, away: object, home: object, **source_ids: str) -> dict[str, str]:
    """`{"game_key": ..., **source_ids}`; without both teams (a 204, a feed that names no team yet)
    only the source's id travels: a key with a guessed team would join the wrong game."""
    if isinstance(away, str) and away.strip() and isinstance(home, str) and home.strip():
        return {"game_key": game_key(day.isoformat(), away, home), **source_ids}
    return dict(source_ids)
