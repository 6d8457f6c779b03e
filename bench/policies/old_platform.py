"""(a) The old platform's retry and proxy policy, as OLD-PLATFORM.md §1.3-1.6 documents it, over httpx.

Three nested layers, modelled one to one:

1. urllib3's `Retry(total=3, status_forcelist=[429, 500, 502, 503, 504], backoff_factor=3,
   respect_retry_after_header=True)` inside every `session.get`: up to 4 requests, sleeping 0, 6,
   12 s (or Retry-After on 429/503). Errors (refused, reset, read timeout) are retried the same
   way and then surface as requests' ConnectionError/ProxyError/ConnectTimeout. A status still in
   the forcelist after the last try raises `RetryError`, which no layer above catches: the run
   aborts without trying another proxy (§1.4 "Important interaction").
2. The proxy loop (`download_data_with_proxy`): the pool is every configured proxy not in
   cooldown, in *health-weighted random* order (the "1 -> 2 -> 3" priority is not honoured),
   minus open circuits (all of them if that leaves none). Per proxy up to 3 attempts; 200 stops;
   401/403 or anything else moves on; exceptions back off `min(2*2^n + U(0,1), 15)` s; 2-3 s
   between proxies. The last response (or None) goes to the outer loop.
3. The outer loop (`download_and_decode`): a non-200 (except 404/422), no response, a WAF page or
   a PDF without `%PDF` is retried up to `max_retries_decode` (8) times after sleeping
   `min(4*2^(n-1), 15)` s; 404/422 and undecodable JSON fail at once. When the retries run out
   and the scraper has `treat_max_retries_as_success` (the injury report), the run is reported
   as a `no_data` *success*, whatever the cause.

Health (`ProxyManager`): score 100, +5 per success, -15 per failure (-10 for timeouts), -2/-4 for
answers slower than 5/10 s; below 20 a cooldown of 60 s * 2^(n-1) (at most 600 s). Breaker
(`ProxyCircuitBreaker`): per (provider, host), open after 3 consecutive failures, half-open after
5 minutes. Both are process-wide here (the benchmark's process is the old service instance); the
breaker's BigQuery round trips and 300 s read cache are not modelled, which favours the old policy.

Per-scraper facts (§2): proxy use, `timeout_http`, the injury report's 2 retries with a fixed 2 s
sleep and its `no_data` escape, bp_player_props' nested events run (3 attempts, 15/30 s apart) and
2.5 s between offer pages, scoreboard V2 downloading twice. Requests and parsing are the fleet's
scrapers' (the old per-event offers request joined event ids; here each event is one request).
All sleeps and timeouts are divided by the time scale.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import httpx

from bench.jobs import BenchJob, parse, scraper_and_options, status_of, walk
from bench.policies.base import Attempts, JobEnd
from bench.policies.fixed_delay import secret_headers, secret_params, simulated
from bench.scenario import ProxyProfile
from bench.simulator import SimClock, Simulator
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.http.classify import parse_retry_after
from scrapers.http.decode import decode_body

# urllib3 adapter (get_retry_strategy)
URLLIB3_TOTAL = 3
URLLIB3_BACKOFF_FACTOR = 3.0
URLLIB3_BACKOFF_MAX = 60.0
STATUS_FORCELIST = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({413, 429, 503})
# proxy loop
MAX_RETRIES_PER_PROXY = 3
PERMANENT_FAILURE_CODES = frozenset({401, 403})
RETRYABLE_STATUS_CODES = frozenset({429, 503, 504})
# outer loop
NO_RETRY_STATUS_CODES = frozenset({404, 422})
WAF_MARKERS = (
    "checking your browser",
    "please enable javascript",
    "please enable cookies",
    "access denied",
    "ray id:",
    "__cf_chl",
    "challenge-form",
    "captcha",
    "security check",
    "blocked",
    "ddos protection",
)
# ProxyManager health and ProxyCircuitBreaker
HEALTH_START = 100.0
HEALTH_COOLDOWN_BELOW = 20.0
CIRCUIT_FAILURE_THRESHOLD = 3
CIRCUIT_COOLDOWN_SECONDS = 300.0


@dataclass(frozen=True)
class Quirks:
    proxy: bool = False
    timeout: float = 20.0
    max_retries_decode: int = 8
    fixed_retry_sleep: float | None = None
    no_data_on_exhaustion: bool = False  # treat_max_retries_as_success is non-empty
    page_sleep: float = 0.0  # before each follow-up request
    nested_first: tuple[float, ...] = ()  # the first request is a nested run, retried after these sleeps
    downloads: int = 1


_PROXIED = Quirks(proxy=True)
QUIRKS: Mapping[str, Quirks] = MappingProxyType(
    {
        "nbac_scoreboard_v2": Quirks(proxy=True, downloads=2),
        "nbac_player_boxscore": _PROXIED,
        "nbac_team_boxscore": _PROXIED,
        "nbac_play_by_play": _PROXIED,
        "nbac_injury_report": Quirks(
            proxy=True, max_retries_decode=2, fixed_retry_sleep=2.0, no_data_on_exhaustion=True
        ),
        "nbac_gamebook_pdf": Quirks(proxy=True, timeout=60.0),
        "nbac_player_list": _PROXIED,
        "nbac_referee_assignments": _PROXIED,
        "nbac_schedule_api": _PROXIED,
        "bp_events": _PROXIED,
        "bp_player_props": Quirks(proxy=True, timeout=45.0, page_sleep=2.5, nested_first=(15.0, 30.0)),
    }
)  # everything else (Odds API, ESPN, BDL, cdn schedule, roster, player movement): direct, 20 s


class _RequestsError(Exception):
    """What `session.get` raised after urllib3 gave up (requests' exception types)."""

    kind = "connection_error"

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _RetryError(_RequestsError):
    kind = "retry_error"


class _ProxyError(_RequestsError):
    kind = "proxy_error"


class _ConnectTimeout(_RequestsError):
    kind = "connect_timeout"


class _ConnectionError(_RequestsError):
    kind = "connection_error"


class _Retryable(Exception):
    """NoHttpStatusCode / RetryInvalidHttpStatusCode / InvalidRegionDecode: the outer loop retries."""


class _Fatal(Exception):
    """InvalidHttpStatusCode (404, 422) or DownloadDataException (undecodable JSON)."""


class _MaxRetries(Exception):
    """DownloadDecodeMaxRetryException."""


@dataclass
class _Health:
    score: float = HEALTH_START
    cooldown_until: float = -math.inf
    cooldowns: int = 0


@dataclass
class _Circuit:
    state: str = "closed"
    failures: int = 0
    opened_at: float = 0.0

    def admits(self, now: float) -> bool:
        if self.state == "open" and now - self.opened_at >= CIRCUIT_COOLDOWN_SECONDS:
            self.state = "half_open"
        return self.state != "open"


@dataclass
class _Proxies:
    """The process-wide ProxyManager and the (provider, host) circuits."""

    profiles: tuple[ProxyProfile, ...]
    rng: random.Random
    health: dict[str, _Health] = field(default_factory=dict)
    circuits: dict[tuple[str, str], _Circuit] = field(default_factory=dict)

    def _health(self, proxy: ProxyProfile) -> _Health:
        return self.health.setdefault(proxy.name, _Health())

    def _circuit(self, proxy: ProxyProfile, host: str) -> _Circuit:
        return self.circuits.setdefault((proxy.provider, host), _Circuit())

    def pool(self, host: str, now: float) -> list[ProxyProfile]:
        ordered = self._weighted(list(self.profiles))
        usable = [p for p in ordered if self._health(p).cooldown_until <= now]
        usable = [p for p in usable if self._circuit(p, host).admits(now)]
        return usable or ordered  # "trying all anyway"

    def _weighted(self, proxies: list[ProxyProfile]) -> list[ProxyProfile]:
        # Health-weighted random order without replacement (all scores start equal).
        keys = {p.name: self.rng.random() ** (1.0 / max(self._health(p).score, 1.0)) for p in proxies}
        return sorted(proxies, key=lambda p: keys[p.name], reverse=True)

    def success(self, proxy: ProxyProfile, host: str, seconds: float) -> None:
        health = self._health(proxy)
        penalty = 4.0 if seconds > 10 else 2.0 if seconds > 5 else 0.0
        health.score = min(HEALTH_START, health.score + 5.0) - penalty
        circuit = self._circuit(proxy, host)
        circuit.state, circuit.failures = "closed", 0

    def failure(self, proxy: ProxyProfile, host: str, now: float, *, timed_out: bool) -> None:
        health = self._health(proxy)
        health.score -= 10.0 if timed_out else 15.0
        if health.score < HEALTH_COOLDOWN_BELOW:
            health.cooldowns += 1
            health.cooldown_until = now + min(60.0 * 2 ** (health.cooldowns - 1), 600.0)
        circuit = self._circuit(proxy, host)
        circuit.failures += 1
        if circuit.state == "half_open" or circuit.failures >= CIRCUIT_FAILURE_THRESHOLD:
            circuit.state, circuit.opened_at = "open", now


class OldPlatformPolicy:
    name = "old"
    title = "old platform"

    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self._attempts = Attempts()
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._overrides: dict[str, str] = {}
        self._proxy_urls: dict[str, str] = {}
        self._proxies = _Proxies((), self.rng)
        self._clock = SimClock(scale)

    async def start(self, sim: Simulator) -> None:
        self._overrides = sim.overrides
        self._proxy_urls = sim.proxy_urls
        self._proxies = _Proxies(sim.scenario.proxies, self.rng)
        self._clock = sim.clock

    def attempts(self) -> Attempts:
        return self._attempts

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def _sleep(self, simulated_seconds: float) -> None:
        if simulated_seconds > 0:
            await asyncio.sleep(simulated_seconds / self.scale)

    # --- one job ---------------------------------------------------------------------------------

    async def run(self, job: BenchJob) -> JobEnd:
        quirks = QUIRKS.get(job.scraper, Quirks())
        scraper, opts = scraper_and_options(job.job)
        first = scraper.requests(opts)[0]

        async def fetch(request: Request) -> Page:
            if request == first and quirks.nested_first:
                return await self._nested(request, quirks.nested_first)
            page: Page | None = None
            for _ in range(quirks.downloads):
                page = await self._download_and_decode(request, quirks)
            assert page is not None
            return page

        try:
            pages = await walk(scraper, opts, fetch, concurrent=False, between=quirks.page_sleep / self.scale)
            parsed = parse(scraper, opts, pages, f"old-{job.index}")
        except _MaxRetries:
            if quirks.no_data_on_exhaustion:
                # treat_max_retries_as_success: any exhausted retry becomes a "no data" success.
                return JobEnd("no_data", "max retries reported as no data")
            return JobEnd("failed", "max_retries")
        except _RequestsError as exc:
            return JobEnd("failed", exc.kind)
        except _Fatal as exc:
            return JobEnd("failed", str(exc))
        except ScrapeError as exc:
            return JobEnd("failed", exc.outcome.value)
        return JobEnd(status_of(parsed).value, parsed.no_data_reason or "")

    async def _nested(self, request: Request, pauses: tuple[float, ...]) -> Page:
        """bp_player_props' nested BettingProsEvents run: whole runs, retried after each pause."""
        for pause in (*pauses, None):
            try:
                return await self._download_and_decode(request, QUIRKS["bp_events"])
            except (_MaxRetries, _RequestsError, _Fatal):
                if pause is None:
                    raise
                await self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- outer loop ------------------------------------------------------------------------------

    async def _download_and_decode(self, request: Request, quirks: Quirks) -> Page:
        retries = 0
        for _ in range(100):  # the old hard loop guard
            try:
                if quirks.proxy:
                    response = await self._via_proxies(request, quirks)
                else:
                    response = await self._session_get(request, None, quirks)
                return self._check_and_decode(request, response)
            except _Retryable:
                if retries >= quirks.max_retries_decode:
                    raise _MaxRetries from None
                retries += 1
                await self._sleep(quirks.fixed_retry_sleep or min(4.0 * 2 ** (retries - 1), 15.0))
        raise _MaxRetries

    def _check_and_decode(self, request: Request, response: httpx.Response | None) -> Page:
        if response is None:
            raise _Retryable("NoHttpStatusCodeException")
        status = response.status_code
        if status != 200:
            if status in NO_RETRY_STATUS_CODES:
                raise _Fatal(f"HTTP {status}")
            raise _Retryable(f"HTTP {status}")
        body = response.content
        content_type = response.headers.get("content-type", "")
        if request.expect is BodyKind.JSON and "text/html" in content_type:
            head = body[:2000].decode("utf-8", errors="replace").lower()
            if any(marker in head for marker in WAF_MARKERS):
                raise _Retryable("WAF challenge")
        if request.expect is BodyKind.PDF and not body.startswith(b"%PDF"):
            raise _Retryable("InvalidRegionDecodeException")
        try:
            data = decode_body(body, response.headers, request.expect)
        except ScrapeError:
            raise _Fatal("decode") from None
        return Page(request, status, dict(response.headers), body, data, Outcome.OK)

    # --- proxy loop ------------------------------------------------------------------------------

    async def _via_proxies(self, request: Request, quirks: Quirks) -> httpx.Response | None:
        host = request.host
        pool = self._proxies.pool(host, self._clock.now())
        last: httpx.Response | None = None
        for index, proxy in enumerate(pool):
            if index:
                await self._sleep(self.rng.uniform(2.0, 3.0))
            for attempt in range(MAX_RETRIES_PER_PROXY):
                started = self._clock.now()
                final = attempt == MAX_RETRIES_PER_PROXY - 1
                try:
                    response = await self._session_get(request, proxy, quirks)
                except _RetryError:
                    raise  # not caught by the proxy loop nor the outer loop: the run aborts
                except _RequestsError as exc:
                    last = None
                    if not final:
                        await self._sleep(min(2.0 * 2**attempt + self.rng.random(), 15.0))
                        continue
                    self._proxies.failure(proxy, host, self._clock.now(), timed_out=exc.timed_out)
                    break
                last = response
                status = response.status_code
                if status == 200:
                    self._proxies.success(proxy, host, self._clock.now() - started)
                    return response
                if status not in PERMANENT_FAILURE_CODES and status in RETRYABLE_STATUS_CODES and not final:
                    # Dead in practice: urllib3 already retried these and raised RetryError.
                    await self._sleep(min(2.0 * 2**attempt + self.rng.random(), 15.0))
                    continue
                # 401/403, any other status, or the last attempt: a failure, and the next proxy.
                self._proxies.failure(proxy, host, self._clock.now(), timed_out=False)
                break
        # "Scraper Proxy Exhaustion" is a notification only; the last response flows on.
        return last

    # --- session.get with the urllib3 Retry adapter -------------------------------------------------

    async def _session_get(
        self, request: Request, proxy: ProxyProfile | None, quirks: Quirks
    ) -> httpx.Response:
        client = self._client(proxy)
        failures = 0
        for tries in range(URLLIB3_TOTAL + 1):
            last_try = tries == URLLIB3_TOTAL
            self._attempts.add(proxy.tier if proxy else "direct")
            try:
                response = await client.get(
                    simulated(request.url, self._overrides),
                    params=[*request.params, *secret_params(request)],
                    headers={**request.headers, **secret_headers(request)},
                    timeout=quirks.timeout / self.scale,
                )
            except httpx.HTTPError as exc:
                error = _requests_error(exc, via_proxy=proxy is not None)
            else:
                if proxy is not None and response.status_code == 407:
                    # An https target through a proxy: the CONNECT tunnel fails, urllib3 retries it.
                    error = _ProxyError("Tunnel connection failed: 407")
                elif response.status_code in STATUS_FORCELIST:
                    failures += 1
                    if last_try:
                        raise _RetryError(f"too many {response.status_code} error responses")
                    retry_after = (
                        parse_retry_after(response.headers.get("retry-after"))
                        if response.status_code in RETRY_AFTER_STATUSES
                        else None
                    )
                    if retry_after:
                        await asyncio.sleep(retry_after)  # already in wall time (scaled by the simulator)
                    else:
                        await self._sleep(_backoff(failures))
                    continue
                else:
                    return response
            failures += 1
            if last_try:
                raise error
            await self._sleep(_backoff(failures))
        raise AssertionError("unreachable")  # pragma: no cover

    def _client(self, proxy: ProxyProfile | None) -> httpx.AsyncClient:
        key = proxy.name if proxy else "direct"
        client = self._clients.get(key)
        if client is None:
            url = self._proxy_urls[proxy.name] if proxy else None
            client = httpx.AsyncClient(proxy=url, trust_env=False)
            self._clients[key] = client
        return client


def _backoff(consecutive_errors: int) -> float:
    """urllib3 2.x `get_backoff_time`: 0 after the first error, then factor * 2^(n-1)."""
    if consecutive_errors <= 1:
        return 0.0
    return min(URLLIB3_BACKOFF_MAX, URLLIB3_BACKOFF_FACTOR * float(2 ** (consecutive_errors - 1)))


def _requests_error(exc: httpx.HTTPError, *, via_proxy: bool) -> _RequestsError:
    """What requests raises once urllib3's retries are spent on this kind of error."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError) and via_proxy:
        return _ProxyError(str(exc), timed_out=isinstance(exc, httpx.ConnectTimeout))
    if isinstance(exc, httpx.ConnectTimeout):
        return _ConnectTimeout(str(exc), timed_out=True)
    # Read timeouts and resets are urllib3 read errors; spent, they become ConnectionError.
    return _ConnectionError(str(exc), timed_out=isinstance(exc, httpx.TimeoutException))
