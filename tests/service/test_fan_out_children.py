"""Several children per parent: `fan_out: true` runs the defaults, a list runs the children named."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from tests.service.harness import GAME_DAY, running_service

SCOREBOARD = {"scraper": "nbac_scoreboard_v2", "game_date": GAME_DAY}
# The demo day's scoreboard lists four games; the project's fixtures hold one team box score
# (0022300601) and one gamebook (20240115/GSWMEM): the others are replay misses, reported per child.


def test_a_named_child_runs_per_game_and_true_keeps_the_default_child(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            named = await (
                await svc.http.post("/scrape", json={**SCOREBOARD, "fan_out": ["nbac_team_boxscore"]})
            ).json()
            runs = named["children"]["runs"]
            assert named["children"]["scraper"] == "nbac_team_boxscore"
            assert {run["scraper"] for run in runs} == {"nbac_team_boxscore"}
            assert len(runs) == 4
            assert all(run["options"]["game_date"] == GAME_DAY for run in runs)
            outcomes = Counter(run["status"] or run["error"]["type"] for run in runs)
            assert outcomes == Counter({"success": 1, "replay_miss": 3})
            assert next(r for r in runs if r["status"] == "success")["options"]["game_id"] == "0022300601"

            both = await (
                await svc.http.post(
                    "/scrape", json={**SCOREBOARD, "fan_out": ["nbac_gamebook_pdf", "nbac_team_boxscore"]}
                )
            ).json()
            assert Counter(run["scraper"] for run in both["children"]["runs"]) == Counter(
                {"nbac_gamebook_pdf": 4, "nbac_team_boxscore": 4}
            )

            default = await (await svc.http.post("/scrape", json={**SCOREBOARD, "fan_out": True})).json()
            assert {run["scraper"] for run in default["children"]["runs"]} == {"nbac_gamebook_pdf"}

            unknown = await svc.http.post("/scrape", json={**SCOREBOARD, "fan_out": ["bdl_games"]})
            assert unknown.status == 400
            assert "has no child bdl_games" in (await unknown.json())["error"]
            listed = await (await svc.http.get("/scrapers")).json()
            by_name = {row["name"]: row for row in listed["scrapers"]}
            assert by_name["nbac_schedule_api"]["fan_out"] is None
            assert {c["scraper"]: c["default"] for c in by_name["oddsa_events_his"]["children"]} == {
                "oddsa_player_props_his": True,
                "oddsa_game_lines_his": False,
            }

    asyncio.run(scenario())
