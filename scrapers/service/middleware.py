"""Every answer is JSON, every request leaves one access line (Cloud Logging's `httpRequest`)."""

from __future__ import annotations

import logging
import time

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from scrapers.service.errors import ServiceError
from scrapers.service.service_metrics import ServiceMetrics

log = logging.getLogger("scrapers.service")
access = logging.getLogger("scrapers.service.access")
# Probes and scrapes arrive every few seconds; their lines are DEBUG so real traffic stands out.
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


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
        level = logging.DEBUG if request.path in QUIET_PATHS and response.status < 400 else logging.INFO
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
