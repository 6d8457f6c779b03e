"""Every answer is JSON, every request leaves one access line (Cloud Logging's `httpRequest`), and
every line a request causes, its runs' included, carries the request's trace."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from scrapers.core.logs import TRACE, Trace
from scrapers.service.errors import ServiceError
from scrapers.service.service_metrics import ServiceMetrics

log = logging.getLogger("scrapers.service")
access = logging.getLogger("scrapers.service.access")
# Probes and scrapes arrive every few seconds; their lines are DEBUG so real traffic stands out.
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})
# `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (Google's front ends; the span id in decimal) and
# W3C `traceparent: 00-TRACE_ID-SPAN_ID-FLAGS` (hex).
CLOUD_TRACE_HEADER = "X-Cloud-Trace-Context"
TRACEPARENT_HEADER = "traceparent"
_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=([01]))?")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_NO_ID = re.compile(r"0+")


def trace_of(headers: Mapping[str, str]) -> Trace | None:
    """The request's trace: X-Cloud-Trace-Context (what Cloud Run's own request log is keyed on),
    else traceparent; None when neither is there or well formed (never a guess)."""
    cloud = _CLOUD_TRACE.fullmatch(headers.get(CLOUD_TRACE_HEADER, "").strip())
    if cloud and not _NO_ID.fullmatch(cloud.group(1)):
        trace_id, span, sampled = cloud.groups()
        # Cloud Logging's spanId is 16 hex digits; this header gives the span in decimal.
        span_id = f"{int(span):016x}" if span and 0 < int(span) < 2**64 else None
        return Trace(trace_id.lower(), span_id, None if sampled is None else sampled == "1")
    parent = _TRACEPARENT.fullmatch(headers.get(TRACEPARENT_HEADER, "").strip())
    if parent and not _NO_ID.fullmatch(parent.group(1)) and not _NO_ID.fullmatch(parent.group(2)):
        trace_id, span_id, flags = parent.groups()
        return Trace(trace_id, span_id, bool(int(flags, 16) & 1))
    return None


def trace_middleware() -> Middleware:
    @web.middleware
    async def trace(request: web.Request, handler: Handler) -> web.StreamResponse:
        # A context variable: the runs this request starts copy it into their own tasks.
        token = TRACE.set(trace_of(request.headers))
        try:
            return await handler(request)
        finally:
            TRACE.reset(token)

    return trace


def error_middleware(metrics: ServiceMetrics) -> Middleware:
    @web.middleware
    async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ServiceError as exc:
            metrics.reject(exc.status)
            return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
        except web.HTTPException as exc:
            # The router's 404/405 and aiohttp's own 413 (a body past client_max_size).
            if exc.status < 400:
                raise
            metrics.reject(exc.status)
            headers = {k: v for k, v in exc.headers.items() if k in (hdrs.ALLOW,)}
            return web.json_response({"error": _reason(exc)}, status=exc.status, headers=headers)
        except Exception:
            log.exception("internal error while handling %s %s", request.method, request.path)
            return web.json_response(
                {"error": "internal error (the service log has the traceback)"}, status=500
            )

    return render_errors


def _reason(exc: web.HTTPException) -> str:
    if exc.status == 413:
        return "the request body is too large"
    if exc.status == 404:
        return "no such route (GET /openapi.yaml lists every route)"
    if exc.status == 405:
        return f"method not allowed (allowed: {exc.headers.get(hdrs.ALLOW, '-')})"
    return exc.reason


def access_log_middleware() -> Middleware:
    @web.middleware
    async def log_access(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        response = await handler(request)
        level = _access_level(request.path, response.status)
        if access.isEnabledFor(level):
            access.log(
                level,
                "%s %s %d",
                request.method,
                request.path,
                response.status,
                extra={
                    "httpRequest": {
                        "requestMethod": request.method,
                        "requestUrl": request.path_qs,
                        "status": response.status,
                        "latency": f"{time.monotonic() - started:.6f}s",
                        "remoteIp": request.remote or "",
                        "userAgent": request.headers.get(hdrs.USER_AGENT, ""),
                        "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                    },
                    **({"run_id": response.headers["X-Run-Id"]} if "X-Run-Id" in response.headers else {}),
                },
            )
        return response

    return log_access


def _access_level(path: str, status: int) -> int:
    """As Cloud Run's own request log: 5xx ERROR, 4xx WARNING; probes and scrapes DEBUG."""
    if status >= 500:
        return logging.ERROR
    if status >= 400:
        return logging.WARNING
    return logging.DEBUG if path in QUIET_PATHS else logging.INFO
