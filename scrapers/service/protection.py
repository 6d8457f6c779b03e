"""What keeps the service standing: a bearer token and a body limit (admission: scrapers.pipeline.admission).

Cloud Run IAM stays the production front door; the token is for everything else (a VM, a
cluster, a developer's machine). The in-flight cap refuses work up front (429 + Retry-After)
instead of queueing without bound; per-scraper slots queue runs of one scraper behind each other,
so one scraper's backlog never takes every connection to its upstream.
"""

from __future__ import annotations

import hmac

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from scrapers.service.errors import PayloadTooLarge, Unauthorized

# Liveness and readiness probes carry no credentials (Cloud Run's and Kubernetes' probes).
OPEN_PATHS = frozenset({"/health", "/ready"})


def token_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, presented = (authorization or "").partition(" ")
    # compare_digest on bytes: its time depends on the length only, never on where they differ.
    # aiohttp decodes header bytes that are not UTF-8 as lone surrogates; "surrogatepass" encodes
    # them too, and a value holding one can never equal a token's UTF-8, so such a header is a
    # wrong token (401), not an encoding error.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8")
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
