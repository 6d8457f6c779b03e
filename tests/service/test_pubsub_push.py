"""POST /pubsub/push: a Pub/Sub push subscription's endpoint.

Pub/Sub acks a 2xx and redelivers anything else, so the answer decides whether a message comes back:
terminal results are acked, failures a redelivery may fix are not, and what can never succeed (not a
push envelope, data that is no job) is acked with 204 without running anything. The envelope's
data is the same job POST /scrape takes, through the same run path (completions, run ids).
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from tests.conftest import PROJECT_FIXTURES
from tests.service.harness import SCOREBOARD, GatedTransport, running_service

SUBSCRIPTION = "projects/nba-test/subscriptions/courtside-jobs"


def envelope(job: Any, message_id: str = "1001") -> dict[str, Any]:
    data = base64.b64encode(json.dumps(job).encode()).decode()
    return {
        "message": {"data": data, "messageId": message_id, "attributes": {}},
        "subscription": SUBSCRIPTION,
    }


def test_a_job_that_ends_is_acknowledged_with_its_run_and_its_completion_says_pubsub(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_service(tmp_path) as svc:
            answer = await svc.http.post("/pubsub/push", json=envelope(SCOREBOARD))
            assert answer.status == 200  # acked
            view = await answer.json()
            assert (view["state"], view["status"]) == ("done", "success")
            assert answer.headers["X-Run-Id"] == view["run_id"]
            # The same job again (a second message, or this one redelivered): the ledger has it
            # done, so it is acknowledged without a run.
            again = await svc.http.post("/pubsub/push", json=envelope({**SCOREBOARD, "source": "scheduler"}))
            assert again.status == 200
            assert (await again.json())["queue"]["result"] == "done_already"
            # A job that names its own trigger keeps it.
            named = await svc.http.post(
                "/pubsub/push",
                json=envelope(
                    {"scraper": "nbac_scoreboard_v2", "gamedate": "2024-02-16", "source": "scheduler"}
                ),
            )
            assert named.status == 200
            # A job whose input can never run (no recording in replay) is acked too: it would fail again.
            missing = await svc.http.post(
                "/pubsub/push", json=envelope({"scraper": "nbac_scoreboard_v2", "gamedate": "2023-07-04"})
            )
            assert missing.status == 200
            assert (await missing.json())["error"]["type"] == "replay_miss"
            return svc.events()

    events = asyncio.run(scenario())
    assert [event["trigger_source"] for event in events] == ["pubsub", "scheduler"]


NOT_A_JOB: list[tuple[str, bytes]] = [
    ("not JSON", b"{"),
    ("no message", json.dumps({"subscription": SUBSCRIPTION}).encode()),
    ("no data", json.dumps({"message": {"messageId": "1"}}).encode()),
    ("data not base64", json.dumps({"message": {"data": "%%%", "messageId": "1"}}).encode()),
    ("data not JSON", json.dumps({"message": {"data": base64.b64encode(b"scrape!").decode()}}).encode()),
    ("data not a job", json.dumps(envelope(["nbac_scoreboard_v2"])).encode()),
    ("unknown scraper", json.dumps(envelope({"scraper": "nbac_scoreboard_v9"})).encode()),
    (
        "bad option",
        json.dumps(envelope({"scraper": "nbac_scoreboard_v2", "gamedate": "15/01/2024"})).encode(),
    ),
]


def test_what_can_never_succeed_is_acknowledged_with_204_and_runs_nothing(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict[str, int], int]:
        async with running_service(tmp_path) as svc:
            statuses = {}
            for name, body in NOT_A_JOB:
                answer = await svc.http.post(
                    "/pubsub/push", data=body, headers={"Content-Type": "application/json"}
                )
                statuses[name] = answer.status
                assert await answer.read() == b""
            return statuses, svc.service.manager.in_flight + len(svc.events())

    statuses, runs = asyncio.run(scenario())
    assert statuses == dict.fromkeys(statuses, 204)
    assert runs == 0
    assert not (tmp_path / "_runs").exists()


def test_a_retryable_failure_is_refused_so_pubsub_delivers_it_again(tmp_path: Path) -> None:
    # stats.nba.com never answers: the job's own deadline ends the run, and since that host blocks
    # by hanging (its registry rule), it fails `blocked`, which a later delivery may get past.
    hung = GatedTransport(ReplayTransport(PROJECT_FIXTURES))

    async def scenario() -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        async with running_service(
            tmp_path,
            transport=hung,
            replay=False,
            settings=ServiceSettings(deadline_grace_seconds=0.2),
            env={"COURTSIDE_STATE": "memory"},
        ) as svc:
            answer = await svc.http.post(
                "/pubsub/push", json=envelope({**SCOREBOARD, "deadline_seconds": 0.5})
            )
            return answer.status, await answer.json(), svc.events()

    status, view, events = asyncio.run(scenario())
    assert status == 503  # not a 2xx: Pub/Sub backs off and delivers the message again
    assert (view["status"], view["result"]["error_type"]) == ("failed", "blocked")
    # The run still ended with its one completion, as every run does.
    assert [(event["status"], event["trigger_source"]) for event in events] == [("failed", "pubsub")]
    assert hung.arrived >= 1


@pytest.mark.parametrize("token", [None, "Bearer wrong-token-value"])
def test_the_service_token_guards_the_push_route_too(tmp_path: Path, token: str | None) -> None:
    headers = {"Authorization": token} if token else {}

    async def scenario() -> tuple[int, int]:
        settings = ServiceSettings(token="push-secret-4242")
        async with running_service(tmp_path, settings=settings, headers=headers) as svc:
            answer = await svc.http.post("/pubsub/push", json=envelope(SCOREBOARD))
            return answer.status, len(svc.events())

    # 401 is not an ack: a subscription without the right token is retried until it has it.
    assert asyncio.run(scenario()) == (401, 0)


def test_without_a_jobs_topic_a_fan_out_runs_its_children_here_each_through_the_claim(tmp_path: Path) -> None:
    """A service with no project to publish children to runs them in the same request; pushed again,
    the parent is done and so is every child it ran (only the children that could not run, here a
    replay without a recording, are tried again)."""

    async def scenario() -> tuple[int, dict[str, Any], int, dict[str, Any]]:
        async with running_service(tmp_path) as svc:
            first = await svc.http.post("/pubsub/push", json=envelope({**SCOREBOARD, "fan_out": True}))
            again = await svc.http.post(
                "/pubsub/push", json=envelope({**SCOREBOARD, "fan_out": True}, "1002")
            )
            return first.status, await first.json(), again.status, await again.json()

    status, first, again_status, again = asyncio.run(scenario())
    assert (status, first["status"], first["queue"]["result"]) == (200, "success", "ran")
    children = sorted(child["line"] for child in first["queue"]["children"])
    # The fixture day's four games: the one gamebook recorded runs, the others cannot (acked).
    assert len(children) == 4
    assert [line for line in children if "GSWMEM" in line] == [
        "nbac_gamebook_pdf game_code=20240115/GSWMEM version=short: success: ack"
    ]
    assert (again_status, again["queue"]["result"]) == (200, "done_already")
    repeated = [child["line"] for child in again["queue"]["children"] if "GSWMEM" in child["line"]]
    assert repeated == ["nbac_gamebook_pdf game_code=20240115/GSWMEM version=short: success (done): ack"]
    runs = sorted(path.parent.name for path in (tmp_path / "_runs").rglob("*.json"))
    assert runs.count("nbac_scoreboard_v2") == 1
    assert len(list((tmp_path / "nba-com" / "gamebooks-data").rglob("*.json"))) == 1
