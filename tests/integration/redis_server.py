"""A real, throwaway ``redis-server`` on a free loopback port, for integration tests.

Nothing here mocks Redis: the tests talk to the same server binary production uses. The server
keeps nothing on disk (``--save '' --appendonly no``), listens on 127.0.0.1 only, and is always
terminated (killed if it will not stop), including when start-up fails. The code lives in
bench/servers.py, shared with the fleet benchmarks (bench/ does not import from tests/).
"""

from __future__ import annotations

from bench.servers import (
    REDIS_SERVER,
    RedisServerError,
    flush,
    free_port,
    redis_server_binary,
    running_redis,
)

__all__ = ["REDIS_SERVER", "RedisServerError", "flush", "free_port", "redis_server_binary", "running_redis"]
