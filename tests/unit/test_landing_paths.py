"""Object paths: jobs filtered to different entities never compete for one path, and any number
of runs land in one second without a failure or a name from the future.

The runner lands through the real file sink and outbox; the upstream is an httpx transport
answering each request (the runner's own transport seam), since what is under test is the path.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from scrapers.core.clock import FrozenClock
from scrapers.core.registry import inspect_registry, load_registry
from scrapers.core.result import RunResult
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
INJURIES = json.loads((PROJECT_FIXTURES / "bdl" / "bdl_injuries-league.body.json").read_bytes())
RUNS_IN_ONE_SECOND = 300


def _runs(out: Path, options: list[dict[str, object]], *, vary: bool = False) -> list[RunResult]:
    """One bdl_injuries run per options, all at the same frozen second; `vary` makes every body
    different (a changing upstream), so no run is `already_landed`."""
    registry = load_registry()
    served = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal served
        served += 1
        body = json.loads(json.dumps(INJURIES))
        if vary:
            body["data"][0]["description"] = f"update {served}"  # lands in the document
        return httpx.Response(200, json=body)

    async def go() -> list[RunResult]:
        fetcher = Fetcher(
            transport=httpx.MockTransport(answer), secrets={"BDL_API_KEY": "k"}.get, throttle=False
        )
        ids = iter(range(1, len(options) + 1))
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(out),
            events=local_delivery(out),
            clock=CLOCK,
            redactor=fetcher.redactor,
            new_run_id=lambda: f"run{next(ids):04d}",
        )
        try:
            jobs = [prepare(registry, "bdl_injuries", option, CLOCK) for option in options]
            return list(await asyncio.gather(*(run_job(job, ctx) for job in jobs)))
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_jobs_filtered_to_different_teams_land_in_their_own_entity_folders(tmp_path: Path) -> None:
    league, team, player = _runs(tmp_path, [{}, {"team_id": 14}, {"team_id": 14, "player_id": 900102}])

    folder = tmp_path / "ball-dont-lie" / "injuries" / "2024-01-15"
    assert Path(league.landed[0]) == folder / "20240116_030000.json"  # unfiltered: the old path
    assert Path(team.landed[0]) == folder / "team_14" / "20240116_030000.json"
    assert Path(player.landed[0]) == folder / "team_14-player_900102" / "20240116_030000.json"
    assert not any(run.already_landed for run in (league, team, player))


def test_hundreds_of_runs_in_one_second_all_land_and_none_in_a_later_second(tmp_path: Path) -> None:
    runs = _runs(tmp_path, [{"team_id": 14}] * RUNS_IN_ONE_SECOND, vary=True)

    assert [run.status.value for run in runs] == ["success"] * RUNS_IN_ONE_SECOND
    names = sorted(Path(run.landed[0]).name for run in runs)
    assert len(set(names)) == RUNS_IN_ONE_SECOND
    assert all(name.startswith("20240116_030000") for name in names), "a name from a later second"
    # One run holds the second's own name; each other is named by its run id, beside it.
    first = [run for run in runs if Path(run.landed[0]).name == "20240116_030000.json"]
    assert len(first) == 1
    others = {Path(run.landed[0]).name for run in runs if run is not first[0]}
    assert others == {f"20240116_030000-{run.run_id}.json" for run in runs if run is not first[0]}


def test_an_entity_naming_no_option_is_a_registry_problem(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "registry.yaml").read_text(encoding="utf-8")
    broken = text.replace('entity: ["team_{team_id}"]', 'entity: ["team_{teamid}"]', 1)
    assert broken != text
    path = tmp_path / "registry.yaml"
    path.write_text(broken, encoding="utf-8")

    _, problems = inspect_registry(path)

    assert any("entity 'team_{teamid}' must be one path segment naming options" in p for p in problems)
