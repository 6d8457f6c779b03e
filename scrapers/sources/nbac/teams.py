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


TEAMS: tuple[Team, ...] = (
    Team(1610612737, "ATL", "hawks"),
    Team(1610612738, "BOS", "celtics"),
    Team(1610612751, "BKN", "nets"),
    Team(1610612766, "CHA", "hornets"),
    Team(1610612741, "CHI", "bulls"),
    Team(1610612739, "CLE", "cavaliers"),
    Team(1610612742, "DAL", "mavericks"),
    Team(1610612743, "DEN", "nuggets"),
    Team(1610612765, "DET", "pistons"),
    Team(1610612744, "GSW", "warriors"),
    Team(1610612745, "HOU", "rockets"),
    Team(1610612754, "IND", "pacers"),
    Team(1610612746, "LAC", "clippers"),
    Team(1610612747, "LAL", "lakers"),
    Team(1610612763, "MEM", "grizzlies"),
    Team(1610612748, "MIA", "heat"),
    Team(1610612749, "MIL", "bucks"),
    Team(1610612750, "MIN", "timberwolves"),
    Team(1610612740, "NOP", "pelicans"),
    Team(1610612752, "NYK", "knicks"),
    Team(1610612760, "OKC", "thunder"),
    Team(1610612753, "ORL", "magic"),
    Team(1610612755, "PHI", "sixers"),
    Team(1610612756, "PHX", "suns"),
    Team(1610612757, "POR", "blazers"),
    Team(1610612758, "SAC", "kings"),
    Team(1610612759, "SAS", "spurs"),
    Team(1610612761, "TOR", "raptors"),
    Team(1610612762, "UTA", "jazz"),
    Team(1610612764, "WAS", "wizards"),
)

BY_ABBR: Mapping[str, Team] = MappingProxyType({team.abbr: team for team in TEAMS})


def team_by_abbr(abbr: str) -> Team | None:
    """The team with this tricode; exact match only, so `gsw` never lands as `team_gsw`."""
    return BY_ABBR.get(abbr)
