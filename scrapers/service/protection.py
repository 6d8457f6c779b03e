"""What keeps the service standing: a bearer token, a body limit, per-scraper slots, an in-flight cap.

Cloud Run IAM stays the production front door; the token is for everything else (a VM, a
cluster, a developer's machine). The in-flight cap refuses work up front (429 + Retry-After)
instead of queueing without bound; per-scraper slots queue runs of one scraper behind each other,
so one scraper's backlog never takes every connection to its upstream.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from scrapers.service.errors import PayloadTooLarge, Unauthorized

# Liveness and readiness probes carry no credentials (Cloud Run's and Kubernetes' probes).
OPEN_PATHS = frozenset({"/health", "/ready"})


class InFlightGate:
    """Admitted runs not finished yet; `try_acquire` never waits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0

    def try_acquire(self, count: int = 1) -> bool:
        if count < 1 or self.in_use + count > self.capacity:
            return False
        self.in_use += count
        return True

    def release(self, count: int = 1) -> None:
        self.in_use = max(0, self.in_use - count)


class ScraperSlots:
    """One semaphore per scraper, created on first use."""

    def __init__(self, default: int, overrides: Mapping[str, int]) -> None:
        self.default = default
        self.overrides = dict(overrides)
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def __call__(self, scraper: str) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(scraper)
        if semaphore is None:
            semaphore = asyncio.Semaphore(self.overrides.get(scraper, self.default))
            self._semaphores[scraper] = semaphore
        return semaphore


def token_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, presented = (authorization or "").partition(" ")
    # compare_digest on bytes: its time depends on the length only, never on where they differ.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode("utf-8"), token.encode("utf-8")
    )


def auth_middleware(token: str | None) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is not None and request.path not in OPEN_PATHS:
            if not request.headers.get(hdrs.AUTHORIZATION):
                raise Unauthorized("a bearer token is required: Authorization: Bearer <token>")
            if not token_matches(request.headers.get(hdrs.AUTHORIZATION), token):
                raise Unauthorized("the bearer token is not valid")
        return await handler(request)

    return authenticate


def body_limit_middleware(limit: int) -> Middleware:
    """Refuse a declared oversize body before reading it; aiohttp's client_max_size catches the rest."""

    @web.middleware
    async def limit_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes", max_body_bytes=limit)
        return await handler(request)

    return limit_body
