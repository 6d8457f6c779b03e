"""Fixtures that start real local servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.gcs_emulator import running_gcs_emulator
from tests.harness.pubsub_emulator import find_emulator, running_pubsub_emulator
from tests.integration.prometheus_server import (
    PROMETHEUS,
    PUSHGATEWAY,
    PrometheusServer,
    find_binary,
    missing_reason,
    running_prometheus,
    running_pushgateway,
)
from tests.integration.redis_server import flush, redis_server_binary, running_redis


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real redis-server for the whole session (starting one per test would dominate runtime)."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): Redis tests skipped")
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's Redis, emptied first so tests cannot see each other's keys."""
    flush(redis_server_url)
    return redis_server_url


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """COURTSIDE_STATE for each kind of state store: the test runs once per store."""
    if request.param == "memory":
        return "memory"
    return _shared_store(request, tmp_path)


@pytest.fixture(params=["sqlite", "redis"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """COURTSIDE_STATE for each store that more than one process can see."""
    return _shared_store(request, tmp_path)


def _shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/state.sqlite"  # tmp_path is absolute: sqlite:///tmp/...
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture(scope="session")
def gcs_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gcp-storage-emulator (with the generation preconditions it lacks) for the whole session."""
    with running_gcs_emulator(tmp_path_factory.mktemp("gcs")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def pubsub_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The google-cloud-cli Pub/Sub emulator for the whole session, or a skip naming why not."""
    script, reason = find_emulator()
    if script is None:
        pytest.skip(f"Pub/Sub tests skipped: {reason}")
    with running_pubsub_emulator(script, tmp_path_factory.mktemp("pubsub")) as host:
        yield host


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real prometheus for the session: scrapes and evaluates dashboards/alerts.yml every second.

    Its scrape job `courtside` has no target until a test calls `prometheus.scrape("host:port")`.
    """
    if find_binary(PROMETHEUS) is None:
        pytest.skip(missing_reason(PROMETHEUS))
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


@pytest.fixture
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real prometheus-pushgateway of its own for one test (cheap to start; no groups left over)."""
    if find_binary(PUSHGATEWAY) is None:
        pytest.skip(missing_reason(PUSHGATEWAY))
    with running_pushgateway(tmp_path_factory.mktemp("pushgateway")) as url:
        yield url
