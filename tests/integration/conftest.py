"""Fixtures that start real local servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
