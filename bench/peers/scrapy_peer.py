"""Scrapy 2.19 on the chaos benchmark: `python -m bench.peers.scrapy_peer` (started by `python -m bench`).

The configuration a competent user would write for these APIs, each choice from what the fleet
also starts from (registry.yaml), all durations divided by the time scale:

- Scrapy's default download handler (Twisted HTTP/1.1) on the asyncio reactor; one spider, every
  request `dont_filter` (the same job runs many times), 404/410 handed to the callback (the
  scraper's own verdict), everything else non-2xx to the errback.
- Retries: `RetryMiddleware` with `RETRY_TIMES = 3` (the fleet's `transient_retries` is 3) on its
  default codes (500, 502, 503, 504, 522, 524, 408, 429) and connection errors and timeouts. It
  does not read Retry-After; nothing in stock Scrapy does.
- Rate limits: `DOWNLOAD_SLOTS` gives each host a delay of 1 / the source's configured rate (the
  rate the fleet starts at), and AutoThrottle (target concurrency 1, max delay 60 s) adapts it to
  latency. Stock AutoThrottle lowers a slot's delay toward the latency (a few ms here) whatever
  the slot was given, and ignores 429s; `RateFloorAutoThrottle` keeps each slot's configured
  delay as its floor and doubles the delay on a 429, the two lines a user facing rate-limited APIs
  adds.
- Proxies: `TierProxyMiddleware`, cheapest first per request: the source's ladder from
  registry.yaml (direct, datacenter, residential from its start tier), round robin over the
  cheapest tier with a usable proxy. A connection error or timeout through a proxy marks that
  proxy dead for a jittered exponential backoff (scrapy-rotating-proxies' defaults: base 300 s,
  cap 3600 s); a 403 through a proxy bans that proxy for that host, a 407 bans the proxy, both
  for the same backoff, and the request is retried at once on the next usable proxy. A tier is
  left when none of its proxies is usable for the host and taken again as soon as one is.
- Timeouts: per request (`download_timeout` meta), the source's timeout for the tier it goes
  through (registry `timeouts:`), as the fleet uses them.
- Concurrency: 32 requests, 8 per host (Scrapy's default per domain).

A job's requests still queued when the job has failed are dropped before they are sent
(IgnoreRequest), as the fleet's runner cancels them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from bench.peers.runner import JobPlan, PeerSession, Planned, ProxySpec, Route, child_main
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind
from scrapers.http.classify import classify_response

REQUEST_CONCURRENCY = 32
PER_HOST_CONCURRENCY = 8
RETRY_TIMES = 3
AUTOTHROTTLE_MAX_DELAY = 60.0  # simulated seconds (Scrapy's default)
AUTOTHROTTLE_START_DELAY = 5.0  # simulated seconds (Scrapy's default; every host has its own slot delay)
BACKOFF_BASE = 300.0  # simulated seconds (scrapy-rotating-proxies' ROTATING_PROXY_BACKOFF_BASE)
BACKOFF_CAP = 3600.0  # ROTATING_PROXY_BACKOFF_CAP
ANSWERS = [404, 410]  # handed to the callback: the scraper decides what they mean
# Scrapy loads components by import path; run as `python -m`, this module is also `__main__`,
# so every path names the package module and main() runs from it (one copy of each class).
MODULE = "bench.peers.scrapy_peer"


def _session(crawler: Crawler) -> PeerSession:
    spider = crawler.spider
    assert isinstance(spider, BenchSpider)
    return spider.session


class SimulatedHttpsHandler(HTTP11DownloadHandler):
    """Scrapy's default handler; sends to the simulated twin of the URL and counts every send."""

    async def download_request(self, request: scrapy.Request) -> Response:
        session = _session(self._crawler)
        session.count(request.meta.get("proxy"))
        wire = request.replace(url=session.wire_url(request.url))
        response = await super().download_request(wire)
        return response.replace(url=request.url)


class RateFloorAutoThrottle(AutoThrottle):
    """AutoThrottle that keeps each slot's configured delay as its floor and backs off on 429."""

    def _response_downloaded(
        self, response: Response, request: scrapy.Request, spider: scrapy.Spider
    ) -> None:
        key, slot = self._get_slot(request, spider)
        if slot is None or key is None:
            return
        floor = self.crawler.settings.getdict("DOWNLOAD_SLOTS").get(key, {}).get("delay", self.mindelay)
        if response.status == 429:
            slot.delay = min(self.maxdelay, max(floor, slot.delay * 2))
            return
        super()._response_downloaded(response, request, spider)
        slot.delay = max(floor, slot.delay)


@dataclass
class _ProxyState:
    failures: int = 0
    dead_until: float = 0.0


class TierProxyMiddleware:
    """Cheapest tier first, per request; proxies that fail are rested with exponential backoff."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._proxies: dict[str, _ProxyState] = {}
        self._bans: dict[tuple[str, str], _ProxyState] = {}  # (proxy, host): 403 through it
        self._turns: dict[tuple[str, str], Iterator[int]] = {}
        self._random = random.Random(0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TierProxyMiddleware:
        return cls(crawler)

    def _usable(self, proxy: ProxySpec, host: str, now: float) -> bool:
        state = self._proxies.get(proxy.name)
        ban = self._bans.get((proxy.name, host))
        return (state is None or state.dead_until <= now) and (ban is None or ban.dead_until <= now)

    def _pick(self, found: Route, now: float) -> ProxySpec | None:
        for rung in found.ladder:
            if not rung.proxies:
                return None  # direct
            usable = [proxy for proxy in rung.proxies if self._usable(proxy, found.host, now)]
            if usable:
                turn = self._turns.setdefault((found.host, rung.tier), itertools.count())
                return usable[next(turn) % len(usable)]
        # Nothing usable anywhere: the one that comes back soonest on the most expensive tier.
        last = found.ladder[-1].proxies
        return min(last, key=lambda p: self._proxies.get(p.name, _ProxyState()).dead_until)

    def _rest(self, state: _ProxyState, now: float) -> None:
        session = _session(self.crawler)
        bound = min(BACKOFF_CAP, BACKOFF_BASE * 2**state.failures)
        state.failures += 1
        state.dead_until = now + session.wall(self._random.uniform(0, bound))

    def process_request(self, request: scrapy.Request) -> None:
        session = _session(self.crawler)
        plan = session.plans[request.meta["bench_job"]]
        if plan.ended:
            raise IgnoreRequest(f"job {plan.index} has already ended")
        host = request.meta["bench_host"]
        found = session.route(host)
        proxy = self._pick(found, time.monotonic())
        request.meta["proxy"] = proxy.url if proxy else None
        request.meta["bench_proxy"] = proxy.name if proxy else None
        tier = proxy.tier if proxy else found.ladder[0].tier
        request.meta["download_timeout"] = session.wall(found.timeout(tier))

    def process_response(self, request: scrapy.Request, response: Response) -> scrapy.Request | Response:
        name = request.meta.get("bench_proxy")
        if name is None:
            return response
        now = time.monotonic()
        if response.status == 407:
            self._rest(self._proxies.setdefault(name, _ProxyState()), now)
        elif response.status == 403:
            self._rest(self._bans.setdefault((name, request.meta["bench_host"]), _ProxyState()), now)
        else:
            self._proxies.pop(name, None)
            self._bans.pop((name, request.meta["bench_host"]), None)
            return response
        spider = self.crawler.spider
        assert spider is not None
        retry = get_retry_request(request, spider=spider, reason=f"proxy {name}: HTTP {response.status}")
        return retry if retry is not None else response

    def process_exception(self, request: scrapy.Request, exception: Exception) -> None:
        name = request.meta.get("bench_proxy")
        if name is not None and not isinstance(exception, IgnoreRequest):
            self._rest(self._proxies.setdefault(name, _ProxyState()), time.monotonic())
        # RetryMiddleware retries it; process_request then picks the next usable proxy.


def _detail(failure: Failure) -> str:
    error = failure.value
    if isinstance(error, HttpError):
        return classify_response(error.response.status, {}, b"", BodyKind.JSON).outcome.value
    name = type(error).__name__
    if "Timeout" in name:
        return Outcome.TRANSIENT.value
    return name


class BenchSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, session: PeerSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._slot_free = asyncio.Event()

    def _request(self, planned: Planned) -> scrapy.Request:
        return scrapy.Request(
            planned.url,
            headers=dict(planned.headers),
            callback=self.on_page,
            errback=self.on_failure,
            dont_filter=True,
            meta={
                "bench_job": planned.job,
                "bench_node": planned.node,
                "bench_host": planned.host,
                "handle_httpstatus_list": ANSWERS,
            },
        )

    def _ended(self, plan: JobPlan) -> None:
        if plan.ended:
            self._slot_free.set()

    async def start(self) -> AsyncIterator[Any]:
        """The scenario's jobs in order, `concurrency` in flight, like the fleet's run loop."""
        while True:
            # Cleared before looking: a job ending while this yields sets it again, never lost.
            self._slot_free.clear()
            admitted = self.session.admit()
            for plan in admitted:
                for planned in plan.start():
                    yield self._request(planned)
            if self.session.all_admitted:
                return
            if not admitted:
                await self._slot_free.wait()

    def on_page(self, response: Response) -> Iterator[scrapy.Request]:
        plan = self.session.plans[response.meta["bench_job"]]
        if plan.ended:
            return
        headers = {
            key.decode("latin-1"): b", ".join(values).decode("latin-1")
            for key, values in response.headers.items()
        }
        try:
            following = plan.answered(response.meta["bench_node"], response.status, headers, response.body)
        except ScrapeError as exc:
            self.session.fail(plan, exc.outcome)
        else:
            yield from (self._request(item) for item in following)
            self.session.finish_if_complete(plan)
        self._ended(plan)

    def on_failure(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        plan = self.session.plans[request.meta["bench_job"]]
        if isinstance(failure.value, IgnoreRequest) and not isinstance(failure.value, HttpError):
            return  # dropped because its job had already ended
        self.session.fail(plan, _detail(failure))
        self._ended(plan)


def settings(session: PeerSession) -> dict[str, Any]:
    return {
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": REQUEST_CONCURRENCY,
        "CONCURRENT_REQUESTS_PER_DOMAIN": PER_HOST_CONCURRENCY,
        "RETRY_TIMES": RETRY_TIMES,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "AUTOTHROTTLE_START_DELAY": session.wall(AUTOTHROTTLE_START_DELAY),
        "AUTOTHROTTLE_MAX_DELAY": session.wall(AUTOTHROTTLE_MAX_DELAY),
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_SLOTS": {
            found.host: {"delay": session.wall(1.0 / found.rate), "concurrency": PER_HOST_CONCURRENCY}
            for found in session.routes()
        },
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            f"{MODULE}.RateFloorAutoThrottle": 0,
        },
        # Before HttpProxyMiddleware (750), which reads the proxy this one sets.
        "DOWNLOADER_MIDDLEWARES": {f"{MODULE}.TierProxyMiddleware": 740},
        "DOWNLOAD_HANDLERS": {"https": f"{MODULE}.SimulatedHttpsHandler"},
    }


def run(session: PeerSession) -> None:
    process = AsyncCrawlerProcess(settings(session), install_root_handler=False)
    process.crawl(BenchSpider, session=session)
    process.start(install_signal_handlers=False)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    child_main(run)


if __name__ == "__main__":
    from bench.peers.scrapy_peer import main as package_main

    package_main()
