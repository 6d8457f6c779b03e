"""The 30 NBA teams as NBA.com identifies them: numeric id, tricode and the slug of its web pages.

One typed table for every scraper that turns a tricode into an NBA.com URL (the roster page needs
`/team/<id>/<slug>/`). The values are NBA.com's own; the conformance suite checks them against a
recorded stats.nba.com player index, which lists every team's id, tricode and slug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Team:
    team_id: int
    abbr: str  # NBA tricode, as in paths (`team_GSW`) and canonical game keys
    slug: str  # www.nba.com URL segment: https://www.nba.com/team/<team_id>/<slug>/roster
    name: str  # the full name NBA.com PDFs and The Odds API print, e.g. "Golden State Warriors"


TEAMS: tuple[Team, ...] = (
    Team(1610612737, "ATL", "hawks", "Atlanta Hawks"),
    Team(1610612738, "BOS", "celtics", "Boston Celtics"),
    Team(1610612751, "BKN", "nets", "Brooklyn Nets"),
    Team(1610612766, "CHA", "hornets", "Charlotte Hornets"),
    Team(1610612741, "CHI", "bulls", "Chicago Bulls"),
    Team(1610612739, "CLE", "cavaliers", "Cleveland Cavaliers"),
    Team(1610612742, "DAL", "mavericks", "Dallas Mavericks"),
    Team(1610612743, "DEN", "nuggets", "Denver Nuggets"),
    Team(1610612765, "DET", "pistons", "Detroit Pistons"),
    Team(1610612744, "GSW", "warriors", "Golden State Warriors"),
    Team(1610612745, "HOU", "rockets", "Houston Rockets"),
    Team(1610612754, "IND", "pacers", "Indiana Pacers"),
    Team(1610612746, "LAC", "clippers", "LA Clippers"),
    Team(1610612747, "LAL", "lakers", "Los Angeles Lakers"),
    Team(1610612763, "MEM", "grizzlies", "Memphis Grizzlies"),
    Team(1610612748, "MIA", "heat", "Miami Heat"),
    Team(1610612749, "MIL", "bucks", "Milwaukee Bucks"),
    Team(1610612750, "MIN", "timberwolves", "Minnesota Timberwolves"),
    Team(1610612740, "NOP", "pelicans", "New Orleans Pelicans"),
    Team(1610612752, "NYK", "knicks", "New York Knicks"),
    Team(1610612760, "OKC", "thunder", "Oklahoma City Thunder"),
    Team(1610612753, "ORL", "magic", "Orlando Magic"),
    Team(1610612755, "PHI", "sixers", "Philadelphia 76ers"),
    Team(1610612756, "PHX", "suns", "Phoenix Suns"),
    Team(1610612757, "POR", "blazers", "Portland Trail Blazers"),
    Team(1610612758, "SAC", "kings", "Sacramento Kings"),
    Team(1610612759, "SAS", "spurs", "San Antonio Spurs"),
    Team(1610612761, "TOR", "raptors", "Toronto Raptors"),
    Team(1610612762, "UTA", "jazz", "Utah Jazz"),
    Team(1610612764, "WAS", "wizards", "Washington Wizards"),
)

BY_ABBR: Mapping[str, Team] = MappingProxyType({team.abbr: team for team in TEAMS})
# Full names as upstreams print them; the Clippers appear under both spellings.
BY_NAME: Mapping[str, Team] = MappingProxyType(
    {**{team.name: team for team in TEAMS}, "Los Angeles Clippers": BY_ABBR["LAC"]}
)


def team_by_abbr(abbr: str) -> Team | None:
    """The team with this tricode; exact match only, so `gsw` never lands as `team_gsw`."""
    return BY_ABBR.get(abbr)


def tricode_for_name(name: str) -> str | None:
    """The tricode of a full team name ("Golden State Warriors" -> "GSW"), None if unknown."""
    team = BY_NAME.get(name.strip())
    return team.abbr if team else None
