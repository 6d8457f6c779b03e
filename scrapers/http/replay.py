"""Record and replay of upstream exchanges as an httpx transport.

Fixture format (documented in tests/fixtures/README.md): one `<slug>.exchange.json` per request,

    {"request":  {"method": "GET", "url": "https://host/path?a=1&b=2", "body_sha256": null},
     "response": {"status": 200, "headers": {"content-type": "application/json"},
                  "body_file": "<slug>.body.json"}}

with the body in a sibling file. Requests match on method, scheme, host, path, the query
parameters as a sorted multiset with secret parameters removed, and the SHA-256 of the request
body. Headers never take part in matching and request headers are never stored, so credentials
cannot reach a fixture.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from scrapers.core.errors import ReplayMissError
from scrapers.http.encoding import decode_body

# Query parameters and response headers that may carry credentials or session state.
SECRET_QUERY_PARAMS = frozenset({"apikey", "api_key", "key", "token", "access_token", "password"})
DROPPED_RESPONSE_HEADERS = frozenset(
    {"set-cookie", "content-encoding", "content-length", "transfer-encoding", "connection", "date"}
)
_EXTENSIONS = {"application/json": "json", "application/pdf": "pdf", "text/html": "html"}


def canonical_key(method: str, url: str | httpx.URL, body: bytes | None) -> str:
    parts = urlsplit(str(url))
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in SECRET_QUERY_PARAMS
    )
    digest = hashlib.sha256(body).hexdigest() if body else "-"
    return f"{method.upper()} {parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)} {digest}"


def strip_secrets(url: str | httpx.URL) -> str:
    parts = urlsplit(str(url))
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in SECRET_QUERY_PARAMS
    ]
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{suffix}"


@dataclass(frozen=True)
class Recording:
    status: int
    headers: dict[str, str]
    body_path: Path
    source_file: Path


def load_recordings(directory: Path) -> dict[str, Recording]:
    recordings: dict[str, Recording] = {}
    for exchange_file in sorted(directory.rglob("*.exchange.json")):
        exchange = json.loads(exchange_file.read_text(encoding="utf-8"))
        request, response = exchange["request"], exchange["response"]
        body_hash = request.get("body_sha256")
        key = canonical_key(request["method"], request["url"], None)
        if body_hash:
            key = key[: -len(" -")] + f" {body_hash}"
        recordings[key] = Recording(
            status=int(response["status"]),
            headers={k.lower(): str(v) for k, v in response.get("headers", {}).items()},
            body_path=exchange_file.parent / response["body_file"],
            source_file=exchange_file,
        )
    return recordings


class ReplayTransport(httpx.AsyncBaseTransport):
    """Serves recorded responses and never touches the network."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.recordings = load_recordings(directory)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        key = canonical_key(request.method, request.url, body)
        recording = self.recordings.get(key)
        if recording is None:
            raise ReplayMissError(
                f"no recording for {request.method} {strip_secrets(request.url)} in {self.directory}; "
                "record it with `scrapers record <scraper> ...`"
            )
        return httpx.Response(
            status_code=recording.status,
            headers=recording.headers,
            content=recording.body_path.read_bytes(),
            request=request,
        )


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to a real transport and writes each exchange as a fixture.

    The response goes back as it came, raw bytes streamed and Content-Encoding intact, so the
    fetch reads it exactly as a live run does: within the source's max_body_bytes, decoded in
    bounded steps, within the attempt's deadline. An exchange is written only once that read has
    taken the whole body; a body the fetch gave up on (too large, too slow, undecodable) is never
    held whole in memory, and never becomes a fixture.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, directory: Path, slug: str) -> None:
        self.inner = inner
        self.directory = directory
        self.slug = slug
        self.written: list[Path] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        request_body = await request.aread()

        def complete(raw: list[bytes]) -> None:
            # The fetch read all of it within its limit, so decoding it again is bounded too.
            body = b"".join(
                decode_body(response.headers.get_list("content-encoding", split_commas=True), raw)
            )
            self.written.append(self._write(request, request_body, response, body))

        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers.multi_items(),
            stream=_Tee(response, complete),
            request=request,
            extensions=response.extensions,
        )

    def _write(
        self, request: httpx.Request, request_body: bytes, response: httpx.Response, body: bytes
    ) -> Path:
        key = canonical_key(request.method, request.url, request_body)
        name = f"{_safe(self.slug)}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        body_file = f"{name}.body.{_EXTENSIONS.get(media_type, 'bin')}"
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / body_file).write_bytes(body)
        exchange = {
            "request": {
                "method": request.method,
                "url": strip_secrets(request.url),
                "body_sha256": hashlib.sha256(request_body).hexdigest() if request_body else None,
            },
            "response": {
                "status": response.status_code,
                "headers": {
                    k: v for k, v in response.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS
                },
                "body_file": body_file,
            },
        }
        path = self.directory / f"{name}.exchange.json"
        path.write_text(json.dumps(exchange, indent=2) + "\n", encoding="utf-8")
        return path


class _Tee(httpx.AsyncByteStream):
    """The inner response's raw bytes, passed on as they arrive and kept; `complete` gets them
    once the reader has taken the whole stream (never when it stops early)."""

    def __init__(self, inner: httpx.Response, complete: Callable[[list[bytes]], None]) -> None:
        self._inner = inner
        self._complete = complete

    async def __aiter__(self) -> AsyncIterator[bytes]:
        kept: list[bytes] = []
        async for chunk in self._inner.aiter_raw():
            kept.append(chunk)
            yield chunk
        self._complete(kept)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)
