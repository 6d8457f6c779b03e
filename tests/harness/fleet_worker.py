"""One process of a fleet: the production Fetcher fetching one URL again and again.

    python -m tests.harness.fleet_worker https://api.courtside.test/v1/games [--concurrency 2] [--requests 25]

It is wired from the same settings as `scrapers run` (COURTSIDE_STATE, COURTSIDE_PROXIES_FILE,
COURTSIDE_UPSTREAMS): one state store, proxy pool and Fetcher for the process, every configured tier
allowed, a rate that never binds. It prints ``ready`` once wired and waits for one line on stdin
(so several workers start together), then prints one line per finished fetch, ``<lane> <outcome>``
(``0 ok``, ``1 proxy``, ...; a lane is one of the ``--concurrency`` loops), until each lane has done
``--requests`` fetches or, without ``--requests``, until its stdin closes. Exit 0 unless the
fetching itself broke.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from proxy.config import load_proxy_config
from proxy.state import open_store
from scrapers.core.errors import ScrapeError
from scrapers.core.request import Request
from scrapers.core.settings import Settings
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from scrapers.http.policy import SourcePolicy
from scrapers.http.ratelimit import RateSettings

READY = "ready"
WORKER_HEADER = "X-Fleet-Worker"
# Far above anything a loopback run reaches: the breakers, not the limiter, shape the traffic.
UNBOUNDED = RateSettings(rate=10_000.0, burst=10_000, ceiling=10_000.0, floor=1.0, increase_step=1.0)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _lane(
    lane: int,
    fetcher: Fetcher,
    request: Request,
    policy: SourcePolicy,
    requests: int | None,
    stop: asyncio.Event,
) -> None:
    done = 0
    while not stop.is_set() and (requests is None or done < requests):
        try:
            await fetcher.fetch(request, policy, AttemptLog(), fetcher.budget(policy))
            _say(f"{lane} ok")
        except ScrapeError as exc:
            _say(f"{lane} {exc.outcome.value}")
        done += 1


async def run(url: str, concurrency: int, requests: int | None) -> None:
    settings = Settings.from_env(os.environ)
    proxies = load_proxy_config(settings.proxies_file)
    store = open_store(settings.state)
    fetcher = Fetcher(
        store=store, proxies=proxies, upstream_overrides=settings.upstreams, require_secrets=False
    )
    tiers = tuple(proxies.names())
    policy = SourcePolicy(
        name="fleet",
        tiers=tiers,
        start_tier=tiers[0],
        default_timeout=5.0,
        transient_retries=0,
        backoff_initial=0.01,
        backoff_max=0.05,
        rate=UNBOUNDED,
    )
    # Which process sent a request, for the upstream to tell.
    request = Request(url, headers={WORKER_HEADER: str(os.getpid())})
    try:
        _say(READY)
        await asyncio.to_thread(sys.stdin.readline)  # the go signal
        # Lanes stop between fetches rather than by cancellation: under Python 3.11, asyncio.wait_for
        # (inside redis-py) can swallow a cancellation, which would leave a lane fetching forever.
        stop = asyncio.Event()
        lanes = [
            asyncio.create_task(_lane(n, fetcher, request, policy, requests, stop))
            for n in range(concurrency)
        ]
        if requests is None:
            await asyncio.to_thread(sys.stdin.read)  # until stdin closes
            stop.set()
        await asyncio.gather(*lanes)
    finally:
        await fetcher.aclose()
        await store.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.fleet_worker", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=1, help="fetches in flight at once")
    parser.add_argument(
        "--requests", type=int, help="fetches per lane, then exit (default: until stdin closes)"
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args.url, args.concurrency, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
