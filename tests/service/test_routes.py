"""Every route over real loopback HTTP, in replay mode: results, errors, the CLI's messages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from scrapers.cli import main
from scrapers.core.clock import FrozenClock
from scrapers.core.registry import load_registry
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.runner import prepare
from scrapers.service.app import create_app
from tests.conftest import PROJECT_FIXTURES
from tests.service.harness import GAME_DAY, REPLAYED_AT, SCOREBOARD, GatedTransport, running_service


def test_scrape_runs_the_job_and_answers_its_typed_result(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            response = await svc.http.post("/scrape", json=SCOREBOARD)
            body = await response.json()
            assert response.status == 200, body
            assert response.headers["X-Run-Id"] == body["run_id"]
            result = body["result"]
            assert (body["state"], body["status"], body["http_status"]) == ("done", "success", 200)
            assert result["run_id"] == body["run_id"]
            assert result["record_count"] == 4
            assert result["failure_class"] is None
            landed = Path(result["landed"][0])
            assert landed.parent == tmp_path / "nba-com" / "scoreboard-v2" / GAME_DAY
            assert len(json.loads(landed.read_text())["games"]) == 4
            (event,) = svc.events()
            assert (event["execution_id"], event["status"], event["trigger_source"]) == (
                body["run_id"],
                "success",
                "replay",
            )
            summary = tmp_path / "_runs" / "nbac_scoreboard_v2" / f"{body['run_id']}.json"
            assert json.loads(summary.read_text())["status"] == "success"
            # GET /runs/{id} reports the same run.
            again = await (await svc.http.get(f"/runs/{body['run_id']}")).json()
            assert again == body

    asyncio.run(scenario())


def test_query_string_job_resolves_date_keywords_exactly_as_the_cli(tmp_path: Path) -> None:
    clock = FrozenClock(REPLAYED_AT)
    expected = prepare(load_registry(), "nbac_scoreboard_v2", {"gamedate": "TODAY"}, clock).option_texts()

    async def scenario() -> None:
        async with running_service(tmp_path, clock=clock) as svc:
            response = await svc.http.post(
                "/scrape", params={"scraper": "nbac_scoreboard_v2", "gamedate": "TODAY"}
            )
            body = await response.json()
            assert response.status == 200, body
            assert body["options"] == expected == {"game_date": GAME_DAY}
            # Old keys of the old body are accepted; `source` and `workflow` reach the completion.
            legacy = {
                **SCOREBOARD,
                "group": "prod",
                "debug": True,
                "source": "CONTROLLER",
                "workflow": "post_game",
            }
            response = await svc.http.post("/scrape", json=legacy)
            assert response.status == 200, await response.text()
            event = svc.events()[-1]
            assert event["trigger_source"] == "CONTROLLER"
            assert event["metadata"]["workflow"] == "post_game"

    asyncio.run(scenario())


# (body, CLI arguments giving the same problem) -> the service's `error` is the CLI's message.
SAME_AS_CLI = [
    ({"scraper": "oddsa_events"}, ["run", "oddsa_events"]),
    (
        {"scraper": "nbac_scoreboard_v2", "gamedate": "2024-02-30"},
        ["run", "nbac_scoreboard_v2", "--gamedate", "2024-02-30"],
    ),
    (
        {"scraper": "nbac_scoreboard_v2", "gamedat": GAME_DAY},
        ["run", "nbac_scoreboard_v2", "--gamedat", GAME_DAY],
    ),
    (
        {"scraper": "bdl_games", "startDate": "2024-01-16", "endDate": GAME_DAY},
        ["run", "bdl_games", "--startDate", "2024-01-16", "--endDate", GAME_DAY],
    ),
    ({"scraper": "nbac_scoreboard"}, ["run", "nbac_scoreboard"]),
    (
        {"scraper": "nbac_scoreboard_v2", "gamedate": "2023-06-01"},
        ["run", "nbac_scoreboard_v2", "--gamedate", "2023-06-01"],
    ),
]


@pytest.mark.parametrize(
    ("body", "argv"), SAME_AS_CLI, ids=lambda v: json.dumps(v) if isinstance(v, dict) else ""
)
def test_bad_requests_answer_400_with_the_cli_message(
    body: dict[str, Any], argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--replay", "--out", str(tmp_path / "cli")]) == 2
    cli_message = capsys.readouterr().err.strip().removeprefix("error: ")

    async def scenario() -> dict[str, Any]:
        async with running_service(tmp_path / "service") as svc:
            response = await svc.http.post("/scrape", json=body)
            assert response.status == 400
            answer: dict[str, Any] = await response.json()
            assert not svc.events(), "nothing may run or publish for a bad request"
            return answer

    answer = asyncio.run(scenario())
    # A replay miss happens inside the run: its view carries the message as the run's error.
    message = answer["error"]["message"] if answer.get("state") == "done" else answer["error"]
    assert message == cli_message
    if body["scraper"] == "nbac_scoreboard":
        assert "nbac_scoreboard_v2" in answer["available_scrapers"]


MALFORMED = [
    ("POST", "/scrape", b"{not json", {}, "is not JSON"),
    ("POST", "/scrape", b"[1, 2]", {}, "a job is a JSON object"),
    ("POST", "/scrape", b"{}", {}, "'scraper' (a scraper name) is required"),
    ("POST", "/scrape", b'{"scraper": 7}', {}, "'scraper' (a scraper name) is required"),
    ("POST", "/scrape", b"\xff\xfe", {}, "is not JSON"),
    ("POST", "/scrape", b'{"scraper": "nbac_scoreboard_v2", "gamedate": NaN}', {}, "option 'game_date'"),
    ("POST", "/scrape", b"[" * 20_000 + b"]" * 20_000, {}, "is not JSON"),
    (
        "POST",
        "/scrape",
        json.dumps({**SCOREBOARD, "fan_out": "maybe"}).encode(),
        {},
        "'fan_out' is true or false",
    ),
    ("POST", "/scrape", json.dumps({**SCOREBOARD, "deadline_seconds": -1}).encode(), {}, "positive number"),
    ("POST", "/scrape", json.dumps({**SCOREBOARD, "workflow": "a b"}).encode(), {}, "'workflow' is 1 to 64"),
    ("POST", "/scrape", json.dumps({**SCOREBOARD, "child_options": {"x": 1}}).encode(), {}, "needs"),
    (
        "POST",
        "/scrape",
        json.dumps({**SCOREBOARD, "url": "http://example.com/"}).encode(),
        {},
        "option 'url'",
    ),
    (
        "POST",
        "/scrape",
        json.dumps({"scraper": "bdl_games", "fan_out": True}).encode(),
        {},
        "option 'fan_out'",
    ),
    ("POST", "/scrape", json.dumps(SCOREBOARD).encode(), {"wait": "maybe"}, "'wait' is true or false"),
    ("POST", "/scrape", json.dumps(SCOREBOARD).encode(), {"scraper": "x"}, "not both"),
    ("POST", "/scrape", b"", {}, "'scraper' (a scraper name) is required"),
    ("POST", "/batch", b"", {}, "body is empty"),
    ("POST", "/batch", b"[]", {}, "a batch is a list of 1 to 100 jobs"),
    ("POST", "/batch", b'{"jobs": {}}', {}, "a batch is a list"),
    ("POST", "/republish", b"", {"older_than": "-1"}, "'older_than' is a number of seconds"),
    ("POST", "/republish", b"", {"older_than": "nan"}, "'older_than' is a number of seconds"),
]


@pytest.mark.parametrize(("method", "path", "body", "params", "expected"), MALFORMED)
def test_malformed_requests_answer_400_naming_the_problem(
    method: str, path: str, body: bytes, params: dict[str, str], expected: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            response = await svc.http.request(method, path, data=body, params=params)
            answer = await response.json()
            assert response.status == 400, answer
            assert expected in answer["error"]
            assert svc.service.manager.in_flight == 0

    asyncio.run(scenario())


def test_unknown_scraper_lists_every_valid_name(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            response = await svc.http.post("/scrape", json={"scraper": "espn_box"})
            answer = await response.json()
            assert response.status == 400
            assert answer["available_scrapers"] == load_registry().names()
            missing = await (await svc.http.post("/scrape", json={"gamedate": GAME_DAY})).json()
            assert missing["available_scrapers"] == load_registry().names()

    asyncio.run(scenario())


def test_wait_false_answers_202_and_runs_report_progress_then_the_result(tmp_path: Path) -> None:
    async def scenario() -> None:
        gated = GatedTransport(ReplayTransport(PROJECT_FIXTURES))
        async with running_service(tmp_path, transport=gated) as svc:
            response = await svc.http.post("/scrape", params={"wait": "false"}, json=SCOREBOARD)
            accepted = await response.json()
            assert response.status == 202
            assert response.headers["Location"] == accepted["url"] == f"/runs/{accepted['run_id']}"
            await gated.arrivals(1)
            running = await (await svc.http.get(accepted["url"])).json()
            assert (running["state"], running["status"], running["http_status"], running["result"]) == (
                "running",
                None,
                None,
                None,
            )
            gated.gate.set()
            record = svc.service.manager.get(accepted["run_id"])
            assert record is not None
            await record.finished.wait()
            done = await (await svc.http.get(accepted["url"])).json()
            assert (done["state"], done["status"], done["http_status"]) == ("done", "success", 200)
            assert done["result"]["record_count"] == 4

    asyncio.run(scenario())


def test_batch_starts_every_job_or_none(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            jobs = [SCOREBOARD, {"scraper": "oddsa_events", "game_date": GAME_DAY}]
            response = await svc.http.post("/batch", json={"jobs": jobs})
            accepted = await response.json()
            assert response.status == 202, accepted
            assert [run["scraper"] for run in accepted["runs"]] == ["nbac_scoreboard_v2", "oddsa_events"]
            for run in accepted["runs"]:
                record = svc.service.manager.get(run["run_id"])
                assert record is not None
                await record.finished.wait()
                view = await (await svc.http.get(run["url"])).json()
                assert view["status"] == "success"
            bad = await svc.http.post(
                "/batch", json=[SCOREBOARD, {"scraper": "oddsa_events"}, {"scraper": "nope"}]
            )
            answer = await bad.json()
            assert bad.status == 400
            assert answer["error"] == "2 of 3 jobs are invalid; none was started"
            assert [problem["index"] for problem in answer["problems"]] == [1, 2]
            assert "game_date" in answer["problems"][0]["error"]
            assert len(svc.events()) == 2, "the invalid batch started nothing"

    asyncio.run(scenario())


def test_lookups_routes_and_methods(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            missing = await svc.http.get("/runs/0123456789abcdef")
            assert missing.status == 404
            assert "no such run" in (await missing.json())["error"]
            assert (await svc.http.get("/nowhere")).status == 404
            wrong = await svc.http.get("/scrape")
            assert wrong.status == 405
            assert wrong.headers["Allow"] == "POST"
            assert "method not allowed" in (await wrong.json())["error"]

    asyncio.run(scenario())


def test_scrapers_lists_the_registry_with_fan_out_children(tmp_path: Path) -> None:
    registry = load_registry()

    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            body = await (await svc.http.get("/scrapers")).json()
            assert body["count"] == len(registry.scrapers)
            by_name = {row["name"]: row for row in body["scrapers"]}
            assert list(by_name) == registry.names()
            assert by_name["nbac_scoreboard_v2"]["fan_out"] == "nbac_gamebook_pdf"
            assert by_name["oddsa_events"]["fan_out"] == "oddsa_player_props"
            assert by_name["bdl_games"]["fan_out"] is None
            game_code = by_name["nbac_gamebook_pdf"]["options"][0]
            assert (game_code["name"], game_code["type"], game_code["required"]) == ("game_code", "str", True)

    asyncio.run(scenario())


def test_health_never_asks_a_dependency_and_ready_checks_store_and_sink(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the output folder should be")

    async def scenario() -> None:
        async with running_service(tmp_path / "out") as svc:
            health = await (await svc.http.get("/health")).json()
            assert (health["status"], health["mode"], health["in_flight"]) == ("ok", "replay", 0)
            ready = await svc.http.get("/ready")
            assert ready.status == 200
            assert await ready.json() == {"status": "ready", "checks": {"state_store": "ok", "sink": "ok"}}
        async with running_service(blocked) as svc:
            ready = await svc.http.get("/ready")
            body = await ready.json()
            assert ready.status == 503
            assert body["status"] == "not_ready"
            assert body["checks"]["state_store"] == "ok"
            assert body["checks"]["sink"].startswith("FileExistsError")
            assert (await svc.http.get("/health")).status == 200

    asyncio.run(scenario())


def test_ready_reports_an_unreachable_state_store(tmp_path: Path) -> None:
    from tests.harness import free_port

    env = {"COURTSIDE_STATE": f"redis://127.0.0.1:{free_port()}/0"}

    async def scenario() -> None:
        async with running_service(tmp_path, replay=False, env=env) as svc:
            ready = await svc.http.get("/ready")
            body = await ready.json()
            assert ready.status == 503
            assert body["checks"]["sink"] == "ok"
            assert body["checks"]["state_store"] != "ok"
            assert (await svc.http.get("/health")).status == 200

    asyncio.run(scenario())


def test_metrics_are_the_fleet_metrics_the_fetcher_feeds(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            assert (await svc.http.post("/scrape", json=SCOREBOARD)).status == 200
            assert (await svc.http.post("/scrape", json={"scraper": "nope"})).status == 400
            response = await svc.http.get("/metrics")
            assert response.status == 200
            assert response.content_type == "text/plain"
            text = await response.text()
            assert 'scraper_runs_total{scraper="nbac_scoreboard_v2",status="success"} 1.0' in text
            assert 'scraper_attempts_total{outcome="ok",source="nbac",tier="direct"} 1.0' in text
            assert 'scraper_service_rejected_requests_total{reason="bad_request"} 1.0' in text
            assert "scraper_service_runs_in_flight 0.0" in text

    asyncio.run(scenario())


def test_republish_sends_pending_completions_and_says_when_some_stay_pending(tmp_path: Path) -> None:
    events = tmp_path / "_events" / "completions.jsonl"
    events.mkdir(parents=True)  # the publisher cannot append: the completion stays pending

    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            run = await (await svc.http.post("/scrape", json=SCOREBOARD)).json()
            assert run["status"] == "success"
            assert "pending in the outbox" in run["result"]["warnings"][0]
            stuck = await svc.http.post("/republish", params={"older_than": "0"})
            assert stuck.status == 503
            assert (await stuck.json())["failed"] == 1
            events.rmdir()
            sent = await svc.http.post("/republish", params={"older_than": "0"})
            assert sent.status == 200
            assert (await sent.json())["sent"] == 1
            assert [event["execution_id"] for event in svc.events()] == [run["run_id"]]
            nothing = await (await svc.http.post("/republish")).json()
            assert (nothing["sent"], nothing["failed"]) == (0, 0)

    asyncio.run(scenario())


def test_openapi_describes_every_route_the_app_serves(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_service(tmp_path) as svc:
            response = await svc.http.get("/openapi.yaml")
            assert response.status == 200
            assert response.content_type == "application/yaml"
            spec = yaml.safe_load(await response.text())
            served = _routes(create_app(svc.service))
            described = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
            assert described == served
            assert spec["openapi"].startswith("3.")

    asyncio.run(scenario())


def _routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "HEAD" and path:
            routes.add((route.method, str(path)))
    return routes
