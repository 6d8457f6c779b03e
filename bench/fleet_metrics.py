"""Fleet metrics: do one-job containers' failed runs add up on a real Prometheus?

    .venv/bin/python -m bench.fleet_metrics [--containers 5]

Each row starts its own `prometheus-pushgateway` and `prometheus` on loopback (Prometheus scrapes
the gateway and evaluates dashboards/alerts.yml every second), then runs real `scrapers run
nbac_scoreboard_v2` processes, one job each as in Cloud Run job containers, against a loopback
stats.nba.com: first one that succeeds (the scraper's group exists, as in a fleet that has run
before: Prometheus counts increase() from a series' first sample), then `--containers` at once
that fail `blocked` (403). Each container pushes its scraper's group when its job ends.

* per-container: every container has a SQLite state file of its own (an ephemeral container with
  the default state): its counters start at zero and its push replaces the group, so the group's
  counter reads 1 after every failing container (the old behaviour);
* fleet (Redis): COURTSIDE_STATE=redis://... (a real redis-server): each push adds the container's
  counts to the group's totals in Redis and pushes the totals (scrapers/metrics/totals.py).

Figures, from Prometheus once it has scraped the gateway after the last container ended:
`increase(scraper_failed_runs_total)` of the group over exactly the span it has samples for
(evaluated at the last sample, so nothing is extrapolated; target: the number of failing
containers), the same over `[5m]` as the dashboard's panel reads it (extrapolated), the counter
resets Prometheus saw, the counter the gateway holds, and ScraperFalsePositiveShareHigh's state once
the rules were evaluated after that scrape (`pending` needs >= 5 failed runs in the hour, so
`--containers` below 5 leaves it inactive either way). Reported, never asserted (the assertion is
tests/integration/test_metric_totals.py); the exit code is 0 whenever the benchmark ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.servers import (
    PROMETHEUS,
    PUSHGATEWAY,
    REDIS_SERVER,
    PrometheusAPI,
    PrometheusServer,
    find_binary,
    flush,
    install_hint,
    running_prometheus,
    running_pushgateway,
    running_redis,
)
from scrapers.metrics.exposition import PUSH_JOB
from tests.harness import Upstream, respond

ROOT = Path(__file__).resolve().parents[1]
STATS = "https://stats.nba.com"
SCRAPER = "nbac_scoreboard_v2"
GAME_DATE = "2024-01-15"
SCOREBOARD_PATH = "/stats/scoreboardV2"
SCOREBOARD_BODY = ROOT / "tests" / "fixtures" / "nbac" / f"{SCRAPER}-{GAME_DATE}.body.json"
GROUP = f'scraper="{SCRAPER}"'
FAILED = f"scraper_failed_runs_total{{{GROUP}}}"
ALERT = "ScraperFalsePositiveShareHigh"
NOT_PUSHED = "metrics not pushed"  # what `scrapers run` says on stderr when its push failed
CONTAINER_SECONDS = 120.0  # a container still running by then is hung, not slow
SCRAPE_SECONDS = 60.0  # file_sd discovery takes ~5 s, a scrape and a rule evaluation 1 s each
POLL_SECONDS = 0.1
_RFC3339 = re.compile(r"(?P<base>[0-9-]+T[0-9:]+)(?:\.(?P<fraction>[0-9]+))?(?P<zone>Z|[+-][0-9:]+)")


@dataclass(frozen=True)
class Store:
    label: str
    folder: str  # the row's servers, outputs and state files, under the run's scratch folder
    state: Callable[[Path, int], str]  # COURTSIDE_STATE of container i, given the row's folder


@dataclass(frozen=True)
class MetricsRow:
    label: str
    containers: int  # failing containers started
    failed: int  # of them, runs that ended `failed`
    not_pushed: int  # containers that reported their push failed
    on_gateway: float  # the group's failed-runs counter the gateway held at the end
    increase: float  # over the span Prometheus has samples for, evaluated at the last sample
    increase_5m: float  # increase(...[5m]) at the last sample, as the dashboard's panel reads it
    resets: float
    alert: str  # ScraperFalsePositiveShareHigh: inactive, pending or firing
    seconds: float  # the row's wall time, servers included


class HarnessError(Exception):
    """The scenario itself broke (a container crashed, Prometheus never scraped): no figures."""


async def _container(env: dict[str, str], out: Path) -> tuple[dict[str, Any], bool]:
    """One `scrapers run` process, its own container's worth: (its --json result, whether it pushed)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        "run",
        SCRAPER,
        "--gamedate",
        GAME_DATE,
        "--json",
        "--out",
        str(out),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), CONTAINER_SECONDS)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    said = stderr.decode(errors="replace")
    try:
        result: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError:
        raise HarnessError(
            f"`scrapers run` exited {proc.returncode} without a result: {said[-800:]}"
        ) from None
    return result, NOT_PUSHED not in said


def _environment(state: str, gateway: str, upstream: str) -> dict[str, str]:
    # No settings, keys or proxies of the caller's shell: every container sees only this scenario.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY") and not k.lower().endswith("_proxy")
    }
    return {
        **base,
        "COURTSIDE_STATE": state,
        "COURTSIDE_PUSHGATEWAY": gateway,
        "COURTSIDE_UPSTREAMS": f"{STATS}={upstream}",
    }


async def _until(check: Callable[[], Awaitable[bool]], what: str, prometheus: PrometheusServer) -> None:
    deadline = time.monotonic() + SCRAPE_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            log = prometheus.log.read_text(errors="replace")[-1500:]
            raise HarnessError(f"no {what} within {SCRAPE_SECONDS}s; prometheus log:\n{log}")
        await asyncio.sleep(POLL_SECONDS)  # the poll interval of a real server's progress


async def _scraped_after(api: PrometheusAPI, moment: float) -> bool:
    """Whether Prometheus has a sample of the group's failed runs scraped after `moment` (Unix s)."""
    stamps = (await api.query(f"timestamp({FAILED})")).values
    return bool(stamps) and max(stamps) > moment


def _gateway_failed(client_text: str) -> float:
    """The group's failed-runs counter, summed over failure classes, as the gateway holds it."""
    total = 0.0
    for family in text_string_to_metric_families(client_text):
        for sample in family.samples:
            if (
                sample.name == "scraper_failed_runs_total"
                and sample.labels.get("job") == PUSH_JOB
                and sample.labels.get("scraper") == SCRAPER
            ):
                total += sample.value
    return total


def rfc3339_seconds(rfc3339: str) -> float:
    """Prometheus's RFC 3339 timestamps carry nanoseconds; Python parses at most microseconds."""
    found = _RFC3339.fullmatch(rfc3339)
    if found is None:
        raise HarnessError(f"not an RFC 3339 time: {rfc3339!r}")
    fraction = (found["fraction"] or "0")[:6]
    zone = "+00:00" if found["zone"] == "Z" else found["zone"]
    return datetime.fromisoformat(f"{found['base']}.{fraction:0<6}{zone}").timestamp()


async def _alert_after(api: PrometheusAPI, moment: float) -> str | None:
    """The alert's state from a rule evaluation after `moment`, or None while there is none yet."""
    for group in (await api.data("/api/v1/rules?type=alert"))["groups"]:
        for rule in group["rules"]:
            if rule["name"] == ALERT:
                if rfc3339_seconds(group["lastEvaluation"]) <= moment:
                    return None
                return str(rule["state"])
    raise HarnessError(f"{ALERT} is not among Prometheus's rules (dashboards/alerts.yml)")


async def _one(api: PrometheusAPI, expr: str, at: float) -> float:
    values = (await api.query(expr, at)).values
    if len(values) != 1:
        raise HarnessError(f"{expr} at {at:.3f}: {values} (expected one value)")
    return values[0]


async def _row(
    store: Store, containers: int, gateway: str, prometheus: PrometheusServer, folder: Path
) -> MetricsRow:
    started = time.monotonic()
    prometheus.scrape(gateway.removeprefix("http://"))
    async with (
        httpx.AsyncClient(timeout=10.0) as client,
        Upstream(
            {
                SCOREBOARD_PATH: respond(
                    200, SCOREBOARD_BODY.read_bytes(), {"Content-Type": "application/json"}
                )
            }
        ) as upstream,
    ):
        api = PrometheusAPI(prometheus.url, client)
        baseline, _ = await _container(
            _environment(store.state(folder, 0), gateway, upstream.url), folder / "out-0"
        )
        if baseline.get("status") != "success":
            raise HarnessError(f"the baseline container did not succeed: {baseline}")
        moment = time.time()
        await _until(lambda: _scraped_after(api, moment), "scrape of the baseline group", prometheus)

        upstream.route(SCOREBOARD_PATH, respond(403, "Forbidden"))
        ran = await asyncio.gather(
            *(
                _container(_environment(store.state(folder, i), gateway, upstream.url), folder / f"out-{i}")
                for i in range(1, containers + 1)
            )
        )
        moment = time.time()  # every container has pushed (or given up) and exited
        await _until(lambda: _scraped_after(api, moment), "scrape after the last container", prometheus)
        on_gateway = _gateway_failed((await client.get(f"{gateway}/metrics")).raise_for_status().text)

        last = max((await api.query(f"timestamp({FAILED})")).values)
        first = await _first_sample(api, last)
        # 1 ms more than the span, so the first sample is inside whether the range's start is open
        # (Prometheus 3) or closed (2.x); its value is 0, so nothing is extrapolated towards it.
        window = f"{round((last - first) * 1000) + 1}ms"
        increase = await _one(api, f"sum(increase({FAILED}[{window}]))", last)
        increase_5m = await _one(api, f"sum(increase({FAILED}[5m]))", last)
        resets = await _one(api, f"sum(resets({FAILED}[10m]))", last)

        alert: str | None = None

        async def evaluated() -> bool:
            nonlocal alert
            alert = await _alert_after(api, last)
            return alert is not None

        await _until(evaluated, f"evaluation of {ALERT} after the last scrape", prometheus)
        assert alert is not None  # _until returned: evaluated() saw a state
    return MetricsRow(
        store.label,
        containers,
        failed=sum(1 for result, _ in ran if result.get("status") == "failed"),
        not_pushed=sum(1 for _, pushed in ran if not pushed),
        on_gateway=on_gateway,
        increase=increase,
        increase_5m=increase_5m,
        resets=resets,
        alert=alert,
        seconds=time.monotonic() - started,
    )


async def _first_sample(api: PrometheusAPI, last: float) -> float:
    """When Prometheus first scraped the group's `blocked` series (the first point of a range)."""
    response = await api.client.get(
        f"{api.url}/api/v1/query",
        params={
            "query": f'scraper_failed_runs_total{{{GROUP},failure_class="blocked"}}[10m]',
            "time": f"{last:.3f}",
        },
    )
    response.raise_for_status()
    result = response.json()["data"]["result"]
    if len(result) != 1:
        raise HarnessError(f"expected one `blocked` series of {SCRAPER}, got {len(result)}")
    return float(result[0]["values"][0][0])


@contextmanager
def _redis(tmp: Path, given: str | None) -> Iterator[str]:
    if given is not None:
        flush(given)  # a caller's server (bench.fleet runs every table on one): no earlier totals
        yield given
    else:
        with running_redis(tmp) as url:
            yield url


def missing_binaries() -> list[str]:
    """What this scenario needs that is not installed, as install hints."""
    return [
        install_hint(name) for name in (PROMETHEUS, PUSHGATEWAY, REDIS_SERVER) if find_binary(name) is None
    ]


def run_fleet_metrics(containers: int, redis_url: str | None = None) -> list[MetricsRow]:
    """The per-container row, then the Redis row, each on its own Pushgateway and Prometheus.

    `redis_url`: a running redis-server to use (emptied first); without it one is started here.
    """
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="courtside-fleet-metrics-")))
        redis_url = stack.enter_context(_redis(tmp, redis_url))
        shared = redis_url
        stores = [
            Store(
                "per-container (SQLite)",
                "per-container",
                lambda row, i: f"sqlite://{row / f'state-{i}.sqlite'}",
            ),
            Store("fleet (Redis)", "redis", lambda row, i: shared),
        ]
        rows = []
        for store in stores:
            folder = tmp / store.folder
            for part in ("gateway", "prometheus"):
                (folder / part).mkdir(parents=True, exist_ok=True)
            with (
                running_pushgateway(folder / "gateway") as gateway,
                running_prometheus(folder / "prometheus") as prometheus,
            ):
                rows.append(asyncio.run(_row(store, containers, gateway, prometheus, folder)))
        return rows


HEADER = (
    f"{'state':<24} {'containers':>10} {'failed':>6} {'unpushed':>8} {'on gateway':>10} "
    f"{'increase':>8} {'incr[5m]':>8} {'resets':>6}  {'alert':<9} {'row s':>5}  target"
)


def render_fleet_metrics(rows: Sequence[MetricsRow], containers: int) -> str:
    lines = [
        f"Fleet metrics: 1 successful then {containers} failing (403, `blocked`) one-job `scrapers run` "
        f"containers pushing to a Pushgateway that Prometheus scrapes every 1s; increase() of "
        f"scraper_failed_runs_total over the samples' span (target: {containers})",
        HEADER,
    ]
    for row in rows:
        met = round(row.increase, 6) == row.containers and row.resets == 0
        lines.append(
            f"{row.label:<24} {row.containers:>10} {row.failed:>6} {row.not_pushed:>8} {row.on_gateway:>10g} "
            f"{row.increase:>8.3g} {row.increase_5m:>8.2f} {row.resets:>6g}  {row.alert:<9} "
            f"{row.seconds:>5.0f}  {'met' if met else 'missed'}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fleet_metrics", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--containers",
        type=int,
        default=5,
        help="failing containers per row (default 5, the alert's minimum)",
    )
    args = parser.parse_args(argv)
    if args.containers < 1:
        print("error: --containers must be positive (example: --containers 5)", file=sys.stderr)
        return 2
    missing = missing_binaries()
    if missing:
        print(f"error: {'; '.join(missing)}", file=sys.stderr)
        return 2
    print(render_fleet_metrics(run_fleet_metrics(args.containers), args.containers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
