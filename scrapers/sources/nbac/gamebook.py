"""nbac_gamebook_pdf: the official NBA gamebook PDF of one game, parsed, with the PDF landed beside it.

`https://statsdmz.nba.com/pdfs/<YYYYMMDD>/<YYYYMMDD>_<AWYHOM>.pdf` is the one-page box score
(version `short`), `..._book.pdf` the full game book whose page 1 is the same box score. The parse
itself lives in gamebook_parser (bytes -> typed values); this module owns the options, the request,
the landed document (the old platform's keys, minus `debug_info`, plus `data_status`) and the path.

The document's `data_status` is `partial` whenever a self-check or a section failed, with the reasons
in `data_status_reasons`: such a gamebook still lands, but never as if it were complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from scrapers.core.clock import utc_iso
from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.sources.nbac import box_validators, headers
from scrapers.sources.nbac.game_keys import game_metadata
from scrapers.sources.nbac.gamebook_parser import Gamebook, parse_gamebook
from scrapers.sources.nbac.lines import gamebook_lines

BASE_URL = "https://statsdmz.nba.com/pdfs"
SOURCE = "nba_gamebook_pdf"
GAME_CODE_EXAMPLE = "20240410/MEMCLE"
# Visitor then home tricode. All-Star and preseason codes use the same shape with non-franchise codes.
# Matched in full; also the option's pattern, so a game code from a scoreboard body (fan-out) is
# checked before any request or path is built from it.
_GAME_CODE = re.compile(r"(?P<day>[0-9]{8})/(?P<away>[A-Z0-9]{3})(?P<home>[A-Z0-9]{3})")
_SUFFIX = {"short": "", "full": "_book"}

PDF_HEADERS: Mapping[str, str] = MappingProxyType({**headers.DATA, "Accept": "application/pdf,*/*;q=0.8"})
"""The DATA browser identity asking for a PDF: statsdmz serves the same file to the www.nba.com viewer."""


class GamebookOptions(ScraperOptions):
    game_code: str = option(
        "str",
        example="20240410/MEMCLE",
        required=True,
        help="YYYYMMDD/AWYHOM: game date, visitor and home tricodes",
        pattern=_GAME_CODE.pattern,
        shape="YYYYMMDD/AWYHOM",
    )
    version: str = option(
        "choice",
        example="short",
        default="short",
        choices=(
            "short",
            "full",
        ),
        help="short: the box score PDF; full: the _book PDF",
    )


@dataclass(frozen=True)
class GameCode:
    day: date
    away: str
    home: str

    @classmethod
    def parse(cls, text: str) -> GameCode:
        match = _GAME_CODE.fullmatch(text)
        if match is None:
            raise OptionError("game_code", f"'{text}' is not YYYYMMDD/AWYHOM", GAME_CODE_EXAMPLE)
        try:
            day = datetime.strptime(match["day"], "%Y%m%d").date()
        except ValueError:
            raise OptionError("game_code", f"'{match['day']}' is not a date", GAME_CODE_EXAMPLE) from None
        return cls(day=day, away=match["away"], home=match["home"])

    @property
    def compact(self) -> str:
        return f"{self.day:%Y%m%d}_{self.away}{self.home}"

    @property
    def dashed(self) -> str:
        """The path's entity segment, `20240410-MEMCLE`."""
        return f"{self.day:%Y%m%d}-{self.away}{self.home}"


def pdf_url(opts: GamebookOptions) -> str:
    code = GameCode.parse(opts.game_code)
    return f"{BASE_URL}/{code.day:%Y%m%d}/{code.compact}{_SUFFIX[opts.version]}.pdf"


class NbacGamebookPdf(Scraper[GamebookOptions]):
    options_type = GamebookOptions
    validator = box_validators.gamebook
    lines = gamebook_lines
    # The game's own date (from the game code) is the job's `{date}` and its completion's game_date.
    path_fields = frozenset({"clean_game_code_dashes"})

    def check_options(self, opts: GamebookOptions) -> None:
        GameCode.parse(opts.game_code)

    def requests(self, opts: GamebookOptions) -> Sequence[Request]:
        return (Request(pdf_url(opts), headers=PDF_HEADERS, expect=BodyKind.PDF),)

    def parse(self, opts: GamebookOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = _single_page(pages)
        code = GameCode.parse(opts.game_code)
        path_values = {"date": code.day.isoformat(), "clean_game_code_dashes": code.dashed}
        # The game code names the date and both teams, so even a missing PDF names its game.
        metadata = game_metadata(code.day, code.away, code.home, game_code=opts.game_code)
        if page.outcome is Outcome.NO_DATA:
            reason = f"statsdmz.nba.com answered HTTP {page.status} without a gamebook for {opts.game_code}"
            document = _document(opts, code, ctx, None)
            return Parsed(
                document, record_count=0, no_data_reason=reason, path_values=path_values, metadata=metadata
            )
        book = parse_gamebook(page.body)
        if book.game_date is not None and book.game_date != code.day:
            # Another game's PDF must never land under this game's path.
            raise ParseError(f"the gamebook is dated {book.game_date}, not {code.day} of {opts.game_code}")
        return Parsed(
            _document(opts, code, ctx, book),
            record_count=book.player_count,
            path_values=path_values,
            raw_artifact=page.body,
            metadata=metadata,
        )


def _single_page(pages: Sequence[Page]) -> Page:
    if len(pages) != 1:
        raise ValueError(f"a gamebook is exactly one PDF, got {len(pages)} pages")
    return pages[0]


def _document(
    opts: GamebookOptions, code: GameCode, ctx: ParseContext, book: Gamebook | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "game_code": opts.game_code,
        "date": code.day.isoformat(),
        "matchup": f"{code.away}@{code.home}",
        "away_team": code.away,
        "home_team": code.home,
        "pdf_version": opts.version,
        "pdf_url": pdf_url(opts),
        **_game_info(book),
        "timestamp": utc_iso(ctx.fetched_at),
        **_players(book),
        "source": SOURCE,
    }
    problems = list(book.problems) if book else []
    document["data_status"] = "partial" if problems else "complete"
    if problems:
        document["data_status_reasons"] = problems
    return document


def _game_info(book: Gamebook | None) -> dict[str, Any]:
    if book is None:
        return dict.fromkeys(
            (
                "arena",
                "city",
                "state",
                "location",
                "officials",
                "game_duration",
                "attendance",
                "attendance_note",
            )
        ) | {"officials": []}
    return {
        "arena": book.arena,
        "city": book.city,
        "state": book.state,
        "location": book.location,
        "officials": [{"number": o.number, "name": o.name} for o in book.officials],
        "game_duration": book.game_duration,
        "attendance": book.attendance,
        "attendance_note": book.attendance_note,
    }


def _players(book: Gamebook | None) -> dict[str, Any]:
    active = [
        {"name": p.name, "team": p.team, "status": "active", "stats": p.stats.as_dict()}
        for p in (book.active if book else ())
    ]
    dnp = [
        {
            "name": p.name,
            "team": p.team,
            "status": "did_not_play",
            "dnp_reason": p.reason,
            "category": p.category,
        }
        for p in (book.dnp if book else ())
    ]
    inactive = [
        {"name": p.name, "team": p.team, "status": "inactive", "reason": p.reason, "category": "inactive"}
        for p in (book.inactive if book else ())
    ]
    return {
        "active_players": active,
        "dnp_players": dnp,
        "inactive_players": inactive,
        "total_players": len(active) + len(dnp) + len(inactive),
        "active_count": len(active),
        "dnp_count": len(dnp),
        "inactive_count": len(inactive),
    }
