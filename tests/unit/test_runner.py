"""Run status logic: failures keep their class, no_data needs evidence, landing is create-only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from scrapers.core.clock import FrozenClock
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.registry import load_registry
from scrapers.core.result import RunResult
from scrapers.events.delivery import local_delivery
from scrapers.http.fetch import Fetcher
from scrapers.pipeline.runner import RunContext, prepare, run_job
from scrapers.sinks.file import FileSink

CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
CANARY_KEY = "canary-odds-key-7f3a9c"
EVENTS_JSON = json.dumps(
    [
        {
            "id": "evt1",
            "sport_key": "basketball_nba",
            "sport_title": "NBA",
            "commence_time": "2024-01-16T00:30:00Z",
            "home_team": "Philadelphia 76ers",
            "away_team": "Houston Rockets",
        }
    ]
).encode()


def _run(
    tmp_path: Path, handler: Callable[[httpx.Request], httpx.Response], date: str = "2024-01-15"
) -> RunResult:
    registry = load_registry()

    async def go() -> RunResult:
        fetcher = Fetcher(transport=httpx.MockTransport(handler), secrets={"ODDS_API_KEY": CANARY_KEY}.get)
        ctx = RunContext(
            registry=registry,
            fetcher=fetcher,
            sink=FileSink(tmp_path / "out"),
            events=local_delivery(tmp_path / "out"),
            clock=CLOCK,
            redactor=fetcher.redactor,
            # One id per run, as in production: an outbox refuses a second entry for an execution.
            new_run_id=lambda: f"run{len(list((tmp_path / 'out').glob('_outbox/*/*.json'))) + 1:05d}",
        )
        try:
            return await run_job(prepare(registry, "oddsa_events", {"game_date": date}, CLOCK), ctx)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def _events(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "out" / "_events" / "completions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (httpx.Response(403, text="Forbidden"), Outcome.BLOCKED),
        (httpx.Response(401, json={"message": "Invalid API key"}), Outcome.AUTH),
        (httpx.Response(404), Outcome.NOT_FOUND),
        (httpx.Response(503), Outcome.TRANSIENT),
        # A Retry-After beyond the job deadline ends the run honestly instead of overshooting it.
        (httpx.Response(429, headers={"retry-after": "3600"}), Outcome.RATE_LIMITED),
        (httpx.Response(200, text='[{"id": "evt1", "commence'), Outcome.STRUCTURAL),
        (httpx.Response(200, text="<html><body>Checking your browser</body></html>"), Outcome.BLOCKED),
        (httpx.Response(200, json={"unexpected": "shape"}), Outcome.STRUCTURAL),
        (httpx.Response(200, content=b""), Outcome.TRANSIENT),
    ],
)
def test_failures_keep_their_class_and_never_become_no_data(
    tmp_path: Path, response: httpx.Response, outcome: Outcome
) -> None:
    result = _run(tmp_path, lambda request: response)
    assert result.status is RunStatus.FAILED
    assert result.failure_class is outcome
    assert result.record_count == 0
    assert result.landed == ()
    [event] = _events(tmp_path)
    assert event["status"] == "failed"
    assert event["error_type"] == outcome.value
    assert "gcs_path" not in event["metadata"]  # type: ignore[operator]


def test_transport_exception_is_classified_not_raised(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = _run(tmp_path, refuse)
    assert result.status is RunStatus.FAILED
    assert result.failure_class is Outcome.TRANSIENT


def test_success_lands_and_publishes_honest_fields(tmp_path: Path) -> None:
    result = _run(tmp_path, lambda request: httpx.Response(200, content=EVENTS_JSON))
    assert result.status is RunStatus.SUCCESS
    assert result.record_count == 1
    landed = Path(result.landed[0])
    assert landed == tmp_path / "out" / "odds-api" / "events" / "2024-01-15" / "20240116_030000.json"
    [event] = _events(tmp_path)
    assert event["processor_name"] == "oddsa_events"
    assert event["execution_id"] == "run00001"
    assert event["record_count"] == 1
    assert event["game_date"] == "2024-01-15"
    assert "error_type" not in event


def test_rerun_never_overwrites_and_reports_already_landed(tmp_path: Path) -> None:
    first = _run(tmp_path, lambda request: httpx.Response(200, content=EVENTS_JSON))
    original = Path(first.landed[0]).read_bytes()
    second = _run(tmp_path, lambda request: httpx.Response(200, content=EVENTS_JSON))
    assert second.already_landed
    assert second.landed == first.landed
    assert Path(first.landed[0]).read_bytes() == original

    changed = EVENTS_JSON.replace(b"evt1", b"evt2")
    third = _run(tmp_path, lambda request: httpx.Response(200, content=changed))
    assert not third.already_landed
    # Same frozen second, different content: beside it, named by the run's id, never the old file
    # and never a later second.
    assert Path(third.landed[0]).name == f"20240116_030000-{third.run_id}.json"
    assert Path(first.landed[0]).read_bytes() == original


def test_api_key_travels_in_query_but_never_in_results_events_or_files(tmp_path: Path) -> None:
    seen: list[str] = []

    def echo_key_in_error(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        # Upstreams echo the URL in error bodies; the message built from it must still be clean.
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    result = _run(tmp_path, echo_key_in_error)
    assert any(f"apiKey={CANARY_KEY}" in url for url in seen), "the key must be sent"
    assert CANARY_KEY not in json.dumps(result.to_dict())
    for file in (tmp_path / "out").rglob("*"):
        if file.is_file():
            assert CANARY_KEY not in file.read_text()
