"""A real, throwaway ``redis-server`` on a free loopback port, for integration tests.

Nothing here mocks Redis: the tests talk to the same server binary production uses. The server
keeps nothing on disk (``--save '' --appendonly no``), listens on 127.0.0.1 only, and is always
terminated (killed if it will not stop), including when start-up fails.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import redis.exceptions

REDIS_SERVER = "redis-server"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0
_START_ATTEMPTS = 3  # a free port can be taken between our probe and redis binding it


class RedisServerError(Exception):
    """redis-server could not be started."""


def redis_server_binary() -> str | None:
    return shutil.which(REDIS_SERVER)


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it, so parallel runs don't clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return False  # not listening yet, or still loading
    finally:
        client.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _start(binary: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    log = workdir / f"redis-{port}.log"
    with log.open("wb") as log_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(proc, f"redis://127.0.0.1:{port}/0", log)
    except BaseException:  # including KeyboardInterrupt: never leave the server behind
        _stop(proc)
        raise
    return proc


def _wait_until_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers_ping(url):
        # wait() paces the loop *and* notices a server that died (e.g. its port was taken).
        try:
            returncode = proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
        else:
            raise RedisServerError(f"redis-server exited with {returncode}: {log.read_text()[-500:]}")
        if time.monotonic() > deadline:
            raise RedisServerError(f"redis-server did not answer PING within {START_TIMEOUT_SECONDS}s")


@contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """Start redis-server in ``workdir``; yield its URL; always stop it."""
    binary = redis_server_binary()
    if binary is None:
        raise RedisServerError(f"{REDIS_SERVER} is not on PATH")
    last_error: RedisServerError | None = None
    for _ in range(_START_ATTEMPTS):
        port = free_port()
        try:
            proc = _start(binary, workdir, port)
        except RedisServerError as exc:
            last_error = exc
            continue
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(proc)
        return
    assert last_error is not None
    raise last_error


def flush(url: str) -> None:
    """Empty the server between tests so each one starts from a clean slate."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.flushall()
    finally:
        client.close()
