"""Fan-out in replay mode: a 30-game day through the service and `scrapers run-many`."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from scrapers.cli import main
from scrapers.cli.run_many import Progress
from scrapers.core.clock import SystemClock
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import Locations, Settings
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.jobs import plan_job, read_job
from scrapers.pipeline.runs import RunManager, RunRecord
from scrapers.pipeline.settings import ServiceSettings
from scrapers.pipeline.wiring import open_core
from tests.conftest import PROJECT_FIXTURES
from tests.service.fan_out_day import DAY, GAMES, write_fan_out_day
from tests.service.harness import GAME_DAY, GatedTransport, running_service

FAN_OUT = {"scraper": "nbac_scoreboard_v2", "gamedate": DAY.isoformat(), "fan_out": True}
BOUND = 4
SMALL_DAY = 6  # the other paths of the same code need fewer parsed PDFs


@pytest.fixture(scope="module")
def fan_out_fixtures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("fan-out-fixtures")
    return folder, write_fan_out_day(folder)


@pytest.fixture(scope="module")
def small_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("small-day-fixtures")
    return folder, write_fan_out_day(folder, games=SMALL_DAY)


def test_thirty_games_fan_out_with_bounded_concurrency_and_every_child_reported(
    fan_out_fixtures: tuple[Path, list[str]], tmp_path: Path
) -> None:
    fixtures, codes = fan_out_fixtures
    settings = ServiceSettings(fan_out_concurrency=BOUND, scraper_concurrency=2 * BOUND)

    async def scenario() -> None:
        # Gamebook requests wait at the gate, so the fan-out's bound is visible while it holds.
        gated = GatedTransport(
            ReplayTransport(fixtures), hold=lambda request: request.url.path.endswith(".pdf")
        )
        async with running_service(tmp_path, fixtures=fixtures, transport=gated, settings=settings) as svc:
            response = await svc.http.post("/scrape", params={"wait": "false"}, json=FAN_OUT)
            accepted = await response.json()
            assert response.status == 202
            await gated.arrivals(BOUND)
            progress = await (await svc.http.get(accepted["url"])).json()
            assert progress["state"] == "running"
            assert progress["status"] == "success", "the parent's own run is done; its children are not"
            children = progress["children"]
            assert (children["total"], children["running"], children["queued"], children["done"]) == (
                GAMES,
                BOUND,
                GAMES - BOUND,
                0,
            )
            gated.gate.set()
            record = svc.service.manager.get(accepted["run_id"])
            assert record is not None
            await record.finished.wait()
            assert gated.max_active == BOUND
            done = await (await svc.http.get(accepted["url"])).json()
            _check_children(done, codes, tmp_path)
            events = svc.events()
            assert len(events) == GAMES + 1
            assert {event["status"] for event in events} == {"success"}
            child = done["children"]["runs"][0]
            alone = await (await svc.http.get(f"/runs/{child['run_id']}")).json()
            assert alone["parent_id"] == done["run_id"]

    asyncio.run(scenario())


def test_a_waited_fan_out_answers_with_every_child(small_day: tuple[Path, list[str]], tmp_path: Path) -> None:
    fixtures, codes = small_day

    async def scenario() -> None:
        async with running_service(tmp_path, fixtures=fixtures) as svc:
            response = await svc.http.post("/scrape", json=FAN_OUT)
            body = await response.json()
            assert response.status == 200
            _check_children(body, codes, tmp_path)

    asyncio.run(scenario())


def _check_children(view: dict[str, Any], codes: list[str], out: Path) -> None:
    games = len(codes)
    assert (view["state"], view["status"], view["http_status"]) == ("done", "success", 200)
    assert view["result"]["record_count"] == games
    children = view["children"]
    assert children["scraper"] == "nbac_gamebook_pdf"
    assert (children["total"], children["done"], children["succeeded"], children["failed"]) == (
        games,
        games,
        games,
        0,
    )
    assert [run["label"] for run in children["runs"]] == codes
    for run, code in zip(children["runs"], codes, strict=True):
        assert run["options"]["game_code"] == code
        assert run["status"] == "success"
        assert run["result"]["record_count"] > 0
        json_path, pdf_path = (Path(p) for p in run["result"]["landed"])
        folder = out / "nba-com" / "gamebooks-data" / DAY.isoformat() / code.replace("/", "-")
        assert json_path.parent == folder
        assert pdf_path.suffix == ".pdf"
        assert pdf_path.is_file()


def test_event_fan_out_passes_the_date_and_child_options_and_reports_every_child(tmp_path: Path) -> None:
    events = json.loads((PROJECT_FIXTURES / "oddsapi" / "oddsa_events-2024-01-15.body.json").read_text())
    job = {"scraper": "oddsa_events", "game_date": GAME_DAY, "fan_out": True}

    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            response = await svc.http.post(
                "/scrape", json={**job, "child_options": {"markets": "player_points"}}
            )
            body = await response.json()
            runs = body["children"]["runs"]
            assert [run["label"] for run in runs] == [event["id"] for event in events]
            assert {run["options"]["game_date"] for run in runs} == {GAME_DAY}
            outcomes = sorted(run["status"] or run["error"]["type"] for run in runs)
            # Two events have recordings (props, and a 204 without props); two have none: a replay
            # miss is bad input (400), and a fan-out answers its highest code.
            assert outcomes == ["no_data", "replay_miss", "replay_miss", "success"]
            assert response.status == 400 == body["http_status"]
            for bad, problem in (
                ({"nope": "x"}, "child_options.nope"),
                ({"event_id": "abc"}, "is set from each parent ref"),
                ({"oddsFormat": "roman"}, "not one of american, decimal"),
            ):
                rejected = await svc.http.post("/scrape", json={**job, "child_options": bad})
                assert rejected.status == 400
                assert problem in (await rejected.json())["error"]

    asyncio.run(scenario())


def test_run_many_fans_out_from_the_command_line_with_plain_progress_lines(
    small_day: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures, codes = small_day
    runs = len(codes) + 1
    argv = ["run-many", "nbac_scoreboard_v2", "--gamedate", DAY.isoformat(), "--replay", str(fixtures)]
    code = main([*argv, "--out", str(tmp_path), "--concurrency", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    progress = captured.err.splitlines()
    assert len(progress) == runs
    assert progress[0] == f"[1/1] nbac_scoreboard_v2: success, {len(codes)} records"
    assert progress[-1].startswith(f"[{runs}/{runs}] nbac_gamebook_pdf ")
    table = captured.out.splitlines()
    assert len(table) == 2 + runs
    assert sum(line.startswith("nbac_gamebook_pdf   success") for line in table) == len(codes)
    completions = (tmp_path / "_events" / "completions.jsonl").read_text().splitlines()
    assert len(completions) == runs


def test_run_many_reads_jobs_files_in_the_service_shape_or_the_demo_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        f"  - {{scraper: nbac_scoreboard_v2, gamedate: {GAME_DAY}}}\n"  # unquoted: YAML reads a date
        f"  - scraper: oddsa_events\n    options: {{game_date: '{GAME_DAY}'}}\n",
        encoding="utf-8",
    )
    code = main(["run-many", "--file", str(jobs), "--replay", "--out", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    views = json.loads(captured.out)
    assert [(view["scraper"], view["status"]) for view in views] == [
        ("nbac_scoreboard_v2", "success"),
        ("oddsa_events", "success"),
    ]
    assert "children" not in views[0], "a job fans out only when it says so"
    jobs.write_text("jobs:\n  - {scraper: oddsa_events}\n", encoding="utf-8")
    assert main(["run-many", "--file", str(jobs), "--replay"]) == 2
    assert "option 'game_date': is required and missing" in capsys.readouterr().err
    jobs.write_text("jobs: []\n", encoding="utf-8")
    assert main(["run-many", "--file", str(jobs)]) == 2
    assert "lists no jobs" in capsys.readouterr().err
    assert main(["run-many", "bdl_games", "--child-option", "x=1", "--replay"]) == 2
    assert "--child-option needs a fan-out parent" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_updating_line(
    small_day: tuple[Path, list[str]], tmp_path: Path
) -> None:
    fixtures, codes = small_day
    runs = len(codes) + 1
    terminal = _Terminal()
    progress = Progress(terminal)

    async def scenario() -> list[RunRecord]:
        registry = load_registry()
        core = await open_core(
            registry,
            Locations(str(tmp_path), fixtures),
            registry.scrapers.values(),
            ReplayTransport(fixtures),
            Redactor(),
            replay=True,
            env=Settings.from_env({}),
        )
        manager = RunManager(core, ServiceSettings(), trigger_source="replay", on_change=progress.update)
        try:
            assert manager.try_admit()
            record = manager.submit(plan_job(read_job(FAN_OUT, registry.names()), registry, SystemClock()))
            await record.finished.wait()
            return [record]
        finally:
            await core.aclose()

    asyncio.run(scenario())
    progress.close()
    text = terminal.getvalue()
    assert text.count("\n") == 1, "one line, rewritten in place"
    assert text.endswith("\n")
    assert text.count("\r\x1b[K") > runs
    final = text.rsplit("\r\x1b[K", 1)[1]
    assert final.startswith(f"[{runs}/{runs}] {runs} success · 0 running")
