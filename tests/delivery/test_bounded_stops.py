"""A stopping process has seconds (Cloud Run: SIGKILL 10 s after SIGTERM), not the publish timeout:
the cut-off of a run and a budgeted sweep return although Pub/Sub never answers, and whatever they
could not send stays in the outbox, pending or owned, never lost.

The real Pub/Sub client publishes to a loopback socket that accepts connections and never says a
word (the library then waits its whole retry budget), or to a closed port (it fails after its
timeout). The outbox is the real local one. No duration is asserted: code that waited for the
publish would hit the test's guard (STUCK_SECONDS) instead, far below the publish timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scrapers.events.completion import CompletionMessage, attributes
from scrapers.events.delivery import CompletionDelivery
from scrapers.events.outbox import CLAIMED, PENDING, LocalOutbox, OutboxEntry
from scrapers.events.publishers import PubSubPublisher
from scrapers.sinks.file import FileSink
from tests.conftest import closed_loopback_port
from tests.delivery.test_gcs_pubsub import socket_that_never_answers

# The library gives up after 0.8 x this: long past any wait under test, short enough that its
# background retry is gone soon after the test.
PUBLISH_TIMEOUT = 10.0
STUCK_SECONDS = 5.0
STOP_WAIT_SECONDS = 0.2


def _message(execution_id: str) -> CompletionMessage:
    return CompletionMessage(
        processor_name="nbac_scoreboard_v2",
        execution_id=execution_id,
        correlation_id=execution_id,
        game_date="2024-01-15",
        status="failed",
        record_count=0,
        timestamp="2024-01-16T03:00:00+00:00",
        duration_seconds=0.1,
        trigger_source="test",
    )


@pytest.fixture
def silent_pubsub(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with socket_that_never_answers() as address:
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", address)
        yield


def _delivery(out: Path, publisher: PubSubPublisher) -> CompletionDelivery:
    delivery = CompletionDelivery(LocalOutbox(out / "_outbox"), publisher, FileSink(out))
    delivery.stop_wait_seconds = STOP_WAIT_SECONDS
    return delivery


def _ids(out: Path, state: str) -> set[str]:
    return {path.stem for path in (out / "_outbox" / state).glob("*.json")}


async def _pending_entries(out: Path, count: int) -> list[str]:
    """Entries a run released after its publish failed, as `publish` leaves them."""
    outbox = LocalOutbox(out / "_outbox")
    ids = [f"earlier-{index}" for index in range(count)]
    for execution_id in ids:
        body = _message(execution_id).to_dict()
        entry = OutboxEntry(execution_id, time.time(), body, attributes(body, "nbac"))
        await outbox.open(entry)
        await outbox.release(entry)
    return ids


@pytest.mark.usefixtures("silent_pubsub")
def test_a_cut_off_run_s_own_completion_waits_for_a_hung_publish_only_the_stop_wait(tmp_path: Path) -> None:
    async def scenario() -> tuple[str | None, set[str]]:
        publisher = PubSubPublisher("courtside-test", "completions", PUBLISH_TIMEOUT)
        delivery = _delivery(tmp_path, publisher)
        try:
            # A run cut off before it had an outbox entry: its `failed` completion is written and sent.
            delivered = await asyncio.wait_for(
                delivery.interrupted(_message("cut-off"), "nbac"), STUCK_SECONDS
            )
            # Still owned by this process while its publish goes on: no sweep can take it meanwhile.
            owned = _ids(tmp_path, CLAIMED)
            beside = await CompletionDelivery(
                LocalOutbox(tmp_path / "_outbox"), delivery.publisher, delivery.sink
            ).sweep()
            assert (beside.skipped, beside.sent, beside.failed) == (1, [], [])  # owned by a live run
            return delivered.warning, owned
        finally:
            publisher.close()

    warning, owned = asyncio.run(scenario())
    assert warning is not None
    assert "still being published" in warning
    assert owned == {"cut-off"}


@pytest.mark.usefixtures("silent_pubsub")
def test_a_budgeted_sweep_leaves_a_hung_publish_claimed_and_the_rest_pending(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        ids = await _pending_entries(tmp_path, 3)
        publisher = PubSubPublisher("courtside-test", "completions", PUBLISH_TIMEOUT)
        delivery = _delivery(tmp_path, publisher)
        try:
            report = await asyncio.wait_for(delivery.sweep(budget_seconds=0.3), STUCK_SECONDS)
            assert (report.sent, report.failed) == ([], [])
            return ids, report.unfinished, report.left
        finally:
            publisher.close()

    ids, unfinished, left = asyncio.run(scenario())
    assert unfinished == ids[:1]
    assert left == ids[1:]
    # The one in flight was claimed when the process ended (a later sweep takes it over from its
    # dead owner); the rest never left pending.
    assert _ids(tmp_path, CLAIMED) == set(ids[:1])
    assert _ids(tmp_path, PENDING) == set(ids[1:])


def test_a_budgeted_sweep_stops_at_its_first_failed_publish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{closed_loopback_port()}")

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        ids = await _pending_entries(tmp_path, 3)
        publisher = PubSubPublisher("courtside-test", "completions", 1.0)  # fails after 0.8 s
        delivery = _delivery(tmp_path, publisher)
        try:
            report = await asyncio.wait_for(delivery.sweep(budget_seconds=STUCK_SECONDS * 10), STUCK_SECONDS)
            return ids, report.failed, report.left
        finally:
            publisher.close()

    ids, failed, left = asyncio.run(scenario())
    assert failed == ids[:1]
    assert left == ids[1:]
    assert _ids(tmp_path, PENDING) == set(ids)
