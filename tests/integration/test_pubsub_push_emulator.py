"""A real Pub/Sub push subscription (the google-cloud-cli emulator) delivering to POST /pubsub/push.

What the route answers decides what Pub/Sub does next, so this is checked against Pub/Sub itself:
a job that ran to its end and a message that is no job are delivered once (acked), a job that
failed in a way a later attempt may get past is delivered again, with the subscription's back-off,
until it stops failing. Deliveries are counted at the service, by message id.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from google.cloud import pubsub_v1

from scrapers.core.clock import FrozenClock
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.settings import Locations, Settings
from scrapers.http.replay import ReplayTransport
from scrapers.pipeline.settings import ServiceSettings
from scrapers.service.app import create_app, open_service
from tests.conftest import PROJECT_FIXTURES
from tests.harness.ports import LOOPBACK
from tests.service.harness import REPLAYED_AT, SCOREBOARD, GatedTransport

pytestmark = pytest.mark.integration
PROJECT = "courtside-test"
HUNG_DAY = "01%2F16%2F2024"  # the scoreboard of 2024-01-16 never answers
REDELIVERIES = 2  # the retryable message arrives this many times more before the test looks
DEADLINE_SECONDS = 60.0


def test_pubsub_redelivers_only_what_the_route_refuses(
    tmp_path: Path, pubsub_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    deliveries: Counter[str] = Counter()
    answers: dict[str, set[int]] = {}
    enough = asyncio.Event()
    hung = GatedTransport(
        ReplayTransport(PROJECT_FIXTURES), hold=lambda request: HUNG_DAY in str(request.url)
    )

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        envelope = json.loads(await request.read())  # aiohttp keeps the body for the route
        message_id = envelope["message"]["messageId"]
        deliveries[message_id] += 1
        response = await handler(request)
        answers.setdefault(message_id, set()).add(response.status)
        if max(deliveries.values()) > REDELIVERIES:
            enough.set()
        return response

    async def scenario() -> dict[str, str]:
        service = await open_service(
            load_registry(),
            Locations(out=str(tmp_path), fixtures=PROJECT_FIXTURES),
            ServiceSettings(deadline_grace_seconds=0.2),
            Redactor(),
            transport=hung,
            replay=False,
            clock=FrozenClock(REPLAYED_AT),
            env=Settings.from_env({"COURTSIDE_STATE": "memory"}),
        )
        app = create_app(service)
        app.middlewares.append(count)  # innermost: after the service's own middlewares
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.TCPSite(runner, LOOPBACK, 0).start()
            endpoint = f"http://{LOOPBACK}:{runner.addresses[0][1]}/pubsub/push"
            ids = await asyncio.to_thread(_subscribe_and_publish, endpoint)
            async with asyncio.timeout(DEADLINE_SECONDS):
                await enough.wait()
            return ids
        finally:
            await service.manager.drain(0.0)
            await runner.cleanup()
            await service.aclose()

    ids = asyncio.run(scenario())
    events = (tmp_path / "_events" / "completions.jsonl").read_text().splitlines()
    statuses = [json.loads(line)["status"] for line in events]
    # The retryable one came back (that is what `enough` waited for) ...
    assert deliveries[ids["blocked"]] > REDELIVERIES
    assert answers[ids["blocked"]] == {503}
    # ... while the two acked before it, published first, were delivered exactly once.
    assert (deliveries[ids["success"]], answers[ids["success"]]) == (1, {200})
    assert (deliveries[ids["not a job"]], answers[ids["not a job"]]) == (1, {204})
    # Each delivery of a job was a run with its completion (one more may have been cut off by the
    # test's shutdown); the message that is no job ran nothing.
    assert statuses.count("success") == 1
    assert statuses.count("failed") >= deliveries[ids["blocked"]]
    assert len(statuses) <= 1 + deliveries[ids["blocked"]] + 1


def _subscribe_and_publish(endpoint: str) -> dict[str, str]:
    """A topic with a push subscription to `endpoint` (1-2 s back-off); three messages on it."""
    suffix = uuid.uuid4().hex[:8]
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, f"jobs-{suffix}")
    publisher.create_topic(request={"name": topic})
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(PROJECT, f"push-{suffix}"),
            "topic": topic,
            "push_config": {"push_endpoint": endpoint},
            "ack_deadline_seconds": 30,
            "retry_policy": {"minimum_backoff": {"seconds": 1}, "maximum_backoff": {"seconds": 2}},
        }
    )
    messages = {
        "success": json.dumps(SCOREBOARD).encode(),
        "not a job": b"scrape everything, please",  # its data is not JSON
        # The upstream hangs; the job's own deadline ends the run `blocked` (stats.nba.com's rule).
        "blocked": json.dumps({**SCOREBOARD, "gamedate": "2024-01-16", "deadline_seconds": 0.5}).encode(),
    }
    ids = {name: publisher.publish(topic, data).result(timeout=30) for name, data in messages.items()}
    subscriber.close()
    return ids
