"""(b) No breakers, a fixed delay: what a careful but non-adaptive client does.

Per request: the source's tiers in cost order from its start tier (as the fleet), each proxy in
configuration order; on each, up to 3 attempts with a fixed 2 s pause between them, whatever
went wrong (Retry-After is not read); then the next proxy. A 404, 401 or an unparseable body
fails at once. No circuit breakers, no memory of which proxy failed, no rate limiter. It uses the
fleet's classification, timeouts, job plan and parsers, so only the retry policy differs.
"""

from __future__ import annotations

import asyncio

import httpx

from bench.jobs import FAKE_SECRETS, BenchJob, parse, scraper_and_options, status_of, walk
from bench.policies.base import Attempts, JobEnd
from bench.policies.fleet import proxy_config
from bench.simulator import Simulator
from proxy.config import BreakerSettings, ProxyConfig, ProxyEndpoint, Tier
from proxy.pool import ProxyPool
from proxy.state import MemoryStore
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import Registry
from scrapers.core.request import Page, Request
from scrapers.http.classify import Leg, classify_exception, classify_response
from scrapers.http.decode import to_page
from scrapers.http.policy import SourcePolicy

ATTEMPTS_PER_PROXY = 3
DELAY_SECONDS = 2.0
FAIL_FAST = frozenset({Outcome.NOT_FOUND, Outcome.AUTH, Outcome.STRUCTURAL})


class FixedDelayPolicy:
    name = "fixed"
    title = "fixed delay"

    def __init__(self, registry: Registry, scale: float) -> None:
        self.registry = registry
        self.scale = scale
        self._attempts = Attempts()
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._config: ProxyConfig | None = None
        self._overrides: dict[str, str] = {}

    async def start(self, sim: Simulator) -> None:
        self._config = proxy_config(sim, BreakerSettings())
        self._overrides = sim.overrides

    def attempts(self) -> Attempts:
        return self._attempts

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def run(self, job: BenchJob) -> JobEnd:
        scraper, opts = scraper_and_options(job.job)
        policy = SourcePolicy.from_settings(
            job.job.entry.source, self.registry.sources[job.job.entry.source].settings
        )
        try:
            pages = await walk(scraper, opts, lambda request: self._fetch(request, policy), concurrent=True)
            parsed = parse(scraper, opts, pages, f"fixed-{job.index}")
        except ScrapeError as exc:
            return JobEnd("failed", exc.outcome.value)
        return JobEnd(status_of(parsed).value, parsed.no_data_reason or "")

    def _routes(self, policy: SourcePolicy) -> list[tuple[Tier, ProxyEndpoint | None]]:
        assert self._config is not None
        tiers = ProxyPool(self._config, MemoryStore()).tiers_for(policy.tiers, policy.start_tier)
        return [(tier, endpoint) for tier in tiers for endpoint in (tier.proxies or (None,))]

    async def _fetch(self, request: Request, policy: SourcePolicy) -> Page:
        last = ScrapeError(Outcome.PROXY, f"no route for {request.describe()}")
        for tier, endpoint in self._routes(policy):
            for attempt in range(ATTEMPTS_PER_PROXY):
                if attempt:
                    await asyncio.sleep(DELAY_SECONDS / self.scale)
                page, error = await self._attempt(request, policy, tier, endpoint)
                if page is not None:
                    return page
                assert error is not None
                if error.outcome in FAIL_FAST:
                    raise error
                last = error
        raise last

    async def _attempt(
        self, request: Request, policy: SourcePolicy, tier: Tier, endpoint: ProxyEndpoint | None
    ) -> tuple[Page | None, ScrapeError | None]:
        client = self._client(endpoint)
        rules = policy.rules_for(request.host)
        timeout = policy.timeout_for(tier.name) / self.scale
        self._attempts.add(tier.name)
        try:
            response = await client.get(
                simulated(request.url, self._overrides),
                params=[*request.params, *secret_params(request)],
                headers={**request.headers, **secret_headers(request)},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            verdict = classify_exception(exc, rules, leg=Leg.FORWARD if endpoint is not None else None)
            return None, ScrapeError(verdict.outcome, verdict.reason)
        verdict = classify_response(
            response.status_code, response.headers, response.content, request.expect, rules
        )
        if not verdict.outcome.is_clean:
            return None, ScrapeError(verdict.outcome, verdict.reason)
        try:
            return to_page(
                request, response.status_code, response.headers, response.content, verdict=verdict
            ), None
        except ScrapeError as exc:
            return None, exc

    def _client(self, endpoint: ProxyEndpoint | None) -> httpx.AsyncClient:
        key = endpoint.name if endpoint else "direct"
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(proxy=endpoint.url if endpoint else None, trust_env=False)
            self._clients[key] = client
        return client


def simulated(url: str, overrides: dict[str, str]) -> str:
    """The request's URL on the simulator (the same rewrite as the core's upstream overrides)."""
    for base, replacement in overrides.items():
        if url.startswith(base + "/") or url == base:
            return replacement + url[len(base) :]
    return url


def secret_params(request: Request) -> list[tuple[str, str]]:
    return [(s.query, s.template.format(FAKE_SECRETS[s.env])) for s in request.secrets if s.query]


def secret_headers(request: Request) -> dict[str, str]:
    return {s.header: s.template.format(FAKE_SECRETS[s.env]) for s in request.secrets if s.header}
