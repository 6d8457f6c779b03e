"""Join keys across sources: the canonical game key and a normalised player name.

`YYYYMMDD_AWY_HOM` with NBA tricodes (DESIGN.md): the sources' own codes (ESPN's GS, NO, NY, SA,
UTAH, WSH, older spellings like PHO or BRK) and full team names are mapped to tricodes first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from scrapers.nba.espn_teams import TEAMS as ESPN_TEAMS
from scrapers.nba.teams import BY_ABBR, tricode_for_name

# Codes some sources use for a team whose NBA tricode differs.
OTHER_CODES: Mapping[str, str] = MappingProxyType(
    {
        **{team.code: team.tricode for team in ESPN_TEAMS if team.code != team.tricode},
        "PHO": "PHX",
        "BRK": "BKN",
        "CHO": "CHA",
        "NOR": "NOP",
        "UTH": "UTA",
    }
)
NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")


def tricode(code: str) -> str:
    """The NBA tricode of a team code or full name; unknown codes come back upper-cased."""
    text = code.strip()
    known = tricode_for_name(text)
    if known:
        return known
    upper = text.upper()
    return OTHER_CODES.get(upper, upper)


def is_nba_team(code: str) -> bool:
    return tricode(code) in BY_ABBR


def game_key(day: str, away: str, home: str) -> str:
    """`20240115_HOU_PHI` from "2024-01-15" (or "20240115", or an ISO timestamp) and two teams."""
    digits = day.strip()[:10].replace("-", "")
    return f"{digits}_{tricode(away)}_{tricode(home)}"


def player_key(name: str) -> str:
    """A player's name for joins: accents, case, punctuation and generational suffixes (Jr., III)
    dropped, so "Jabari Smith Jr." matches "Jabari Smith" and "Nikola Jokić" "Nikola Jokic"."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    words = _NOT_WORD.sub(" ", ascii_text.replace(".", "").replace("'", "")).split()
    while len(words) > 1 and words[-1] in NAME_SUFFIXES:
        words.pop()
    return " ".join(words)
