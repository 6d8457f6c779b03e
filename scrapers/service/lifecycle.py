"""Start, serve, and stop gracefully on SIGTERM (Cloud Run, Kubernetes) or SIGINT.

Stopping: refuse new runs (503), stop listening, let in-flight runs finish within the shutdown
timeout and cut the rest off (each still ends with a completion), push the metrics to the
Pushgateway when one is configured, sweep the outbox once more with the time that is left, close
everything, exit 0.

The whole stop fits the platform's kill: Cloud Run sends SIGKILL 10 s after SIGTERM. Runs get
COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT (8 s by default); what follows shares the rest. The metrics
push comes first, because a sweep can take long (each entry's publish may wait up to its timeout
when Pub/Sub hangs) and its entries are safe in the outbox anyway; the sweep then gets what is
left and stops at its first failure (scrapers/events/delivery.py). An operator who gives runs more
than 8 s (Kubernetes: a longer terminationGracePeriodSeconds) moves the end with it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from scrapers.core.errors import CourtsideError
from scrapers.metrics.exposition import MetricsNotPushed, push
from scrapers.pipeline.runs import CLOSE_SECONDS, MIN_PUSH_SECONDS, STOP_SECONDS
from scrapers.service.app import Service, create_app

log = logging.getLogger("scrapers.service")

# Handlers still writing a response when the listener closes get this long before aiohttp cancels
# them; every run has already finished (or been cut off) by then.
RESPONSE_GRACE_SECONDS = 2.0
# The service's one Pushgateway group: a shutdown replaces the previous instance's snapshot instead
# of leaving one dead group per container (its metrics carry scraper labels, so that cannot group).
PUSH_GROUP = {"instance": "service"}
# What follows the drain, when the shutdown timeout leaves less than this of STOP_SECONDS: the
# cut-off runs' completions, the metrics push and the sweep (10 s - the default 8 s).
AFTER_DRAIN_SECONDS = 2.0
# The cut-off runs stop waiting for their publishes this long before the end, so the push has it.
PUSH_RESERVE_SECONDS = 0.5


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


@dataclass(frozen=True)
class StopBudget:
    """The time a stop has, from the signal: `end` is a time.monotonic() value."""

    end: float

    @classmethod
    def after(cls, drain_seconds: float) -> StopBudget:
        """From now: STOP_SECONDS, or the drain and AFTER_DRAIN_SECONDS when that is longer."""
        end = time.monotonic() + max(STOP_SECONDS, drain_seconds + AFTER_DRAIN_SECONDS)
        return cls(end - CLOSE_SECONDS)

    def left(self, reserve: float = 0.0) -> float:
        return max(0.0, self.end - reserve - time.monotonic())


async def shutdown(service: Service, runner: web.AppRunner) -> None:
    manager = service.manager
    manager.accepting = False
    timeout = service.settings.shutdown_timeout_seconds
    budget = StopBudget.after(timeout)
    log.info("shutting down: no new runs", extra={"in_flight": manager.in_flight})
    for site in list(runner.sites):
        await site.stop()
    delivery = service.core.output.delivery
    # A run cut off at the end of the drain waits for its completion's publish only until the
    # push's turn (0.5 s with the defaults instead of 3 s); the publish goes on meanwhile.
    delivery.stop_wait_seconds = min(
        delivery.stop_wait_seconds, max(0.0, budget.left(PUSH_RESERVE_SECONDS) - timeout)
    )
    cut = await manager.drain(timeout)
    if cut:
        log.warning("%d runs did not finish within %gs and were cut off", cut, timeout)
    gateway = service.core.pushgateway
    if gateway:
        try:
            await _push(service, gateway, max(budget.left(), MIN_PUSH_SECONDS))
        except (OSError, MetricsNotPushed) as exc:  # urllib's URLError/HTTPError are OSErrors
            log.warning("metrics not pushed to %s: %s", gateway, exc)
        else:
            log.info("metrics pushed to %s", gateway, extra={"group": PUSH_GROUP})
    await _sweep(service, budget.left())
    log.info("stopped")


async def _sweep(service: Service, seconds: float) -> None:
    """The outbox's last sweep, within `seconds`; what it cannot send stays pending."""
    if seconds <= 0:
        log.warning(
            "outbox not swept: no time left before the platform's kill; pending entries wait for the "
            "next republish"
        )
        return
    report = await service.core.output.delivery.sweep(0.0, budget_seconds=seconds)
    fields = {
        "sent": len(report.sent),
        "failed": len(report.failed),
        "skipped": report.skipped,
        "left": len(report.left) + len(report.unfinished),
        "budget_seconds": round(seconds, 3),
    }
    if report.cut_short == "listing":
        log.warning(
            "outbox not swept: listing its pending entries took the %.1fs left; they wait for the next "
            "republish",
            seconds,
            extra=fields,
        )
    elif report.failed or report.left or report.unfinished:
        first = f": {service.core.redactor(report.errors[0])}" if report.errors else ""
        log.warning(
            "outbox swept in part: %d sent, %d failed, %d left for the next republish%s",
            len(report.sent),
            len(report.failed),
            len(report.left) + len(report.unfinished),
            first,
            extra=fields,
        )
    else:
        log.info("outbox swept", extra=fields)


async def _push(service: Service, gateway: str, seconds: float) -> None:
    # Counter totals from the shared store, as a job container pushes: the next instance's shutdown
    # push adds to this one's instead of replacing it with counters that started at zero.
    await push(service.core.metrics, service.core.store, gateway, PUSH_GROUP, budget_seconds=seconds)


def _url(runner: web.AppRunner, host: str) -> str:
    address = runner.addresses[0]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{address[1]}"
