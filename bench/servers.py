"""Real, throwaway `redis-server`, `prometheus` and `prometheus-pushgateway` on free loopback ports.

Nothing here mocks a server: the benchmarks and the integration tests run the Debian binaries
operators run (tests/integration/redis_server.py and prometheus_server.py re-export this module, so
bench/ never imports from tests/integration). Every server listens on 127.0.0.1 only, keeps its
files in the caller's folder, and is always terminated (killed if it will not stop), including when
start-up fails:

    with running_redis(tmp) as url:                     # redis://127.0.0.1:<port>/0, nothing on disk
        ...
    with running_pushgateway(tmp) as gateway, running_prometheus(tmp) as prometheus:
        prometheus.scrape(gateway.removeprefix("http://"))   # picked up within ~5 s (discovery batching)
        api = PrometheusAPI(prometheus.url, client)          # an httpx.AsyncClient
        result = await api.query('scraper_runs_total{status="failed"}')

Prometheus gets a generated config (scrape and rule evaluation every second, the project's alert
rules from dashboards/alerts.yml) and keeps its TSDB in the caller's folder. Its one scrape job
``courtside`` finds targets through a file (file_sd), so a caller can point it at a metrics endpoint
it starts later, on a port the OS picked.
"""

from __future__ import annotations

import functools
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import redis.exceptions
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
REDIS_SERVER = "redis-server"
PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
PUSHGATEWAY = "prometheus-pushgateway"
ALERT_RULES = PROJECT_ROOT / "dashboards" / "alerts.yml"
SCRAPE_JOB = "courtside"
# Scrape and evaluate rules every second, so a caller waits seconds, not the default minute.
INTERVAL = "1s"
REDIS_START_TIMEOUT_SECONDS = 10.0
START_TIMEOUT_SECONDS = 30.0  # Prometheus replays its (empty) write-ahead log first
STOP_TIMEOUT_SECONDS = 10.0
_START_ATTEMPTS = 3  # a free port can be taken between our probe and the server binding it
_POLL_SECONDS = 0.05
_PACKAGES = {
    REDIS_SERVER: "redis-server",
    PROMETHEUS: "prometheus",
    PROMTOOL: "prometheus",
    PUSHGATEWAY: "prometheus-pushgateway",
}


class ServerStartError(Exception):
    """A server binary could not be started."""


class RedisServerError(ServerStartError):
    """redis-server could not be started."""


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it, so parallel runs don't clash).

    The port is released before returning; the servers here retry a port lost to that race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def find_binary(name: str) -> str | None:
    return shutil.which(name)


def missing_reason(name: str) -> str:
    return f"{name} is not installed (apt-get install {_PACKAGES[name]}): the tests that need it are skipped"


def install_hint(name: str) -> str:
    return f"{name} is not installed (apt-get install {_PACKAGES[name]})"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _start(
    argv: list[str],
    name: str,
    ready: Callable[[], bool],
    log: Path,
    timeout: float,
    error: type[ServerStartError],
) -> subprocess.Popen[bytes]:
    """Start `argv` with its output in `log`; return once `ready()`; never leave it behind on failure."""
    with log.open("ab") as log_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            # wait() paces the loop *and* notices a server that died (e.g. its port was taken).
            try:
                returncode = proc.wait(timeout=_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            else:
                tail = log.read_text(errors="replace")[-800:]
                raise error(f"{name} exited with {returncode}: {tail}")
            if time.monotonic() > deadline:
                raise error(f"{name} was not ready within {timeout}s (log: {log})")
    except BaseException:  # including KeyboardInterrupt: never leave the server behind
        _stop(proc)
        raise
    return proc


@contextmanager
def _serving(
    name: str,
    argv_for: Callable[[int], list[str]],
    url_for: Callable[[int], str],
    ready: Callable[[str], bool],
    log_for: Callable[[int], Path],
    timeout: float,
    error: type[ServerStartError] = ServerStartError,
) -> Iterator[str]:
    """Start `name` on a free loopback port (retrying a port lost to a race); yield its URL; stop it."""
    last_error: ServerStartError | None = None
    for _ in range(_START_ATTEMPTS):
        port = free_port()
        url = url_for(port)
        try:
            proc = _start(argv_for(port), name, functools.partial(ready, url), log_for(port), timeout, error)
        except ServerStartError as exc:
            last_error = exc
            continue
        try:
            yield url
        finally:
            _stop(proc)
        return
    assert last_error is not None
    raise last_error


# --- redis-server ------------------------------------------------------------------------------------------


def redis_server_binary() -> str | None:
    return find_binary(REDIS_SERVER)


def _answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        return False  # not listening yet, or still loading
    finally:
        client.close()


@contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """Start redis-server in ``workdir`` (nothing saved to disk); yield its URL; always stop it."""
    binary = redis_server_binary()
    if binary is None:
        raise RedisServerError(f"{REDIS_SERVER} is not on PATH")

    def argv(port: int) -> list[str]:
        return [
            binary,
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ]

    with _serving(
        REDIS_SERVER,
        argv,
        lambda port: f"redis://{LOOPBACK}:{port}/0",
        _answers_ping,
        lambda port: workdir / f"redis-{port}.log",
        REDIS_START_TIMEOUT_SECONDS,
        RedisServerError,
    ) as url:
        yield url


def flush(url: str) -> None:
    """Empty the server, so the next scenario (or test) starts from a clean slate."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.flushall()
    finally:
        client.close()


# --- prometheus and prometheus-pushgateway -----------------------------------------------------------------


@dataclass(frozen=True)
class PrometheusServer:
    url: str  # http://127.0.0.1:<port>
    targets_file: Path
    log: Path

    def scrape(self, *targets: str) -> None:
        """Make the ``courtside`` job scrape these ``host:port`` targets (and only these).

        The file is replaced atomically, so Prometheus never reads half of it.
        """
        staged = self.targets_file.with_name(self.targets_file.name + ".new")
        staged.write_text(json.dumps([{"targets": list(targets), "labels": {}}]), encoding="utf-8")
        staged.replace(self.targets_file)


@dataclass(frozen=True)
class QueryResult:
    """One /api/v1/query answer: `status` is "success" or "error" (a parse error, say)."""

    status: str
    error: str | None
    result_type: str | None
    series: list[tuple[dict[str, str], float]] = field(default_factory=list)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> QueryResult:
        data: Mapping[str, Any] = payload.get("data") or {}
        result_type = data.get("resultType")
        raw = data.get("result")
        series: list[tuple[dict[str, str], float]] = []
        if result_type in ("vector", "matrix") and isinstance(raw, list):
            for item in raw:
                sample = item["value"] if "value" in item else item["values"][-1]
                series.append((dict(item["metric"]), float(sample[1])))
        elif result_type == "scalar" and isinstance(raw, list):
            series.append(({}, float(raw[1])))
        return cls(str(payload.get("status")), payload.get("error"), result_type, series)

    @property
    def values(self) -> list[float]:
        return [value for _, value in self.series]


class PrometheusAPI:
    """The few HTTP API calls the callers need, on their AsyncClient (never blocking its loop)."""

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url = url
        self.client = client

    async def query(self, expr: str, at: float | None = None) -> QueryResult:
        """An instant query, now or at the Unix time `at` (a sample's timestamp, say)."""
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        response = await self.client.get(f"{self.url}/api/v1/query", params=params)
        # A bad expression answers 400 with a JSON body that says why; that is a result too.
        return QueryResult.from_payload(response.json())

    async def data(self, path: str) -> Any:
        response = await self.client.get(f"{self.url}{path}")
        response.raise_for_status()
        return response.json()["data"]


def prometheus_config(targets_file: Path, rule_files: list[Path]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": INTERVAL, "scrape_timeout": INTERVAL, "evaluation_interval": INTERVAL},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                # fsnotify normally reports the change at once; the re-read is the fallback.
                "file_sd_configs": [{"files": [str(targets_file)], "refresh_interval": INTERVAL}],
            }
        ],
    }


def _is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=0.5).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False  # not listening yet


@contextmanager
def running_prometheus(workdir: Path, rule_files: list[Path] | None = None) -> Iterator[PrometheusServer]:
    """Start prometheus with its config, TSDB and log in ``workdir``; yield it; always stop it."""
    binary = find_binary(PROMETHEUS)
    if binary is None:
        raise ServerStartError(f"{PROMETHEUS} is not on PATH")
    targets_file = workdir / "targets.json"
    targets_file.write_text("[]", encoding="utf-8")
    config = workdir / "prometheus.yml"
    rules = [ALERT_RULES] if rule_files is None else rule_files
    config.write_text(yaml.safe_dump(prometheus_config(targets_file, rules)), encoding="utf-8")
    log = workdir / "prometheus.log"

    def argv(port: int) -> list[str]:
        return [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address={LOOPBACK}:{port}",
        ]

    with _serving(PROMETHEUS, argv, _http_url, _is_ready, lambda _: log, START_TIMEOUT_SECONDS) as url:
        yield PrometheusServer(url, targets_file, log)


@contextmanager
def running_pushgateway(workdir: Path) -> Iterator[str]:
    """Start prometheus-pushgateway (state kept in ``workdir``); yield its URL; always stop it."""
    binary = find_binary(PUSHGATEWAY)
    if binary is None:
        raise ServerStartError(f"{PUSHGATEWAY} is not on PATH")

    def argv(port: int) -> list[str]:
        # Debian's default persistence file is under /var/lib; a caller keeps its state to itself.
        return [
            binary,
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--persistence.file={workdir / 'pushgateway.data'}",
        ]

    log = workdir / "pushgateway.log"
    with _serving(PUSHGATEWAY, argv, _http_url, _is_ready, lambda _: log, START_TIMEOUT_SECONDS) as url:
        yield url


def _http_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"
