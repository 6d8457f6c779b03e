"""Reading NBA.com JSON answers: stats.nba.com `resultSets` tables and the checks every NBA.com parser shares.

stats.nba.com endpoints of the V2 family answer `{"resource", "parameters", "resultSets": [...]}`
where each result set is a table (`name`, `headers`, `rowSet`). Reading them strictly here means a
renamed table, a dropped column or a short row is one ParseError (structural), never a quiet gap.

The other helpers are the small facts every NBA.com parser needs: exactly one page per request, a
JSON object where an object is expected, the game-id format, and the reason a 204 means no data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from scrapers.core.errors import OptionError, ParseError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Page

Row = Mapping[str, Any]

# `0022300601`: league `00`, season type digit, two-digit season start year, five-digit sequence.
# `[0-9]`, not `\d`: a Unicode digit must not pass for an id that enters a path and a URL.
GAME_ID_PATTERN = r"00[0-9]{8}"
GAME_ID_SHAPE = "a 10-digit NBA game id (00 then 8 digits)"
GAME_ID_RE = re.compile(f"^{GAME_ID_PATTERN}$")
GAME_ID_EXAMPLE = "0022300601"


def single_page(pages: Sequence[Page], endpoint: str) -> Page:
    # One request, one page: anything else is a runner bug, not an upstream change.
    if len(pages) != 1:
        raise ValueError(f"{endpoint} parses exactly one page, got {len(pages)}")
    return pages[0]


def no_content_reason(page: Page, what: str) -> str | None:
    """Why a clean no-content answer (HTTP 204) is no data, or None for a page with a body."""
    if page.outcome is Outcome.NO_DATA:
        return f"{page.request.host} answered HTTP {page.status} without content for {what}"
    return None


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{what} is not a JSON object but {type(value).__name__}")
    return value


def json_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError(f"{what} is not a JSON list but {type(value).__name__}")
    return value


def check_game_id(option: str, game_id: str) -> None:
    """Reject an id that cannot be an NBA game before any request is spent on it."""
    if not GAME_ID_RE.match(game_id):
        raise OptionError(option, f"'{game_id}' is not a 10-digit NBA game id", GAME_ID_EXAMPLE)


def result_sets(data: Any, endpoint: str) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("resultSets"), list):
        raise ParseError(f"{endpoint} body is not an object with a 'resultSets' list")
    sets: list[Any] = data["resultSets"]
    return sets


def check_echoed_date(data: Mapping[str, Any], parameter: str, day: date, endpoint: str) -> None:
    """stats.nba.com echoes the date it answered; another day's rows must never land under ours."""
    parameters = data.get("parameters")
    answered = parameters.get(parameter) if isinstance(parameters, dict) else None
    if not isinstance(answered, str):
        return
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            echoed = datetime.strptime(answered, fmt).date()
        except ValueError:
            continue
        if echoed != day:
            raise ParseError(f"{endpoint} answered {parameter} {answered}, not the requested {day}")
        return


def table(sets: list[Any], name: str, required: tuple[str, ...], endpoint: str) -> list[Row]:
    """One named result set as a list of column-name -> value rows."""
    found = next((rs for rs in sets if isinstance(rs, dict) and rs.get("name") == name), None)
    if found is None:
        raise ParseError(f"{endpoint} has no '{name}' result set")
    columns, rows = found.get("headers"), found.get("rowSet")
    if not (
        isinstance(columns, list) and all(isinstance(c, str) for c in columns) and isinstance(rows, list)
    ):
        raise ParseError(f"{endpoint} '{name}' lacks a 'headers' list of names or a 'rowSet' list")
    missing = [column for column in required if column not in columns]
    if missing:
        raise ParseError(f"{endpoint} '{name}' lacks the columns {', '.join(missing)}")
    rows_out: list[Row] = []
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ParseError(f"{endpoint} '{name}' row {index} does not have its {len(columns)} columns")
        rows_out.append(dict(zip(columns, row, strict=True)))
    return rows_out
