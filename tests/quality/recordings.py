"""Every real recording in ../shared/fixtures/recorded/ as the document our scraper would land.

Each entry names the recording, the registered scraper that lands it and the options of the run
that produced it; `landed()` runs the raw body through the core's `to_page` and the scraper's pure
parse. Recordings no registered scraper lands, or whose body our scraper rejects, are listed in
`NOT_LANDED` with the one-line reason. Files are read in place, never copied.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers.core.clock import FrozenClock
from scrapers.core.options import option_to_text, resolve_options
from scrapers.core.registry import load_registry
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.http.decode import to_page
from tests.gamebook_pdf import gamebook_from_landed, render, true_inactive

CTX = ParseContext(fetched_at=datetime(2025, 7, 18, 3, 0, tzinfo=UTC), run_id="quality1")
CLOCK = FrozenClock(datetime(2025, 7, 18, 3, 0, tzinfo=UTC))
CONTENT_TYPES = {".json": "application/json", ".html": "text/html; charset=utf-8", ".pdf": "application/pdf"}


@dataclass(frozen=True)
class Recording:
    folder: str  # the recorded/<folder> directory (old registry name)
    raw: str  # file name inside it
    scraper: str  # our registry name
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.folder}/{self.raw}"


RECORDINGS: tuple[Recording, ...] = (
    Recording("bdl_active_players", "raw_ac3e7bd3.json", "bdl_active_players"),
    Recording("bdl_box_scores", "raw_7a649e12.json", "bdl_box_scores", {"date": "2024-01-15"}),
    Recording("bdl_box_scores", "raw_d62cc934.json", "bdl_box_scores", {"date": "2024-02-16"}),
    Recording(
        "bdl_games", "raw_278cb9ed.json", "bdl_games", {"startDate": "2025-02-20", "endDate": "2025-02-20"}
    ),
    Recording("bdl_injuries", "raw_49fd60fb.json", "bdl_injuries"),
    Recording("bdl_live_box_scores", "raw_1575e0a5.json", "bdl_live_box_scores"),
    Recording("bdl_odds", "raw_99fa8981.json", "bdl_odds", {"date": "2025-07-17"}),
    Recording(
        "bdl_player_box_scores",
        "raw_1db4c01e.json",
        "bdl_player_box_scores",
        {"startDate": "2025-06-22", "endDate": "2025-06-22"},
    ),
    Recording("bdl_players", "raw_e640d907.json", "bdl_players"),
    Recording("bdl_standings", "raw_395a0451.json", "bdl_standings", {"season": "2024"}),
    Recording("bdl_teams", "raw_cf664c89.json", "bdl_teams"),
    Recording(
        "bdl_game_adv_stats",
        "raw_b3f29455.json",
        "bdl_game_adv_stats",
        {"startDate": "2025-06-22", "endDate": "2025-06-22"},
    ),
    Recording("bdl_game_detail", "raw_67b124b3.json", "bdl_game_detail", {"gameId": "18444564"}),
    Recording(
        "bdl_player_averages",
        "raw_b3b52a03.json",
        "bdl_player_averages",
        {"season": "2024", "playerIds": "237,115,140"},
    ),
    Recording("bdl_player_detail", "raw_2e2e5189.json", "bdl_player_detail", {"playerId": "237"}),
    Recording(
        "bdl_player_leaders", "raw_16873861.json", "bdl_player_leaders", {"season": "2024", "statType": "reb"}
    ),
    Recording("bdl_team_detail", "raw_0699ab13.json", "bdl_team_detail", {"teamId": "2"}),
    Recording("bp_events", "raw_75470647.json", "bp_events", {"date": "2021-10-21"}),
    Recording("bp_events", "raw_865cd116.json", "bp_events", {"date": "2021-10-21"}),
    *(
        Recording(
            "espn_game_boxscore",
            f"raw_{run}.html.gz",
            "espn_game_boxscore",
            {"game_id": "401585183", "gamedate": "2024-01-15", "skipJson": skip},
        )
        for run in ("6f34c64b", "fbd5b07e", "da177814")
        for skip in ("false", "true")
    ),
    Recording("espn_roster_api", "raw_2.json", "espn_roster", {"team_abbr": "BOS"}),
    Recording("espn_scoreboard_api", "raw_92de7c9a.json", "espn_scoreboard", {"gamedate": "2024-01-15"}),
    Recording("espn_scoreboard_api", "raw_c0c50c83.json", "espn_scoreboard", {"gamedate": "2024-01-15"}),
    Recording("espn_scoreboard_api", "raw_20250214.json", "espn_scoreboard", {"gamedate": "2025-02-14"}),
    Recording(
        "nbac_injury_report",
        "raw_f4391904.pdf",
        "nbac_injury_report",
        {"gamedate": "2024-01-04", "hour": "12", "period": "PM"},
    ),
    Recording(
        "nbac_play_by_play",
        "raw_14ecf360.json.gz",
        "nbac_play_by_play",
        {"game_id": "0022400500", "gamedate": "2025-01-06"},
    ),
    Recording(
        "nbac_play_by_play",
        "raw_416e8d5c.json.gz",
        "nbac_play_by_play",
        {"game_id": "0022400561", "gamedate": "2025-01-15"},
    ),
    Recording(
        "nbac_player_boxscore", "raw_2ad17718.json", "nbac_player_boxscore", {"gamedate": "2025-03-15"}
    ),
    Recording("nbac_player_list", "raw_7af00b51.json", "nbac_player_list", {"season": "2025"}),
    Recording("nbac_player_movement", "raw_1ecdb80d.json.gz", "nbac_player_movement", {"year": "2025"}),
    Recording(
        "nbac_referee_assignments", "raw_718e62b3.json", "nbac_referee_assignments", {"date": "2025-01-08"}
    ),
    Recording("nbac_roster", "raw_79002ff4.html.gz", "nbac_roster", {"team_abbr": "GSW"}),
    Recording("nbac_schedule_api", "raw_80cb1fd6.json.gz", "nbac_schedule_api", {"season": "2024"}),
    Recording("nbac_schedule_cdn", "raw_68953816.json", "nbac_schedule_cdn"),
    Recording("nbac_scoreboard_v2", "raw_055ff78d.json", "nbac_scoreboard_v2", {"gamedate": "2024-01-15"}),
    Recording(
        "oddsa_events_his",
        "raw_4c3bc8f6.json",
        "oddsa_events_his",
        {"game_date": "2024-01-24", "snapshot_timestamp": "2024-01-25T03:55:00Z"},
    ),
    *(
        Recording(
            folder,
            raw,
            "oddsa_game_lines_his",
            {
                "event_id": "cd0bc7d0c238f4446ce1c03d0cea7ec4",
                "game_date": "2024-01-24",
                "snapshot_timestamp": "2024-01-25T03:55:00Z",
                "bookmakers": "draftkings,fanduel",
            },
        )
        # The player-props recording holds spreads/totals (see the shared README): it lands as lines.
        for folder, raw in (
            ("oddsa_game_lines_his", "raw_b722994c.json"),
            ("oddsa_player_props_his", "raw_815b3ee3.json"),
        )
    ),
)

# The gamebook recording is only a landed document (its PDF was damaged): it is rendered in the
# real layout by tests/gamebook_pdf.py and parsed back, as the gamebook conformance test does.
GAMEBOOK = Recording(
    "nbac_gamebook_pdf", "exp_0173bcd1.json", "nbac_gamebook_pdf", {"game_code": "20240410/MEMCLE"}
)

NOT_LANDED: Mapping[str, str] = {
    "espn_roster": "the old HTML roster page; espn_roster reads the site API (espn_roster_api is validated)",
    "nbac_team_boxscore": "a deprecated V2 answer, which nbac_team_boxscore rejects as structural",
}


def raw_bytes(shared: Path, recording: Recording) -> bytes:
    data = (shared / "recorded" / recording.folder / recording.raw).read_bytes()
    return gzip.decompress(data) if recording.raw.endswith(".gz") else data


def _content_type(name: str) -> str:
    stem = name.removesuffix(".gz")
    return next(kind for suffix, kind in CONTENT_TYPES.items() if stem.endswith(suffix))


def landed(shared: Path, recording: Recording) -> tuple[type[Scraper[Any]], Parsed, dict[str, Any]]:
    """The scraper class, the parse and the resolved options (as texts) of one recording."""
    entry = load_registry().get(recording.scraper)
    cls = entry.load_class()
    resolved = resolve_options(entry.options, recording.options, CLOCK)
    opts = cls.options_type(**resolved)
    body, content_type = raw_bytes(shared, recording), _content_type(recording.raw)
    if recording == GAMEBOOK:
        document = json.loads(body)
        body, content_type = (
            render(gamebook_from_landed(document, true_inactive(document))),
            "application/pdf",
        )
    scraper = cls()
    page = to_page(scraper.requests(opts)[0], 200, {"content-type": content_type}, body)
    texts = {name: option_to_text(value) for name, value in resolved.items() if value is not None}
    return cls, scraper.parse(opts, [page], CTX), texts
