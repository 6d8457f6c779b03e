"""NBA season arithmetic, in one place. A season starts in October: 2024-01-04 is in 2023-24."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

SEASON_START_MONTH = 10
_SEASON_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True, order=True)
class Season:
    start_year: int

    @classmethod
    def of(cls, day: date) -> Season:
        return cls(day.year if day.month >= SEASON_START_MONTH else day.year - 1)

    @classmethod
    def parse(cls, text: str) -> Season:
        """Accepts `2023` (the start year) or `2023-24`; raises ValueError otherwise."""
        match = _SEASON_RE.match(text.strip())
        if not match:
            raise ValueError(f"'{text}' is not a season; use the start year or YYYY-YY")
        start = int(match.group(1))
        if match.group(2) is not None and int(match.group(2)) != (start + 1) % 100:
            raise ValueError(f"'{text}' is not a season: {start} is followed by {(start + 1) % 100:02d}")
        return cls(start)

    @property
    def nba_format(self) -> str:
        """`2023-24`, the form NBA.com, the paths and the documents use."""
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    def __str__(self) -> str:
        return self.nba_format
