"""Start, serve, and stop gracefully on SIGTERM (Cloud Run, Kubernetes) or SIGINT.

Stopping: refuse new runs (503), stop listening, let in-flight runs finish within the shutdown
timeout and cut the rest off (each still ends with a completion), sweep the outbox once more,
push the metrics to the Pushgateway when one is configured, close everything, exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from scrapers.core.errors import CourtsideError
from scrapers.metrics.exposition import MetricsNotPushed, push
from scrapers.service.app import Service, create_app

log = logging.getLogger("scrapers.service")

# Handlers still writing a response when the listener closes get this long before aiohttp cancels
# them; every run has already finished (or been cut off) by then.
RESPONSE_GRACE_SECONDS = 2.0
# The service's one Pushgateway group: a shutdown replaces the previous instance's snapshot instead
# of leaving one dead group per container (its metrics carry scraper labels, so that cannot group).
PUSH_GROUP = {"instance": "service"}


class ListenError(CourtsideError):
    """The address is taken or not ours to listen on."""


async def run_service(
    service: Service,
    host: str,
    port: int,
    *,
    stop: asyncio.Event | None = None,
    on_listening: Callable[[str], None] | None = None,
    handle_signals: bool = True,
) -> int:
    """Serve until `stop` is set or a SIGTERM/SIGINT arrives; then shut down gracefully. Returns 0."""
    stop = stop or asyncio.Event()
    runner = web.AppRunner(
        create_app(service),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=RESPONSE_GRACE_SECONDS,
        # The header-read timeout. aiohttp (>= 3.14.5) arms its keep-alive timer when a connection
        # opens and again after each answer, and bytes of an incomplete request head do not reset
        # it: a connection that has not sent a whole head by then is closed (slowloris), as is one
        # idle that long. A handler in progress is never cut by it.
        keepalive_timeout=service.settings.header_timeout_seconds,
    )
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        url = _url(runner, host)
        log.info(
            "listening on %s",
            url,
            extra={
                "url": url,
                "mode": "replay" if service.replay else "live",
                # Without a token, only the network (loopback, Cloud Run IAM) stands in front of it.
                "auth": "bearer token" if service.settings.token else "none",
            },
        )
        if on_listening is not None:
            on_listening(url)
        await stop.wait()
        await shutdown(service, runner)
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
        await runner.cleanup()
        await service.aclose()
    return 0


async def shutdown(service: Service, runner: web.AppRunner) -> None:
    manager = service.manager
    manager.accepting = False
    log.info("shutting down: no new runs", extra={"in_flight": manager.in_flight})
    for site in list(runner.sites):
        await site.stop()
    timeout = service.settings.shutdown_timeout_seconds
    cut = await manager.drain(timeout)
    if cut:
        log.warning("%d runs did not finish within %gs and were cut off", cut, timeout)
    report = await service.core.output.delivery.sweep(0.0)
    log.info(
        "outbox swept",
        extra={"sent": len(report.sent), "failed": len(report.failed), "skipped": report.skipped},
    )
    gateway = service.core.pushgateway
    if gateway:
        try:
            await _push(service, gateway)
        except (OSError, MetricsNotPushed) as exc:  # urllib's URLError/HTTPError are OSErrors
            log.warning("metrics not pushed to %s: %s", gateway, exc)
    log.info("stopped")


async def _push(service: Service, gateway: str) -> None:
    # Counter totals from the shared store, as a job container pushes: the next instance's shutdown
    # push adds to this one's instead of replacing it with counters that started at zero.
    await push(service.core.metrics, service.core.store, gateway, PUSH_GROUP)


def _url(runner: web.AppRunner, host: str) -> str:
    address = runner.addresses[0]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{address[1]}"
