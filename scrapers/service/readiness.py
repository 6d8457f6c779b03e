"""GET /ready: can a run land and remember state right now? (GET /health never asks anyone.)"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable
from pathlib import Path

from scrapers.pipeline.wiring import Core
from scrapers.sinks.base import Sink
from scrapers.sinks.file import FileSink
from scrapers.sinks.gcs import GcsSink

OK = "ok"
READY_PREFIX = "_ready/"  # an empty prefix: listing it proves the bucket and the permission


async def readiness(core: Core, timeout: float) -> dict[str, str]:
    """`ok` or the problem, per dependency; each check has its own timeout."""
    return {
        "state_store": await _check(core.store.ping(), timeout),
        "sink": await _check(sink_reachable(core.output.sink), timeout),
    }


async def sink_reachable(sink: Sink) -> None:
    """Raise when the sink cannot take a document now."""
    if isinstance(sink, FileSink):
        await asyncio.to_thread(_writable, sink.root)
    elif isinstance(sink, GcsSink):
        # Listing needs only object-level read permission (the runtime's service account may have
        # no bucket-level role), and a missing bucket answers 404 here, unlike a single-object stat.
        await sink.bucket.list(sink.bucket.location.name(READY_PREFIX))


def _writable(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    # Creating a file is the only test that also catches a read-only mount.
    with tempfile.TemporaryFile(dir=root, prefix=".ready-"):
        pass


async def _check(probe: Awaitable[None], timeout: float) -> str:
    try:
        await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure as "not ready", with its type
        return f"{type(exc).__name__}: {exc}"
    return OK
