"""BallDontLie single objects: one team (`/teams/{id}`), one player (`/players/{id}`), one game
(`/games/{id}`).

Each answers `{"data": {...}}`; the old platform unwrapped it and landed `{<kind>Id, timestamp,
<kind>}`. An id BallDontLie does not know answers 404, which the core classifies `not_found`: a
detail run is never `no_data`. An answer about another object than the one asked for is a parse
error, so it never lands under the requested id.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.nba.keys import game_key
from scrapers.sources.bdl import validators
from scrapers.sources.bdl.common import Endpoint, Row, body_of

OptionsT = TypeVar("OptionsT")


class BdlDetail(Scraper[OptionsT]):
    """`{resource}/{id}`: one request, one object, landed under the old platform's three keys."""

    resource: ClassVar[str]  # the collection path, e.g. "/teams"
    kind: ClassVar[str]  # "team": the document's `<kind>Id` and `<kind>` keys and the messages
    example: ClassVar[str]  # an id for option errors

    @abstractmethod
    def object_id(self, opts: OptionsT) -> int:
        """The id the options ask for."""

    def check_options(self, opts: OptionsT) -> None:
        # BallDontLie numbers everything from 1; anything else is a typo, not a 404 worth a request.
        if self.object_id(opts) <= 0:
            raise OptionError(self.id_option, f"{self.object_id(opts)} is not a BallDontLie id", self.example)

    @property
    def id_option(self) -> str:
        return f"{self.kind}Id"

    def requests(self, opts: OptionsT) -> Sequence[Request]:
        return (Endpoint(f"{self.resource}/{self.object_id(opts)}").request(),)

    def parse(self, opts: OptionsT, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        if not pages:
            raise ValueError("parse needs the fetched page; none was given")
        wanted = self.object_id(opts)
        found = detail_object(pages[0], self.kind, wanted)
        document = {self.id_option: wanted, "timestamp": utc_iso(ctx.fetched_at), self.kind: found}
        return Parsed(
            document=document,
            record_count=1,
            path_values=self.path_values(found),
            metadata=self.metadata(found),
        )

    def path_values(self, found: Row) -> Mapping[str, str]:
        """Path placeholders read from the object; none by default (`{date}` is the run's)."""
        return {}

    def metadata(self, found: Row) -> Mapping[str, Any]:
        """Completion facts read from the object; none by default."""
        return {}


def detail_object(page: Page, kind: str, wanted: int) -> Row:
    """The `data` object of a detail answer, checked to be the object that was asked for."""
    data = body_of(page).get("data")
    if not isinstance(data, dict):
        raise ParseError(f"BallDontLie {kind} {wanted}: 'data' is not an object (got {type(data).__name__})")
    found = data.get("id")
    # bool is an int subclass: `true` is a changed shape, not team 1.
    if isinstance(found, bool) or found != wanted:
        raise ParseError(f"BallDontLie answered {kind} {found!r} when {kind} {wanted} was asked for")
    return data


class TeamDetailOptions(ScraperOptions):
    team_id: int = option("int", example="23", required=True, aliases=("teamId",), help="BallDontLie team id")


class BdlTeamDetail(BdlDetail[TeamDetailOptions]):
    options_type = TeamDetailOptions
    validator = validators.team_detail
    resource = "/teams"
    kind = "team"
    example = "23"

    def object_id(self, opts: TeamDetailOptions) -> int:
        return opts.team_id


class PlayerDetailOptions(ScraperOptions):
    player_id: int = option(
        "int", example="237", required=True, aliases=("playerId",), help="BallDontLie player id"
    )


class BdlPlayerDetail(BdlDetail[PlayerDetailOptions]):
    options_type = PlayerDetailOptions
    validator = validators.player_detail
    resource = "/players"
    kind = "player"
    example = "237"

    def object_id(self, opts: PlayerDetailOptions) -> int:
        return opts.player_id


class GameDetailOptions(ScraperOptions):
    game_id: int = option(
        "int", example="1037593", required=True, aliases=("gameId",), help="BallDontLie game id"
    )


class BdlGameDetail(BdlDetail[GameDetailOptions]):
    """One game, filed under its own Eastern date (BallDontLie's `date`), not the run's."""

    options_type = GameDetailOptions
    validator = validators.game_detail
    resource = "/games"
    kind = "game"
    example = "1037593"

    def object_id(self, opts: GameDetailOptions) -> int:
        return opts.game_id

    def path_values(self, found: Row) -> Mapping[str, str]:
        return {"date": _game_day(found).isoformat()}

    def metadata(self, found: Row) -> Mapping[str, Any]:
        away, home = _abbreviation(found, "visitor_team"), _abbreviation(found, "home_team")
        return {"game_key": game_key(_game_day(found).isoformat(), away, home), "game_id": found["id"]}


def _game_day(game: Row) -> date:
    # BallDontLie's `date` is the Eastern game day (`datetime` is the UTC tip-off).
    value = game.get("date")
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ParseError(f"BallDontLie game {game['id']}: 'date' is not YYYY-MM-DD (got {value!r})") from None


def _abbreviation(game: Row, side: str) -> str:
    team = game.get(side)
    code = team.get("abbreviation") if isinstance(team, dict) else None
    if not isinstance(code, str) or not code.strip():
        raise ParseError(f"BallDontLie game {game['id']}: '{side}' has no abbreviation")
    return code
