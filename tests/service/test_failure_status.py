"""Failed runs answer by class (scrapers/service/errors.py): real failures from a loopback upstream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scrapers.core.outcome import Outcome
from tests.harness import Behaviour, Upstream, respond
from tests.service.harness import SCOREBOARD, running_service

EVENTS = {"scraper": "oddsa_events", "game_date": "2024-01-15"}
EVENTS_PATH = "/v4/sports/basketball_nba/events"
API_KEY = "odds-key-for-tests-5b1e"


@pytest.mark.parametrize(
    ("behaviour", "failure_class", "status"),
    [
        (respond(404, b"not here"), "not_found", 502),
        (respond(200, b"<html>not json</html>", {"Content-Type": "text/html"}), "structural", 502),
        (respond(403, b"forbidden"), "blocked", 503),
        (respond(429, b"slow down", {"Retry-After": "3600"}), "rate_limited", 503),
        (respond(503, b"try later"), "transient", 504),
    ],
    ids=["not_found", "structural", "blocked", "rate_limited", "transient"],
)
def test_a_failed_run_answers_the_status_of_its_class_with_the_typed_result(
    behaviour: Behaviour, failure_class: str, status: int, tmp_path: Path
) -> None:
    assert Outcome(failure_class).http_status == status

    async def scenario() -> None:
        async with Upstream({EVENTS_PATH: behaviour}) as upstream:
            env = {
                "COURTSIDE_STATE": "memory",
                "COURTSIDE_UPSTREAMS": f"https://api.the-odds-api.com={upstream.url}",
                "ODDS_API_KEY": API_KEY,
            }
            async with running_service(tmp_path, replay=False, env=env) as svc:
                # A transient failure spends its retries (jittered backoff, a few seconds at most).
                response = await svc.http.post("/scrape", json=EVENTS)
                assert API_KEY not in await response.text()
                body = await response.json()
                assert response.status == status, body
                assert (body["status"], body["http_status"]) == ("failed", status)
                assert body["result"]["failure_class"] == failure_class
                (event,) = svc.events()
                assert (event["status"], event["error_type"]) == ("failed", failure_class)

    asyncio.run(scenario())


def test_a_run_that_cannot_land_answers_503(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "nba-com").write_text("a file where the source folder should be")

    async def scenario() -> None:
        async with running_service(out) as svc:
            response = await svc.http.post("/scrape", json=SCOREBOARD)
            body = await response.json()
            assert response.status == 503
            assert body["result"]["error_type"] == "landing"
            assert body["result"]["failure_class"] == "landing"  # a failure class like the others

    asyncio.run(scenario())
