"""crawlee-python 1.11 on the chaos benchmark: `python -m bench.peers.crawlee_peer` (via python -m bench).

The configuration a competent user would write for these APIs, each choice from what the fleet
also starts from (registry.yaml), all durations divided by the time scale:

- `HttpCrawler` with crawlee's default HTTP client (impit; no browser), one request per plan step.
- Proxies: crawlee's `ProxyConfiguration(tiered_proxy_urls=...)`, one per host, its tiers the
  source's ladder from registry.yaml cheapest first (`[None]` for direct; datacenter proxies; the
  residential proxy). crawlee has one proxy configuration per crawler, so a thin subclass hands
  each request to its host's tiered configuration; the tier choice itself is crawlee's
  (`_ProxyTierTracker`: per domain, errors at a tier move the domain up, quiet ones move it down).
- Sessions: crawlee's session pool at its defaults (1000 sessions, 50 min max age), with 407
  added to the blocked status codes (401, 403, 429), so a proxy refusing its credentials rotates
  the session and with it the proxy, as a 403 does.
- Retries: `max_request_retries=3` (crawlee's default; the fleet's `transient_retries` is 3 too),
  `max_session_rotations=10` (default). 404/410 are handed to the handler (the scraper's own
  verdict: not found, or no data where a source says so), never retried, as crawlee does anyway.
- Rate limits: crawlee's `ThrottlingRequestManager` for every host: each host's crawl delay is
  1 / the source's configured rate (registry `rate:`, the rate the fleet starts at), and a 429
  defers the request until its Retry-After (or exponential backoff from 2 s, at most 60 s).
- Timeouts: `navigation_timeout` 30 s, the registry's shortest proxied timeout (nbac datacenter;
  crawlee has one per crawler); every answer of the simulator arrives within 9 s.
- Concurrency: fixed at 32 requests (min = max = desired). crawlee's autoscaling reads the
  machine's CPU, which the simulator and other processes share here; a fixed pool keeps the
  comparison about fetch decisions.

What the adapter adds for time compression only: crawlee's pool looks for ready requests every
0.5 s of wall time when idle (20 simulated seconds at the standard scale would be 10); the adapter
wakes it every 0.5 simulated seconds instead. A job's requests still queued when the job has
failed are skipped before they are sent (a pre-navigation hook), as the fleet's runner cancels them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from crawlee import ConcurrencySettings, Request, service_locator
from crawlee.crawlers import BasicCrawlingContext, HttpCrawler, HttpCrawlingContext
from crawlee.errors import (
    ContextPipelineInterruptedError,
    HttpStatusCodeError,
    ProxyError,
    SessionError,
)
from crawlee.http_clients import HttpCrawlingResult, ImpitHttpClient
from crawlee.proxy_configuration import ProxyConfiguration, ProxyInfo
from crawlee.request_loaders import ThrottlingRequestManager
from crawlee.sessions import Session, SessionPool
from crawlee.statistics import Statistics
from crawlee.storage_clients import MemoryStorageClient
from crawlee.storages import RequestQueue
from yarl import URL

from bench.peers.runner import JobPlan, PeerSession, Planned, Route, child_main
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind
from scrapers.http.classify import classify_response

REQUEST_CONCURRENCY = 32
NAVIGATION_TIMEOUT = 30.0  # simulated seconds
MAX_REQUEST_RETRIES = 3
SESSION_MAX_AGE = 50 * 60.0  # crawlee's default, simulated seconds
BLOCKED_STATUS_CODES = [401, 403, 407, 429]
BACKOFF_BASE = 2.0  # ThrottlingRequestManager defaults, simulated seconds
BACKOFF_MAX = 60.0
STALL = 900.0
POOL_POLL = 0.5  # crawlee's own idle poll, simulated seconds here


class SimulatedImpitClient(ImpitHttpClient):
    """crawlee's default client; sends to the simulated twin of the URL and counts every send."""

    def __init__(self, session: PeerSession) -> None:
        super().__init__()
        self._bench = session

    async def crawl(
        self,
        request: Request,
        *,
        session: Session | None = None,
        proxy_info: ProxyInfo | None = None,
        statistics: Statistics[Any] | None = None,
        timeout: timedelta | None = None,
    ) -> HttpCrawlingResult:
        self._bench.count(proxy_info.url if proxy_info else None)
        wire = request.model_copy(update={"url": self._bench.wire_url(request.url)})
        result = await super().crawl(
            wire, session=session, proxy_info=proxy_info, statistics=statistics, timeout=timeout
        )
        request.loaded_url = request.url
        return result


class HostTieredProxies(ProxyConfiguration):
    """One stock tiered configuration per host ladder; crawlee picks the tier within each."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        super().__init__(proxy_urls=[None])
        ladders: dict[tuple[tuple[str | None, ...], ...], ProxyConfiguration] = {}
        self._by_host: dict[str, ProxyConfiguration] = {}
        for host, found in routes.items():
            tiers = tuple(
                tuple(proxy.url for proxy in rung.proxies) if rung.proxies else (None,)
                for rung in found.ladder
            )
            if tiers not in ladders:
                ladders[tiers] = ProxyConfiguration(tiered_proxy_urls=[list(tier) for tier in tiers])
            self._by_host[host] = ladders[tiers]

    async def new_proxy_info(
        self, session_id: str | None, request: Request | None, proxy_tier: int | None
    ) -> ProxyInfo | None:
        host = URL(request.url).host if request is not None else None
        configuration = self._by_host.get(host or "")
        if configuration is None:
            raise LookupError(f"no proxy ladder for host {host!r}")
        return await configuration.new_proxy_info(session_id, request, proxy_tier)


def _detail(error: Exception) -> str:
    """The failure class of a request crawlee gave up on, for the breakdown line."""
    if isinstance(error, HttpStatusCodeError):
        return classify_response(error.status_code, {}, b"", BodyKind.JSON).outcome.value
    if isinstance(error, ProxyError):
        return Outcome.PROXY.value
    if isinstance(error, SessionError):
        return Outcome.BLOCKED.value
    if isinstance(error, asyncio.TimeoutError):
        return Outcome.TRANSIENT.value
    return type(error).__name__


class CrawleePeer:
    def __init__(self, session: PeerSession) -> None:
        self.session = session
        self.routes = {route.host: route for route in session.routes()}
        self.crawler: HttpCrawler | None = None

    def _request(self, planned: Planned) -> Request:
        return Request.from_url(
            planned.url,
            headers=dict(planned.headers),
            unique_key=f"{planned.job}/{planned.node}",
            user_data={"job": planned.job, "node": planned.node},
        )

    def _plan(self, request: Request) -> tuple[JobPlan, int]:
        return self.session.plans[int(str(request.user_data["job"]))], int(str(request.user_data["node"]))

    async def _add(self, planned: list[Planned]) -> None:
        assert self.crawler is not None
        if planned:
            await self.crawler.add_requests([self._request(item) for item in planned])

    async def _admit(self) -> None:
        for plan in self.session.admit():
            await self._add(plan.start())
        if self.session.done and self.crawler is not None:
            self.crawler.stop("every job has ended")

    async def _skip_ended(self, context: BasicCrawlingContext) -> None:
        plan, _ = self._plan(context.request)
        if plan.ended:
            raise ContextPipelineInterruptedError(f"job {plan.index} has already ended")

    async def _handle(self, context: HttpCrawlingContext) -> None:
        plan, node = self._plan(context.request)
        if plan.ended:
            return
        response = context.http_response
        body = await response.read()
        try:
            following = plan.answered(node, response.status_code, dict(response.headers), body)
        except ScrapeError as exc:
            self.session.fail(plan, exc.outcome)
            await self._admit()
            return
        await self._add(following)
        if self.session.finish_if_complete(plan):
            await self._admit()

    async def _failed(self, context: BasicCrawlingContext, error: Exception) -> None:
        plan, _ = self._plan(context.request)
        if self.session.fail(plan, _detail(error)):
            await self._admit()

    async def _wake(self) -> None:
        """Wake crawlee's idle pool every POOL_POLL simulated seconds (its own poll is 0.5 s wall)."""
        assert self.crawler is not None
        pool = self.crawler._autoscaled_pool
        while True:
            await asyncio.sleep(self.session.wall(POOL_POLL))
            run = getattr(pool, "_current_run", None)
            if run is not None:
                run.worker_tasks_updated.set()

    async def run(self) -> None:
        session = self.session
        storage = MemoryStorageClient()
        service_locator.set_storage_client(storage)
        queue = await RequestQueue.open(storage_client=storage)
        throttle = ThrottlingRequestManager(
            inner=queue,
            domains=sorted(self.routes),
            request_manager_opener=RequestQueue.open,
            base_delay=timedelta(seconds=session.wall(BACKOFF_BASE)),
            max_delay=timedelta(seconds=session.wall(BACKOFF_MAX)),
            max_domain_stall=timedelta(seconds=session.wall(STALL)),
        )
        for host, found in self.routes.items():
            # crawlee reads a crawl delay from robots.txt; the APIs publish theirs as a rate.
            throttle.set_crawl_delay(f"https://{host}/", session.wall(1.0 / found.rate))  # type: ignore[arg-type]
        wall_timeout = timedelta(seconds=session.wall(NAVIGATION_TIMEOUT))
        self.crawler = HttpCrawler(
            http_client=SimulatedImpitClient(session),
            proxy_configuration=HostTieredProxies(self.routes),
            session_pool=SessionPool(
                create_session_settings={
                    "max_age": timedelta(seconds=session.wall(SESSION_MAX_AGE)),
                    "blocked_status_codes": BLOCKED_STATUS_CODES,
                }
            ),
            request_manager=throttle,
            max_request_retries=MAX_REQUEST_RETRIES,
            ignore_http_error_status_codes=[404, 410],
            concurrency_settings=ConcurrencySettings(
                min_concurrency=REQUEST_CONCURRENCY,
                max_concurrency=REQUEST_CONCURRENCY,
                desired_concurrency=REQUEST_CONCURRENCY,
            ),
            # HttpCrawler's typed kwargs leave out navigation_timeout, which it passes on and honours.
            navigation_timeout=wall_timeout,  # type: ignore[call-arg]
            keep_alive=True,
            configure_logging=False,
            request_handler=self._handle,
        )
        self.crawler.failed_request_handler(self._failed)
        self.crawler.pre_navigation_hook(self._skip_ended)
        await self._admit()
        waker = asyncio.create_task(self._wake())
        try:
            await self.crawler.run()
        finally:
            waker.cancel()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    child_main(lambda session: CrawleePeer(session).run())


if __name__ == "__main__":
    main()
