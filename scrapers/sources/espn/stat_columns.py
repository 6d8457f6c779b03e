"""The stat columns of an ESPN box score, shared by the parse, the validators and the player lines.

Their own module because the scraper module imports the validators, which must not import it back.
"""

from __future__ import annotations

# The 14 columns every landed stat line has, in order; downstream reads them by position, so a
# page with other columns is a changed source, not something to land.
STAT_LABELS = ("MIN", "FG", "3PT", "FT", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TO", "PF", "+/-", "PTS")
