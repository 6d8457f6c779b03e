"""The core's per-request overhead in instructions, which a noisy machine does not move.

    .venv/bin/python -m bench.instructions [--requests 1000]

Wall-clock ratios (`bench.overhead`) moved from 0.86 to 1.09 for the same code on a shared
two-core VM; an instruction count under `valgrind --tool=callgrind` is the same on every run. Each
variant runs in its own process under callgrind twice, with a warm-up and then `--requests` more
requests the second time, so the difference is the requests alone (imports and start-up cancel
out). The transport is in memory (no sockets), so this is what the client's Python costs, not
what a request costs end to end. Variants:

- raw: httpx.AsyncClient, raise_for_status() and json(), as bench.overhead's raw side;
- core: the Fetcher through a one-proxy datacenter tier, with the fleet's metrics;
- core, no metrics: the same without the Prometheus observer;
- core, direct: the same with metrics, straight to the host (no proxy route: walk, breaker,
  answer times).

Needs valgrind (Debian's `valgrind`); about 5 minutes for the four variants at 1,000 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from bench.fast_upstream import BODY, HEADERS
from bench.overhead import POLICY, TARGET_URL
from bench.scenario import ROOT
from proxy.config import DIRECT_ONLY, ProxyConfig, ProxyEndpoint, Tier
from scrapers.core.request import Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.metrics.fleet import FetchMetrics, FleetMetrics

VARIANTS = {
    "raw": "raw httpx",
    "core": "core",
    "nometrics": "core, no metrics",
    "direct": "core, direct",
}
WARM_UP = 300
DEFAULT_REQUESTS = 1000
_COLLECTED = re.compile(r"Collected : (\d+)")


class _InMemory(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=HEADERS, content=BODY)


def _sender(variant: str) -> Callable[[], Awaitable[None]]:
    if variant == "raw":
        raw = httpx.AsyncClient(transport=_InMemory())

        async def send_raw() -> None:
            response = await raw.get(TARGET_URL)
            response.raise_for_status()
            response.json()

        return send_raw
    policy = POLICY
    proxies = ProxyConfig(
        (Tier("datacenter", (ProxyEndpoint("loopback", "datacenter", "http://127.0.0.1:9"),)),)
    )
    observer = None if variant == "nometrics" else FetchMetrics(FleetMetrics())
    if variant == "direct":
        proxies = DIRECT_ONLY
        policy = dataclasses.replace(POLICY, tiers=("direct",), start_tier="direct")
    fetcher = Fetcher(transport=_InMemory(), proxies=proxies, observer=observer)
    request = Request(TARGET_URL)

    async def send_core() -> None:
        await fetcher.fetch(request, policy, AttemptLog(), fetcher.budget(policy))

    return send_core


async def _child(variant: str, requests: int) -> None:
    send = _sender(variant)
    for _ in range(WARM_UP + requests):
        await send()


def _instructions(variant: str, requests: int, folder: Path) -> int:
    """Instructions of one child process under callgrind: WARM_UP + `requests` requests."""
    out = folder / f"{variant}.{requests}.out"
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            variant,
            "--requests",
            str(requests),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{variant}: callgrind failed ({done.returncode}): {done.stderr[-800:]}")
    return int(found.group(1))


def per_request(requests: int, variants: Sequence[str] = tuple(VARIANTS)) -> dict[str, float]:
    """Instructions per request of each variant: (warm-up + N) minus (warm-up alone), over N."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        return {
            variant: (_instructions(variant, requests, folder) - _instructions(variant, 0, folder)) / requests
            for variant in variants
        }


def render(counts: dict[str, float]) -> str:
    raw = counts["raw"]
    lines = [
        "Instructions per request (callgrind, in-memory transport)",
        f"{'variant':<18}  {'instructions':>12}  {'over raw':>9}  {'raw / this':>10}",
    ]
    for variant, count in counts.items():
        lines.append(f"{VARIANTS[variant]:<18}  {count:>12,.0f}  {count - raw:>+9,.0f}  {raw / count:>10.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions", description="The core's overhead in instructions per request."
    )
    parser.add_argument(
        "--requests", type=int, default=DEFAULT_REQUESTS, help="measured requests per variant"
    )
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_child(args.child, args.requests))
        return 0
    if args.requests < 1:
        print("error: --requests must be positive (example: --requests 1000)", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None:
        print("error: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    print(render(per_request(args.requests)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
