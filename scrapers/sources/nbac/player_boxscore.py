"""nbac_player_boxscore: every player's line of one Eastern date from stats.nba.com leaguegamelog.

What lands is the decoded answer itself (`resource`, `parameters`, `resultSets[LeagueGameLog]`),
as on the old platform; the parse only proves it is the right table for the right day and counts
its rows.

leaguegamelog filters by season and season type, and an answer for the wrong type is an empty
table that looks exactly like a day without games. So the type is never guessed: `season_type`
defaults to `auto`, which reads the league calendar below (published dates, no schedule service),
and a date outside the known seasons must name its type explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.sources.nbac import box_validators, headers, result_sets
from scrapers.sources.nbac.lines import player_boxscore_lines

URL = "https://stats.nba.com/stats/leaguegamelog"
ENDPOINT = "leaguegamelog"
TABLE = "LeagueGameLog"
# Columns that make a row a player's line of one game; the stat columns may change freely.
REQUIRED_COLUMNS = ("PLAYER_ID", "TEAM_ID", "GAME_ID", "GAME_DATE")
AUTO = "auto"

REGULAR_SEASON = "Regular Season"
PRE_SEASON = "Pre Season"
ALL_STAR = "All Star"
PLAY_IN = "PlayIn"
PLAYOFFS = "Playoffs"
CUP_FINAL = "IST"  # the NBA Cup championship: its box scores count in no other season type


@dataclass(frozen=True)
class LeagueCalendar:
    """The dates of one season that decide which leaguegamelog season type a day belongs to."""

    opener: date  # first regular-season day; earlier days of the season are preseason
    all_star: tuple[date, date]  # Friday to Sunday of All-Star weekend (Rising Stars to the game)
    play_in: date  # first Play-In day; the quiet day(s) before it stay regular season
    playoffs: date  # first playoff day; everything after it, Finals and summer, is playoffs
    cup_final: date | None = None

    def season_type(self, day: date) -> str:
        if day < self.opener:
            return PRE_SEASON
        if day == self.cup_final:
            return CUP_FINAL
        if self.all_star[0] <= day <= self.all_star[1]:
            return ALL_STAR
        if day < self.play_in:
            return REGULAR_SEASON
        return PLAY_IN if day < self.playoffs else PLAYOFFS


# The league's published key dates (2024-25 checked against the recorded 2024-25 schedule).
# Add a season here when the league publishes its calendar, in August.
CALENDARS: Mapping[int, LeagueCalendar] = {
    2021: LeagueCalendar(
        opener=date(2021, 10, 19),
        all_star=(date(2022, 2, 18), date(2022, 2, 20)),
        play_in=date(2022, 4, 12),
        playoffs=date(2022, 4, 16),
    ),
    2022: LeagueCalendar(
        opener=date(2022, 10, 18),
        all_star=(date(2023, 2, 17), date(2023, 2, 19)),
        play_in=date(2023, 4, 11),
        playoffs=date(2023, 4, 15),
    ),
    2023: LeagueCalendar(
        opener=date(2023, 10, 24),
        all_star=(date(2024, 2, 16), date(2024, 2, 18)),
        play_in=date(2024, 4, 16),
        playoffs=date(2024, 4, 20),
        cup_final=date(2023, 12, 9),
    ),
    2024: LeagueCalendar(
        opener=date(2024, 10, 22),
        all_star=(date(2025, 2, 14), date(2025, 2, 16)),
        play_in=date(2025, 4, 15),
        playoffs=date(2025, 4, 19),
        cup_final=date(2024, 12, 17),
    ),
    2025: LeagueCalendar(
        opener=date(2025, 10, 21),
        all_star=(date(2026, 2, 13), date(2026, 2, 15)),
        play_in=date(2026, 4, 14),
        playoffs=date(2026, 4, 18),
        cup_final=date(2025, 12, 16),
    ),
}


def season_type_on(day: date) -> str | None:
    """The leaguegamelog season type of an Eastern date, or None outside the known calendars."""
    calendar = CALENDARS.get(Season.of(day).start_year)
    return calendar.season_type(day) if calendar else None


class PlayerBoxscoreOptions(ScraperOptions):
    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("gamedate",), help="Eastern game date"
    )
    season: Season | None = option("season", example="2023-24", help="default is the season of game_date")
    season_type: str = option(
        "choice",
        example="auto",
        default="auto",
        choices=(
            "auto",
            "Regular Season",
            "Pre Season",
            "All Star",
            "IST",
            "PlayIn",
            "Playoffs",
        ),
        help="auto reads the league calendar of the date's season",
    )


class NbacPlayerBoxscore(Scraper[PlayerBoxscoreOptions]):
    options_type = PlayerBoxscoreOptions
    validator = box_validators.player_boxscore
    lines = player_boxscore_lines
    date_option = "game_date"

    def check_options(self, opts: PlayerBoxscoreOptions) -> None:
        # A season that does not contain the date answers an empty table: a false "no data".
        if opts.season is not None and opts.season != Season.of(opts.game_date):
            raise OptionError(
                "season", f"{opts.game_date} is in {Season.of(opts.game_date)}, not {opts.season}", "2023-24"
            )
        if opts.season_type == AUTO and season_type_on(opts.game_date) is None:
            raise OptionError(
                "season_type",
                f"auto knows no league calendar for {Season.of(opts.game_date)}; name the type",
                REGULAR_SEASON,
            )

    def requests(self, opts: PlayerBoxscoreOptions) -> Sequence[Request]:
        day = opts.game_date.isoformat()
        params = (
            ("Counter", "1000"),
            ("DateFrom", day),
            ("DateTo", day),
            ("Direction", "DESC"),
            ("LeagueID", "00"),
            ("PlayerOrTeam", "P"),
            ("Season", season_of(opts).nba_format),
            ("SeasonType", season_type_of(opts)),
            ("Sorter", "DATE"),
        )
        return (Request(URL, params=params, headers=headers.STATS, expect=BodyKind.JSON),)

    def parse(self, opts: PlayerBoxscoreOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = result_sets.single_page(pages, ENDPOINT)
        what = f"{opts.game_date} ({season_type_of(opts)})"
        reason = result_sets.no_content_reason(page, what)
        if reason:
            return Parsed({}, record_count=0, no_data_reason=reason)
        rows = _game_log(page.data, opts.game_date)
        if not rows:
            reason = f"leaguegamelog lists no player lines for {what}"
            return Parsed(page.data, record_count=0, no_data_reason=reason)
        return Parsed(page.data, record_count=len(rows))


def season_of(opts: PlayerBoxscoreOptions) -> Season:
    return opts.season or Season.of(opts.game_date)


def season_type_of(opts: PlayerBoxscoreOptions) -> str:
    if opts.season_type != AUTO:
        return opts.season_type
    derived = season_type_on(opts.game_date)
    if derived is None:  # check_options turns this into an option error before any request
        raise ValueError(f"no league calendar for {opts.game_date}")
    return derived


def _game_log(data: Any, gamedate: date) -> list[result_sets.Row]:
    sets = result_sets.result_sets(data, ENDPOINT)
    for parameter in ("DateFrom", "DateTo"):
        result_sets.check_echoed_date(data, parameter, gamedate, ENDPOINT)
    rows = result_sets.table(sets, TABLE, REQUIRED_COLUMNS, ENDPOINT)
    wrong_day = [row["GAME_DATE"] for row in rows if not _same_day(row["GAME_DATE"], gamedate)]
    if wrong_day:
        raise ParseError(f"leaguegamelog has rows of {wrong_day[0]!r} in the answer for {gamedate}")
    return rows


def _same_day(value: Any, gamedate: date) -> bool:
    # GAME_DATE is `2025-03-15`; tolerate a time suffix (`2025-03-15T00:00:00`).
    return isinstance(value, str) and value[:10] == gamedate.isoformat()
