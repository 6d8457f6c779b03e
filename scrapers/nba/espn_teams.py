"""The 30 NBA teams as ESPN identifies them: ESPN code, numeric site-API id and display name.

ESPN's codes differ from NBA.com tricodes for six teams (GS, NO, NY, SA, UTAH, WSH), and the
site API addresses a team by a small numeric id of its own. One typed table serves every ESPN
scraper: the roster asks the API by id, the box-score table fallback names teams by display name.
The conformance suite checks ids, codes and names against recorded ESPN scoreboards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class EspnTeam:
    code: str  # ESPN abbreviation, as in `team_abbr` options and the box score's `abbrev`
    team_id: int  # site.api.espn.com/.../teams/<team_id>
    name: str  # ESPN displayName, e.g. "LA Clippers" (not "Los Angeles Clippers")
    tricode: str  # NBA.com tricode, the canonical key downstream joins on


TEAMS: tuple[EspnTeam, ...] = (
    EspnTeam("ATL", 1, "Atlanta Hawks", "ATL"),
    EspnTeam("BOS", 2, "Boston Celtics", "BOS"),
    EspnTeam("NO", 3, "New Orleans Pelicans", "NOP"),
    EspnTeam("CHI", 4, "Chicago Bulls", "CHI"),
    EspnTeam("CLE", 5, "Cleveland Cavaliers", "CLE"),
    EspnTeam("DAL", 6, "Dallas Mavericks", "DAL"),
    EspnTeam("DEN", 7, "Denver Nuggets", "DEN"),
    EspnTeam("DET", 8, "Detroit Pistons", "DET"),
    EspnTeam("GS", 9, "Golden State Warriors", "GSW"),
    EspnTeam("HOU", 10, "Houston Rockets", "HOU"),
    EspnTeam("IND", 11, "Indiana Pacers", "IND"),
    EspnTeam("LAC", 12, "LA Clippers", "LAC"),
    EspnTeam("LAL", 13, "Los Angeles Lakers", "LAL"),
    EspnTeam("MIA", 14, "Miami Heat", "MIA"),
    EspnTeam("MIL", 15, "Milwaukee Bucks", "MIL"),
    EspnTeam("MIN", 16, "Minnesota Timberwolves", "MIN"),
    EspnTeam("BKN", 17, "Brooklyn Nets", "BKN"),
    EspnTeam("NY", 18, "New York Knicks", "NYK"),
    EspnTeam("ORL", 19, "Orlando Magic", "ORL"),
    EspnTeam("PHI", 20, "Philadelphia 76ers", "PHI"),
    EspnTeam("PHX", 21, "Phoenix Suns", "PHX"),
    EspnTeam("POR", 22, "Portland Trail Blazers", "POR"),
    EspnTeam("SAC", 23, "Sacramento Kings", "SAC"),
    EspnTeam("SA", 24, "San Antonio Spurs", "SAS"),
    EspnTeam("OKC", 25, "Oklahoma City Thunder", "OKC"),
    EspnTeam("UTAH", 26, "Utah Jazz", "UTA"),
    EspnTeam("WSH", 27, "Washington Wizards", "WAS"),
    EspnTeam("TOR", 28, "Toronto Raptors", "TOR"),
    EspnTeam("MEM", 29, "Memphis Grizzlies", "MEM"),
    EspnTeam("CHA", 30, "Charlotte Hornets", "CHA"),
)

BY_CODE: Mapping[str, EspnTeam] = MappingProxyType({team.code: team for team in TEAMS})
BY_NAME: Mapping[str, EspnTeam] = MappingProxyType({team.name: team for team in TEAMS})
BY_TRICODE: Mapping[str, EspnTeam] = MappingProxyType({team.tricode: team for team in TEAMS})


def team_by_code(code: str) -> EspnTeam | None:
    """The team with this ESPN code; exact match only, so `gs` never lands as `team_gs`."""
    return BY_CODE.get(code)


def team_by_name(name: str) -> EspnTeam | None:
    return BY_NAME.get(name.strip())


def code_hint(value: str) -> str:
    """A ' (did you mean GS?)' hint for an NBA tricode or a lower-case code, else ''."""
    candidate = BY_CODE.get(value.upper()) or BY_TRICODE.get(value.upper())
    return f" (did you mean {candidate.code}?)" if candidate else ""
