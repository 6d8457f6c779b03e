"""A real, throwaway ``prometheus`` and ``prometheus-pushgateway`` on free loopback ports.

Nothing here mocks Prometheus: the tests run the Debian binaries operators run. Prometheus gets a
generated config (scrape and rule evaluation every second, the project's alert rules from
dashboards/alerts.yml) and keeps its TSDB in the test's temporary folder. Its one scrape job
``courtside`` finds targets through a file (file_sd), so a test can point it at a metrics endpoint
it starts later, on a port the OS picked:

    with running_prometheus(tmp_path) as prometheus:
        prometheus.scrape("127.0.0.1:43121")          # picked up within ~5 s (discovery batching)
        api = PrometheusAPI(prometheus.url, client)   # an httpx.AsyncClient
        result = await api.query('scraper_runs_total{status="failed"}')

Both servers listen on 127.0.0.1 only and are always terminated (killed if they will not stop),
including when start-up fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import PROJECT_ROOT
from tests.harness.ports import LOOPBACK, free_port

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
PUSHGATEWAY = "prometheus-pushgateway"
ALERT_RULES = PROJECT_ROOT / "dashboards" / "alerts.yml"
SCRAPE_JOB = "courtside"
# Scrape and evaluate rules every second, so a test waits seconds, not the default minute.
INTERVAL = "1s"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
_START_ATTEMPTS = 3  # a free port can be taken between our probe and the server binding it
_POLL_SECONDS = 0.05
_PACKAGES = {PROMETHEUS: "prometheus", PROMTOOL: "prometheus", PUSHGATEWAY: "prometheus-pushgateway"}


class ServerStartError(Exception):
    """A Prometheus server binary could not be started."""


def find_binary(name: str) -> str | None:
    return shutil.which(name)


def missing_reason(name: str) -> str:
    return f"{name} is not installed (apt-get install {_PACKAGES[name]}): the tests that need it are skipped"


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
    """The few HTTP API calls the tests need, on the caller's AsyncClient (never blocking its loop)."""

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url = url
        self.client = client

    async def query(self, expr: str) -> QueryResult:
        response = await self.client.get(f"{self.url}/api/v1/query", params={"query": expr})
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=0.5).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False  # not listening yet


def _start(argv: list[str], name: str, url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as log_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _is_ready(url):
            # wait() paces the loop *and* notices a server that died (e.g. its port was taken).
            try:
                returncode = proc.wait(timeout=_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            else:
                tail = log.read_text(errors="replace")[-800:]
                raise ServerStartError(f"{name} exited with {returncode}: {tail}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"{name} was not ready within {START_TIMEOUT_SECONDS}s (log: {log})")
    except BaseException:  # including KeyboardInterrupt: never leave the server behind
        _stop(proc)
        raise
    return proc


@contextmanager
def _serving(name: str, argv_for: Callable[[int], list[str]], log: Path) -> Iterator[str]:
    """Start ``name`` on a free loopback port (retrying a port lost to a race); yield its URL; stop it."""
    last_error: ServerStartError | None = None
    for _ in range(_START_ATTEMPTS):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        try:
            proc = _start(argv_for(port), name, url, log)
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

    with _serving(PROMETHEUS, argv, log) as url:
        yield PrometheusServer(url, targets_file, log)


@contextmanager
def running_pushgateway(workdir: Path) -> Iterator[str]:
    """Start prometheus-pushgateway (state kept in ``workdir``); yield its URL; always stop it."""
    binary = find_binary(PUSHGATEWAY)
    if binary is None:
        raise ServerStartError(f"{PUSHGATEWAY} is not on PATH")

    def argv(port: int) -> list[str]:
        # Debian's default persistence file is under /var/lib; a test keeps its state to itself.
        return [
            binary,
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--persistence.file={workdir / 'pushgateway.data'}",
        ]

    with _serving(PUSHGATEWAY, argv, workdir / "pushgateway.log") as url:
        yield url
