"""One logical request through the resilient core.

For a request: the pool plans its walk (proxy/pool.py: the starting tier for its host from the
evidence of blocks, the tier's proxies whose breakers admit traffic, healthy ones first), and on
each endpoint one tenacity loop retries `transient` and `rate_limited`: after the host-wide pause
the server asked for (Retry-After, on a 429 or a 503, held by the limiter), else after a full-jitter
exponential backoff, within the job's budget and deadline. `blocked`/`proxy` move to the next proxy
of the tier, then the next tier; a `proxy` fault feeds only that proxy's breaker, a `blocked` one
also the tier's evidence. `not_found`, `auth` and `structural` fail fast. There is no other retry
layer anywhere.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from proxy.answer_times import AnswerTimes
from proxy.breakers import Passage
from proxy.config import DIRECT_ONLY, ProxyConfig, ProxyEndpoint, Tier
from proxy.pool import ProxyBreaker, ProxyPool
from proxy.state import MemoryStore, StateStore
from scrapers.core.errors import MissingCredentialsError, ReplayMissError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.redact import Redactor
from scrapers.core.request import Page, Request
from scrapers.core.settings import SecretLookup
from scrapers.http.attempts import Attempt, AttemptLog
from scrapers.http.classify import (
    Classified,
    Leg,
    TunnelTrace,
    classify_exception,
    classify_overrun,
    classify_oversize,
    classify_presumed_hung,
    classify_response,
)
from scrapers.http.decode import to_page
from scrapers.http.encoding import ACCEPT_ENCODING, BodyDecoder
from scrapers.http.fleet_budget import SharedLimiter, fleet_store
from scrapers.http.observer import BreakerTransitions, FetchObserver, NullObserver
from scrapers.http.policy import JobBudget, SourcePolicy
from scrapers.http.quota import QuotaTracker
from scrapers.http.ratelimit import (
    AdaptiveLimiter,
    HostLimiter,
    LocalLimiter,
    RateChange,
    RateLimitWaitExceeded,
    RateSettings,
    Sleep,
    Ticket,
    least_seconds,
)

LIMITER_NAMESPACE = "limiter"
UNTHROTTLED = RateSettings(rate=1e6, burst=1_000_000, ceiling=1e6, floor=1e6, increase_step=1.0)
MOVE_ON = frozenset({Outcome.BLOCKED, Outcome.PROXY})
RETRY_HERE = frozenset({Outcome.TRANSIENT, Outcome.RATE_LIMITED})
_PARSED_URLS = 1024


class _RetryHere(Exception):
    def __init__(self, error: ScrapeError, retry_after: float | None) -> None:
        self.error = error
        self.retry_after = retry_after


# One attempt's verdict, its page when clean, and the response headers when a response came back.
_Sent = tuple[Classified, Page | None, Mapping[str, str] | None]


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr call per field, per request
class _Route:
    """One request on one endpoint (a proxy of a tier, or direct): what every attempt there needs."""

    request: Request
    policy: SourcePolicy
    log: AttemptLog
    budget: JobBudget
    tier: Tier
    endpoint: ProxyEndpoint | None
    breaker: ProxyBreaker | None
    due: float  # the request's place in the host's queue, for every turn it takes (JobBudget.due)


class Fetcher:
    """Owns the HTTP clients, pool, limiters and state of a process; scrapers never see them."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        redactor: Redactor | None = None,
        upstream_overrides: Mapping[str, str] | None = None,
        require_secrets: bool = True,
        secrets: SecretLookup | None = None,
        proxies: ProxyConfig = DIRECT_ONLY,
        store: StateStore | None = None,
        pool: ProxyPool | None = None,
        throttle: bool = True,
        observer: FetchObserver | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.redactor = redactor or Redactor()
        # Every wait the core takes (a backoff, a limiter's pacing or pause) goes through `sleep`,
        # what a test reads to see the waits asked; the jitter of Retry-After pauses draws from
        # `rng` (the backoff's is tenacity's own).
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.observer: FetchObserver = observer or NullObserver()
        self.overrides = {k.rstrip("/"): v.rstrip("/") for k, v in (upstream_overrides or {}).items()}
        self.require_secrets = require_secrets
        # API keys and proxy credentials by variable name (Settings.secret); None: no secrets at all.
        self.secrets: SecretLookup = secrets or _no_secrets
        self.store = store or MemoryStore()
        self.pool = pool or ProxyPool(proxies, self.store, listeners=[BreakerTransitions(self.observer)])
        # Credits left at metered upstreams (The Odds API), as their responses last reported them.
        self.quota = QuotaTracker(self.store)
        # How soon each host answers through each tier: when a proxied attempt is presumed hung.
        self.answers = AnswerTimes()
        self._observed: dict[str, str] = {}  # breaker key -> state last counted in the gauge
        self._transport = transport
        # Replay has no upstream to protect, so it need not wait for BDL's 5 requests a minute.
        self.throttle = throttle
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._limiters: dict[str, HostLimiter] = {}
        # Creating a limiter reads the store (an await): without the lock, concurrent first
        # requests to a host each built one, each with a full bucket.
        self._creating = asyncio.Lock()
        self._pending_rates: dict[str, RateChange] = {}  # by host: the last change not yet stored
        # The tiers a source may use, by (allowed tiers, start tier): from the proxies file alone,
        # which does not change while the process runs, so not rebuilt per request.
        self._tiers: dict[tuple[tuple[str, ...], str | None], list[Tier]] = {}
        self._parsed: dict[str, httpx.URL] = {}  # request URL -> its override, parsed (`_url`)

    async def aclose(self) -> None:
        await self._flush_rates()
        for client in self._clients.values():
            await client.aclose()

    def budget(self, policy: SourcePolicy) -> JobBudget:
        return JobBudget.of(policy)

    async def fetch(self, request: Request, policy: SourcePolicy, log: AttemptLog, budget: JobBudget) -> Page:
        """Fetch, classify and decode; raise ScrapeError carrying the outcome class on failure."""
        plan = (policy.tiers, policy.start_tier)
        tiers = self._tiers.get(plan)
        if tiers is None:
            tiers = self._tiers[plan] = self.pool.tiers_for(policy.tiers, policy.start_tier)
        if not tiers:
            raise ScrapeError(Outcome.PROXY, f"no configured proxy tier is allowed for source {policy.name}")
        last: ScrapeError | None = None
        forbidden_tiers: set[str] = set()
        limiter = await self._limiter(request.host, policy)
        # The host's turn first, then the route: at a busy host the wait for a turn is long, and a
        # route chosen before it (residential, because the datacenter proxy's circuit was open)
        # would be stale by the time the request goes out (the circuit has closed meanwhile).
        # In the host's queue the job nearest its deadline goes first, and a job's first request
        # early (JobBudget.due); the request keeps its place for every turn it takes.
        due = budget.due(request.host)
        ticket: Ticket | None = await limiter.acquire(deadline=budget.deadline, due=due)
        walk = await self.pool.walk(request.host, tiers, patient_until=budget.patient_until)
        self.observer.tier_chosen(policy.name, walk.first.name)
        while walk.has_more():
            if ticket is None:
                ticket = await limiter.acquire(deadline=budget.deadline, due=due)
            step = await walk.next()
            if step is None:
                break
            if step.wait:
                # The tier is out only for its proxies' open circuits, back soon: wait for it rather
                # than pay the next tier (proxy/pool.py, patience); the turn goes back meanwhile.
                await limiter.refund(ticket)
                ticket = None
                await self._sleep(step.wait)
                continue
            if step.again:
                # A second try through a proxy whose quick fault this request met: a retry.
                if budget.retries_left <= 0:
                    continue
                budget.retries_left -= 1
                self.observer.retry_granted(policy.name, Outcome.PROXY)
            route = _Route(request, policy, log, budget, step.tier, step.endpoint, step.breaker, due)
            try:
                page = await self._on_endpoint(route, limiter, ticket)
            except _MovedOn as moved:
                last = moved.error
                if moved.sent and moved.verdict.outcome is Outcome.BLOCKED:
                    # Evidence about the tier; a `proxy` fault is only the proxy's (its breaker).
                    await walk.blocked(step)
                    if moved.verdict.status == 403:
                        forbidden_tiers.add(step.tier.name)
                elif moved.sent:
                    walk.faulted(step, quick=not moved.verdict.hung)
                # An unused turn goes back; the next route gets one at once only when the host would
                # grant one now anyway, else it waits for its own, in the request's place.
                ticket = await limiter.keep(moved.unused) if moved.unused is not None else None
                continue
            await walk.clean(step)
            return page
        if ticket is not None:
            await limiter.refund(ticket)  # a turn taken for a route that turned out not to exist
        if last is None:
            raise ScrapeError(Outcome.PROXY, f"every proxy allowed for {request.host} has an open circuit")
        if len(tiers) > 1 and forbidden_tiers == {t.name for t in tiers}:
            # 403 on every tier including the cheapest: the endpoint itself changed, not our IPs.
            # Hangs and challenge pages everywhere stay `blocked`: those are how sites block fleets.
            raise ScrapeError(Outcome.STRUCTURAL, f"HTTP 403 on every tier for {request.describe()}")
        raise last

    async def _on_endpoint(self, route: _Route, limiter: HostLimiter, ticket: Ticket) -> Page:
        """`limiter`: the host's; `ticket`: its turn for the first attempt on this route (retries
        take their own)."""
        previous: list[ScrapeError] = []  # the failures retried on this route
        try:
            return await self._try(route, limiter, previous, ticket)
        except _RetryHere as failed:
            # Only a request that needs a retry builds the retry loop: nearly all succeed at once.
            return await self._retry(route, limiter, previous, failed)

    async def _retry(
        self, route: _Route, limiter: HostLimiter, previous: list[ScrapeError], first: _RetryHere
    ) -> Page:
        """The retries of one request on one route: a tenacity loop whose first round replays the
        failure `first` instead of sending, so that its stop and wait see exactly the states they
        would have seen had the loop run that attempt itself."""
        policy, budget = route.policy, route.budget
        # Full jitter: each wait drawn uniformly up to the exponential step (backoff_initial, then
        # twice that, ..., capped at backoff_max). A 429 draws from half the first step up, never
        # from 0: the host said we are too fast, and a retry at once is the one answer it refused.
        backoff = wait_random_exponential(multiplier=policy.backoff_initial, max=policy.backoff_max)
        refused = wait_random_exponential(
            multiplier=policy.backoff_initial, max=policy.backoff_max, min=policy.backoff_initial / 2
        )

        def wait(state: RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            if not isinstance(failure, _RetryHere):
                return 0.0  # pragma: no cover - only _RetryHere is retried
            if failure.retry_after is not None:
                # The limiter holds the pause the server asked for (429 or 503), for every request
                # to this host, in this process or (Redis state) in the fleet.
                return 0.0
            # No usable Retry-After (absent, unparseable, zero or a date gone by): back off.
            chosen = refused if failure.error.outcome is Outcome.RATE_LIMITED else backoff
            return min(float(chosen(state)), max(0.0, budget.remaining))

        def stop(state: RetryCallState) -> bool:
            # Called once per failed attempt that could be retried; a retry granted here is spent.
            failure = state.outcome.exception() if state.outcome else None
            transient = isinstance(failure, _RetryHere) and failure.error.outcome is Outcome.TRANSIENT
            if transient and state.attempt_number > policy.transient_retries:
                return True
            if budget.retries_left <= 0 or budget.remaining <= 0:
                return True
            budget.retries_left -= 1
            if isinstance(failure, _RetryHere):
                self.observer.retry_granted(policy.name, failure.error.outcome)
            return False

        pending: _RetryHere | None = first
        try:
            async for attempt in AsyncRetrying(
                stop=stop,
                wait=wait,
                retry=retry_if_exception_type(_RetryHere),
                reraise=True,
                sleep=self._sleep,
            ):
                with attempt:
                    if pending is not None:
                        replayed, pending = pending, None
                        raise replayed
                    return await self._try(route, limiter, previous)
        except _RetryHere as exhausted:
            raise exhausted.error from None
        raise AssertionError("tenacity returned without an outcome")  # pragma: no cover

    async def _try(
        self, route: _Route, limiter: HostLimiter, previous: list[ScrapeError], ticket: Ticket | None = None
    ) -> Page:
        """One attempt on a route: its page, or `_RetryHere`, `_MovedOn` or the ScrapeError to fail
        with. `previous` holds the failures retried on this route so far; `ticket`: a turn the
        caller already holds (else this attempt waits for one)."""
        request, budget = route.request, route.budget
        try:
            if ticket is None:
                ticket = await limiter.acquire(deadline=budget.deadline, due=route.due)
        except RateLimitWaitExceeded as exc:
            # Out of time while pacing or paused: the job failed with what made it
            # retry (a 503 stays transient, a 429 rate_limited); only a request that
            # never got a first turn here fails rate_limited for the wait itself.
            if previous and not exc.paused:
                raise previous[-1] from None
            if previous:
                raise ScrapeError(previous[-1].outcome, f"{previous[-1]}; then {exc}") from None
            raise
        passage = await route.breaker.enter() if route.breaker is not None else None
        if route.breaker is not None and passage is None:
            # The circuit opened while we waited for the token (here or in another
            # process), or another request holds its one probe: nothing is sent, so
            # the turn is still this request's, for its next route, and no tier evidence rises.
            skipped = Classified(Outcome.PROXY, f"circuit of proxy {route.breaker.endpoint.name} is open")
            raise _MovedOn(ScrapeError(Outcome.PROXY, skipped.reason), skipped, sent=False, unused=ticket)
        verdict, page, headers = await self._attempt(route, passage)
        if headers is not None and route.policy.quota is not None:
            # Also outside the breaker: a state-store hiccup must not open a proxy.
            await self._observe_quota(route, headers)
        if page is not None:
            await limiter.on_success(ticket)
            if self._pending_rates:
                await self._flush_rates()
            return page
        error = ScrapeError(verdict.outcome, f"{verdict.reason} for {request.describe()}")
        if verdict.outcome is Outcome.RATE_LIMITED:
            await limiter.on_rate_limited(ticket, verdict.retry_after, deadline=budget.deadline)
            await self._flush_rates()
        elif verdict.outcome is Outcome.TRANSIENT and verdict.retry_after is not None:
            # A 503 (or another 5xx) with Retry-After: the host said when it serves
            # again, to every request, so the pause is the host's; its rate stays.
            await limiter.pause(verdict.retry_after, deadline=budget.deadline)
        if (
            verdict.outcome in RETRY_HERE
            and verdict.retry_after is not None
            and verdict.retry_after > budget.remaining
        ):
            # The wait asked for does not fit: fail now, with the attempt's class,
            # instead of waiting past the deadline (the pause stays, for other jobs).
            raise ScrapeError(
                verdict.outcome,
                f"Retry-After {verdict.retry_after:.0f}s (HTTP {verdict.status}) exceeds the "
                f"{max(0.0, budget.remaining):.0f}s left for {request.describe()}",
            )
        if verdict.outcome in RETRY_HERE:
            previous.append(error)
            raise _RetryHere(error, verdict.retry_after)
        if verdict.outcome in MOVE_ON:
            if verdict.outcome is Outcome.PROXY:
                # The proxy failed; the host never saw it: the turn is still this request's, for
                # its next route, unless the limiter says otherwise (fetch, `keep`).
                raise _MovedOn(error, verdict, unused=ticket)
            raise _MovedOn(error, verdict)
        raise error

    async def _attempt(self, route: _Route, passage: Passage | None) -> _Sent:
        """One attempt; through a proxy, its passage is settled with the breaker whatever happens."""
        breaker = route.breaker
        if breaker is None or passage is None:
            return await self._send(route)
        sent: _Sent | None = None
        try:
            # A missing key raises here, before anything is sent: not the proxy's fault, so the
            # breaker learns nothing (and a probe's lease goes back).
            sent = await self._send(route)
            # A proxy fault's headers are the proxy's or a block page's: nothing to learn from.
            return (sent[0], None, None) if sent[0].outcome in MOVE_ON else sent
        finally:
            verdict = sent[0] if sent is not None else None
            # Nothing known: never sent, a hang nobody is blamed for (the job's deadline cut it), or
            # an attempt cut because the host usually answers sooner (maybe the origin is slow).
            if verdict is None or verdict.presumed_hung or (verdict.hung and verdict.outcome not in MOVE_ON):
                await breaker.settle(passage, failed=None)
            else:
                await breaker.settle(passage, failed=verdict.outcome in MOVE_ON, trip=verdict.opens_circuit)
            if self._observed.get(breaker.key) != breaker.state:
                # Recount only when a circuit's state moved (here, or read from another
                # process): not on every proxied attempt.
                self._observed[breaker.key] = breaker.state
                self.observer.breakers_changed(self.pool.breakers())

    async def _observe_quota(self, route: _Route, headers: Mapping[str, str]) -> None:
        reading = await self.quota.observe(route.request.host, headers, route.policy.quota)
        if reading:
            self.observer.quota_read(route.policy.name, reading)

    async def _send(self, route: _Route) -> _Sent:
        request, tier, policy = route.request, route.tier, route.policy
        client = self._client(route.endpoint)
        # The whole attempt, headers and body, ends within the time it may take: httpx's timeouts
        # restart at every read, so a body dripped a byte a second would outlive the job's deadline.
        allowed = _allowed_seconds(route)
        rules = policy.rules_for(request.host)
        # Through a proxy, an answer that has not started long after this host's usual answer time
        # is presumed hung (proxy/answer_times.py), except where a hang is the host's block.
        answer = allowed
        if route.endpoint is not None and not rules.hang_means_blocked:
            answer = self.answers.limit(
                tier.name, request.host, timeout=allowed, floor=policy.hang_after_seconds
            )
        # A missing key raises here, before anything is sent or counted in flight.
        outgoing = self._build(client, request, allowed, answer=answer)
        started = time.monotonic()
        source = policy.name
        overall = asyncio.timeout(allowed)
        leg = _leg(route, outgoing)
        tunnel: TunnelTrace | None = None
        if leg is Leg.CONNECT:
            # Through a CONNECT tunnel, httpcore's trace tells whether the proxy answered CONNECT.
            tunnel = outgoing.extensions["trace"] = TunnelTrace()
        downloaded = 0
        headers: dict[str, str] = {}
        self.observer.attempt_started(source)
        try:
            async with overall:
                # A keyed request never follows a redirect: httpx strips only Authorization on a
                # cross-origin hop, so an X-Api-Key or an apiKey parameter would reach the other
                # host. The 3xx itself is then classified (structural: the endpoint moved).
                response, body = await _exchange(
                    client, outgoing, follow=not request.secrets, limit=policy.max_body_bytes
                )
        except ReplayMissError:
            raise
        except _TooLarge as exc:
            verdict, response = (
                classify_oversize(policy.max_body_bytes, exc.response.status_code),
                exc.response,
            )
            downloaded = response.num_bytes_downloaded
            headers = dict(response.headers.items())
        except TimeoutError:
            if not overall.expired():
                raise
            verdict = classify_overrun(allowed, rules, leg=_timed_out_on(route, allowed, tunnel, leg))
        except httpx.HTTPError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            where = _timed_out_on(route, allowed, tunnel, leg) if timed_out else tunnel.leg if tunnel else leg
            if answer < allowed and isinstance(exc, httpx.ConnectTimeout | httpx.ReadTimeout):
                verdict = classify_presumed_hung(answer, tunnel.leg if tunnel else Leg.FORWARD)
                self.answers.cut(tier.name, request.host)
            else:
                verdict = classify_exception(exc, rules, leg=where)
        else:
            downloaded = response.num_bytes_downloaded
            # Read once: every look at httpx.Headers decodes all of them again (classification,
            # the proxy's marks, decoding, the page, the quota reading).
            headers = dict(response.headers.items())
            marks = route.endpoint.error_headers if route.endpoint is not None else ()
            verdict = classify_response(
                response.status_code,
                headers,
                body,
                request.expect,
                rules,
                leg=tunnel.leg if tunnel else leg,
                proxy_marks=marks,
                lowered=True,
            )
        finally:
            self.observer.attempt_ended(source)  # also after a replay miss: nothing stays in flight
        # Every attempt is a request to its tier's provider, answered or not (a refused or hung
        # connection is billed nothing, but counting it keeps the figure comparable to the bench's).
        self.observer.tier_traffic(tier.name, downloaded)
        seconds = time.monotonic() - started  # the exchange's; decoding is not the upstream's time
        if route.endpoint is not None and verdict.status is not None and verdict.outcome is not Outcome.PROXY:
            self.answers.answered(tier.name, request.host, seconds)  # the host answered through it
        page: Page | None = None
        if verdict.status is not None and verdict.outcome.is_clean:
            try:
                page = to_page(request, response.status_code, headers, body, verdict=verdict)
            except ScrapeError as exc:
                # A body that does not decode (broken JSON) is what the attempt came to: the log
                # and the metrics say `structural`, not the `ok` its status and label suggested.
                verdict = Classified(exc.outcome, str(exc), status=response.status_code)
        self.observer.attempt_classified(source, tier.name, verdict.outcome, seconds)
        attempt = Attempt(request.host, tier.name, verdict.outcome, verdict.status, verdict.reason, seconds)
        route.log.add(attempt)
        if verdict.status is None:
            return verdict, None, None
        return verdict, page, headers

    def _client(self, endpoint: ProxyEndpoint | None) -> httpx.AsyncClient:
        key = f"{endpoint.tier}/{endpoint.name}" if endpoint else "direct"
        client = self._clients.get(key)
        if client is None:
            proxy_url = None
            if endpoint is not None and self._transport is None:
                proxy_url, password = endpoint.connect_url(self.secrets)
                if password:
                    self.redactor.add(password)
            # trust_env=False: routes come from the proxy tiers only; an ambient HTTP_PROXY would
            # silently put every "direct" request through some other proxy.
            # Accept-Encoding names exactly what _read_within decodes, whatever optional decoders
            # httpx would advertise once installed (a scraper's own header still wins).
            client = httpx.AsyncClient(
                transport=self._transport,
                proxy=proxy_url,
                follow_redirects=True,
                trust_env=False,
                headers={"Accept-Encoding": ACCEPT_ENCODING},
            )
            self._clients[key] = client
        return client

    async def _limiter(self, host: str, policy: SourcePolicy) -> HostLimiter:
        limiter = self._limiters.get(host)
        if limiter is not None:
            return limiter
        async with self._creating:
            limiter = self._limiters.get(host)
            if limiter is None:
                limiter = await self._new_limiter(host, policy)
                self._limiters[host] = limiter
                self.observer.limiter_rate(policy.name, host, limiter.rate)
        return limiter

    async def _new_limiter(self, host: str, policy: SourcePolicy) -> HostLimiter:
        settings = policy.rate_for(host) if self.throttle else UNTHROTTLED
        shared = fleet_store(self.store) if self.throttle else None
        if shared is not None:
            # Redis: one budget (tokens, pause, learned rate) for every process of the fleet. The
            # rate lives in the budget itself, so a change only updates the gauge here.
            def gauge(change: RateChange) -> None:
                self.observer.limiter_rate(policy.name, change.host, change.new_rate)

            return SharedLimiter(shared, host, settings, on_change=gauge, sleep=self._sleep, rng=self._rng)
        # Memory or SQLite: a bucket per process, starting from the rate learned last time.
        stored = await self.store.get(LIMITER_NAMESPACE, host) if self.throttle else None
        burst = _stored_number(stored, "burst")
        return LocalLimiter(
            AdaptiveLimiter(
                host,
                settings,
                initial_rate=_stored_number(stored, "rate"),
                initial_burst=None if burst is None else int(burst),
                on_change=lambda change: self._remember_rate(change, policy.name),
                sleep=self._sleep,
            ),
            rng=self._rng,
        )

    def admit(self, requests: Sequence[Request], minimum: int, policy: SourcePolicy) -> None:
        """Refuse up front a job that cannot fit its deadline at its hosts' allowed rates.

        `requests` are the job's first requests; `minimum` is how many requests it sends at least
        (its scraper's count, never fewer than the first requests), the pages beyond the first
        requests going to the first request's host, where pagination stays. A job is refused only
        when even a full bucket followed by the host's ceiling rate takes longer than the deadline:
        `infeasible`, before anything is sent. Replay (no throttle) is never refused.
        """
        if not self.throttle or not requests:
            return
        counts = Counter(request.host for request in requests)
        counts[requests[0].host] += max(0, minimum - len(requests))
        for host, count in sorted(counts.items()):
            settings = policy.rate_for(host)
            needed = least_seconds(settings, count)
            if needed > policy.deadline_seconds:
                per_minute = settings.ceiling * 60
                raise ScrapeError(
                    Outcome.INFEASIBLE,
                    f"{count} requests to {host} need at least {needed:.0f}s at its highest allowed rate "
                    f"({per_minute:g}/min, burst {settings.burst}), more than the job's "
                    f"{policy.deadline_seconds:g}s deadline; nothing was sent (split the job, e.g. with a "
                    f"filter, or give it a longer deadline)",
                )

    def rates(self) -> dict[str, float]:
        return {host: limiter.rate for host, limiter in self._limiters.items()}

    def _remember_rate(self, change: RateChange, source: str) -> None:
        self._pending_rates[change.host] = change
        self.observer.limiter_rate(source, change.host, change.new_rate)

    async def _flush_rates(self) -> None:
        while self._pending_rates:
            host, change = self._pending_rates.popitem()
            await self.store.put(LIMITER_NAMESPACE, host, {"rate": change.new_rate, "burst": change.burst})

    def check_credentials(self, requests: Iterable[Request]) -> None:
        """Refuse a job whose API keys are not set before anything is sent: a missing key is the
        operator's bad input (exit 2), not an `auth` failure of the upstream to report downstream."""
        if not self.require_secrets:
            return
        missing = sorted(
            {secret.env for request in requests for secret in request.secrets if not self.secrets(secret.env)}
        )
        if missing:
            names = " and ".join(missing)
            raise MissingCredentialsError(
                f"environment variable{'s' if len(missing) > 1 else ''} {names} "
                f"{'are' if len(missing) > 1 else 'is'} not set: the upstream's API key is required",
                f"export {missing[0]}=<your key>",
            )

    def _build(
        self, client: httpx.AsyncClient, request: Request, timeout: float, *, answer: float | None = None
    ) -> httpx.Request:
        """`answer`: the longest wait for the connection and for each read (the answer's start
        included), when shorter than `timeout` (a proxied attempt presumed hung sooner)."""
        headers: Mapping[str, str] = request.headers
        params: list[tuple[str, str | int | float | bool | None]] | tuple[tuple[str, str], ...] = (
            request.params
        )
        if request.secrets:
            headers, params = self._with_secrets(request)
        url = self._url(request.url)
        # No parameters: None, not [], which would make httpx parse the URL again and rewrite its
        # query (kept as it was for a URL that carries one).
        query = params if params or "?" in request.url else None
        if client.cookies.jar:
            # Cookies the upstream set: httpx's own merge sends them back.
            outgoing = client.build_request(
                request.method, url, params=query, headers=headers, content=request.body
            )
        else:
            # What client.build_request gives for an absolute URL and no cookies, at half its cost:
            # it parses the URL string twice per request (~20 us each); here each URL is parsed
            # once (`_url`). Headers: the client's defaults, then the request's own (by name,
            # whatever the case, as httpx merges them).
            merged = client.headers
            if headers:
                merged = httpx.Headers(client.headers)
                merged.update(headers)
            outgoing = httpx.Request(request.method, url, params=query, headers=merged, content=request.body)
        # What httpx.Timeout(timeout).as_dict() gives, without building the object per request.
        waits = timeout if answer is None else answer
        outgoing.extensions["timeout"] = {
            "connect": waits,
            "read": waits,
            "write": timeout,
            "pool": timeout,
        }
        return outgoing

    def _with_secrets(
        self, request: Request
    ) -> tuple[dict[str, str], list[tuple[str, str | int | float | bool | None]]]:
        """The request's headers and parameters with its API keys filled in from the environment."""
        headers = dict(request.headers)
        params: list[tuple[str, str | int | float | bool | None]] = list(request.params)
        for secret in request.secrets:
            value = self.secrets(secret.env)
            if not value:
                if self.require_secrets:
                    raise ScrapeError(Outcome.AUTH, f"environment variable {secret.env} is not set")
                continue
            self.redactor.add(value)
            filled = secret.template.format(value)
            if secret.header:
                headers[secret.header] = filled
            elif secret.query:
                params.append((secret.query, filled))
        return headers, params

    def _url(self, url: str) -> httpx.URL:
        """`url` overridden (`_override`) and parsed, once per URL: a scraper's URLs repeat (pages
        differ in their parameters), and parsing one costs more than the rest of building a request."""
        parsed = self._parsed.get(url)
        if parsed is None:
            if len(self._parsed) >= _PARSED_URLS:
                self._parsed.clear()  # a bound, not a cache policy: URLs rarely vary this much
            parsed = self._parsed[url] = httpx.URL(self._override(url))
        return parsed

    def _override(self, url: str) -> str:
        """Point an upstream base URL elsewhere (a simulator, a staging mirror) without code changes."""
        if not self.overrides:
            return url
        parts = urlsplit(url)
        replacement = self.overrides.get(f"{parts.scheme}://{parts.netloc}")
        if replacement is None:
            return url
        new = urlsplit(replacement)
        return urlunsplit(
            (new.scheme, new.netloc, new.path.rstrip("/") + parts.path, parts.query, parts.fragment)
        )


def _leg(route: _Route, outgoing: httpx.Request) -> Leg | None:
    """How an attempt reaches its host: None (direct), through a CONNECT tunnel (starting at its
    CONNECT leg), or forwarded (absolute-form, the proxy's HTTP layer sees every answer)."""
    if route.endpoint is None:
        return None
    return Leg.CONNECT if outgoing.url.scheme == "https" else Leg.FORWARD


def _timed_out_on(route: _Route, allowed: float, tunnel: TunnelTrace | None, leg: Leg | None) -> Leg | None:
    """The leg a timeout counts against: none when the job's deadline, not the tier's timeout, cut
    the attempt short (the job ran out of time; no proxy hung), else where the attempt was."""
    if allowed < route.policy.timeout_for(route.tier.name):
        return None
    return tunnel.leg if tunnel else leg


def _allowed_seconds(route: _Route) -> float:
    """One attempt's time: its tier's timeout, never past the job's deadline."""
    return min(route.policy.timeout_for(route.tier.name), max(0.001, route.budget.remaining))


class _TooLarge(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


async def _exchange(
    client: httpx.AsyncClient, outgoing: httpx.Request, *, follow: bool, limit: int
) -> tuple[httpx.Response, bytes]:
    """Send and read the body within `limit` bytes, following redirects here rather than in httpx:
    httpx reads a redirect's body whole, however large, before it follows."""
    request = outgoing
    for _ in range(client.max_redirects + 1):
        response = await client.send(request, follow_redirects=False, stream=True)
        try:
            body = await _read_within(response, limit)
        finally:
            await response.aclose()
        # httpx builds the next hop as it would itself (method, cookies, Authorization stripped
        # across origins) and leaves it here when it was told not to follow.
        if not follow or response.next_request is None:
            return response, body
        request = response.next_request
    raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)


async def _read_within(response: httpx.Response, limit: int) -> bytes:
    if response.is_stream_consumed:
        # Built in memory by an in-process transport (replay, a test's): already read and decoded.
        if len(response.content) > limit:
            raise _TooLarge(response)
        return response.content
    chunks: list[bytes] = []
    size = 0
    # The raw bytes, decoded here in bounded steps: httpx's own decoder inflates a whole network
    # read at once (64 KiB of a gzip bomb is ~64 MB) before anything could count it.
    decoder = BodyDecoder.of(response.headers)
    async for raw in response.aiter_raw():
        # The bytes on the wire stop what a decoder drops unread (anything after a gzip member's
        # end), which would otherwise stream on for ever.
        if response.num_bytes_downloaded > limit:
            raise _TooLarge(response)
        for piece in decoder.decode(raw):
            size += len(piece)
            # Decoded bytes stop a gzip bomb within one bounded step (encoding.STEP) past the limit.
            if size > limit:
                raise _TooLarge(response)
            chunks.append(piece)
    for piece in decoder.finish():
        size += len(piece)
        if size > limit:
            raise _TooLarge(response)
        chunks.append(piece)
    return b"".join(chunks)


def _no_secrets(name: str) -> None:
    return None


class _MovedOn(Exception):
    """Leave this endpoint for the next one; `sent`: a request went out (False: circuit open);
    `unused`: the host's turn, when the host never saw the request (the proxy failed)."""

    def __init__(
        self, error: ScrapeError, verdict: Classified, *, sent: bool = True, unused: Ticket | None = None
    ) -> None:
        self.error = error
        self.verdict = verdict
        self.sent = sent
        self.unused = unused


def _stored_number(stored: Mapping[str, Any] | None, key: str) -> float | None:
    """A number the limiter state holds, or None when absent or not a finite number (a store
    written by another version, or damaged): the configured value is used instead."""
    value = stored.get(key) if stored else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
