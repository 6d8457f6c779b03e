"""Land a recorded upstream body through the real run path and read back what landed.

The landed-shape conformance tests need the bytes downstream would read, not a parse result: the
runner decides what lands (a document or the upstream body, see `Landing`). So a recording is
served by an httpx transport to the one run path (`prepare` -> `run_job` -> file sink ->
completion), exactly as a replayed CLI run is, and the landed file and the completion come back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from scrapers.core.clock import FrozenClock
from scrapers.core.redact import Redactor
from scrapers.core.registry import load_registry
from scrapers.core.result import RunResult
from scrapers.core.settings import Locations, Settings
from scrapers.pipeline.runner import prepare, run_job
from scrapers.pipeline.wiring import open_core

# The old platform's recordings are of game nights; the clock only names the landing second.
LANDED_AT = datetime(2024, 1, 25, 4, 0, tzinfo=UTC)
CONTENT_TYPES = {".json": "application/json", ".pdf": "application/pdf", ".html": "text/html"}

Responder = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class Landed:
    result: RunResult
    body: bytes | None  # the bytes at the object path (None when nothing landed)
    completion: dict[str, Any]

    @property
    def document(self) -> Any:
        assert self.body is not None, f"nothing landed: {self.result.to_dict()}"
        return json.loads(self.body)


def serve(body: bytes, content_type: str = "application/json", status: int = 200) -> Responder:
    """Every request gets this one recorded response."""

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": content_type}, content=body)

    return respond


def serve_file(path: Path, status: int = 200) -> Responder:
    """Every request gets the recording at `path` (gzipped recordings are sent decompressed)."""
    import gzip

    raw = path.read_bytes()
    suffixes = path.suffixes
    if suffixes and suffixes[-1] == ".gz":
        raw = gzip.decompress(raw)
        suffixes = suffixes[:-1]
    content_type = CONTENT_TYPES.get(suffixes[-1] if suffixes else ".json", "application/json")
    return serve(raw, content_type, status)


def land(
    tmp_path: Path,
    scraper: str,
    options: Mapping[str, object],
    responder: Responder,
    *,
    at: datetime = LANDED_AT,
) -> Landed:
    """Run `scraper` once against `responder` and return what landed under `tmp_path`."""
    return asyncio.run(_land(tmp_path, scraper, options, responder, at))


async def _land(
    tmp_path: Path, scraper: str, options: Mapping[str, object], responder: Responder, at: datetime
) -> Landed:
    registry = load_registry()
    clock = FrozenClock(at)
    job = prepare(registry, scraper, options, clock)
    out = tmp_path / "out"
    core = await open_core(
        registry,
        Locations(out=str(out), fixtures=tmp_path / "no-fixtures"),
        [job.entry],
        httpx.MockTransport(responder),
        Redactor(),
        replay=True,  # no state file, proxies, throttle or keys: only the landing is under test
        clock=clock,
        env=Settings.from_env({}),
    )
    try:
        result = await run_job(job, core.context)
    finally:
        await core.aclose()
    lines = (out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
    completion: dict[str, Any] = json.loads(lines[-1])
    documents = [path for path in result.landed if path.endswith(".json")]
    body = Path(documents[0]).read_bytes() if documents else None
    return Landed(result=result, body=body, completion=completion)


def top_level_shape(document: Any) -> dict[str, str]:
    """Top-level keys and the JSON type of each value: what downstream's loaders key on."""
    assert isinstance(document, dict), f"landed document is a {type(document).__name__}, not an object"
    return {key: _json_type(value) for key, value in document.items()}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
