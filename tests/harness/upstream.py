"""A fake data source on loopback: per-path responses and faults, switchable at runtime.

    async with Upstream({"/games": respond_json({"games": []})}) as up:
        up.route("/games", sequence([reset(), rate_limit(after=0), respond(200, b"ok")]))
        ...  # point the client at up.url + "/games"
        assert up.count("/games") == 3
        assert up.proxies("/games") == Counter({"p1": 3})

Every request is recorded before its behaviour runs, so hung and reset requests are counted too.
Paths without a route get 404.
"""

from __future__ import annotations

import abc
import collections
import json
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.harness._server import DEFAULT_SHUTDOWN_TIMEOUT, LoopbackServer, drop_connection

PROXY_HEADER = "X-Forwarded-Proxy"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: Mapping[str, str]  # last value wins for repeated keys; query_string keeps them all
    query_string: str
    headers: Mapping[str, str]  # case-insensitive (aiohttp CIMultiDictProxy)
    body: bytes
    proxy: str | None  # X-Forwarded-Proxy added by ForwardProxy; None for direct requests
    via: str | None
    at: float  # time.monotonic() on arrival, to check client back-off spacing


class Behaviour(abc.ABC):
    """What the upstream does with one request on a path."""

    @abc.abstractmethod
    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse: ...


@dataclass
class Respond(Behaviour):
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        return web.Response(status=self.status, body=self.body, headers=dict(self.headers))


class Steps(Behaviour):
    def __init__(self, steps: Sequence[Behaviour]) -> None:
        if not steps:
            raise ValueError("sequence() needs at least one behaviour")
        self._steps = list(steps)
        self._next = 0

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        step = self._steps[min(self._next, len(self._steps) - 1)]
        self._next += 1
        return await step.handle(request, server)


class RateLimit(Behaviour):
    """Admit ``after`` requests, then answer 429 + Retry-After.

    ``window=None`` (default, fully deterministic): a burst counter; once ``after`` requests were
    admitted every later request gets 429 until ``clear()`` or the route is replaced.
    ``window=seconds``: a sliding window; a request is admitted when fewer than ``after``
    requests were admitted in the last ``window`` seconds, so a client honouring Retry-After
    recovers. Rejected requests never count against the limit.
    """

    def __init__(
        self, after: int, retry_after: str | None, then: Behaviour, window: float | None, status: int
    ) -> None:
        self.after = after
        self.retry_after = retry_after
        self.then = then
        self.window = window
        self.status = status
        self._admitted: collections.deque[float] = collections.deque()

    def clear(self) -> None:
        self._admitted.clear()

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        now = time.monotonic()
        if self.window is not None:
            while self._admitted and now - self._admitted[0] >= self.window:
                self._admitted.popleft()
        if len(self._admitted) < self.after:
            self._admitted.append(now)
            return await self.then.handle(request, server)
        headers = {} if self.retry_after is None else {"Retry-After": self.retry_after}
        return web.Response(status=self.status, text="rate limited", headers=headers)


class Hang(Behaviour):
    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        # Never answers; on server exit the connection is dropped so nothing waits on it.
        await server.wait_or_closing(None)
        return drop_connection(request)


@dataclass
class Reset(Behaviour):
    abortive: bool = True

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        return drop_connection(request, abortive=self.abortive)


@dataclass
class Slow(Behaviour):
    seconds: float
    then: Behaviour

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        if await server.wait_or_closing(self.seconds):
            return drop_connection(request)
        return await self.then.handle(request, server)


@dataclass
class Stream(Behaviour):
    """A 200 whose body is made on the fly, ``chunk`` repeated up to ``total`` bytes: a body far
    larger than the upstream's memory costs it nothing. Stops when the client goes away."""

    total: int
    chunk: bytes
    headers: Mapping[str, str]

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers=dict(self.headers))
        response.content_length = self.total
        await response.prepare(request)
        sent = 0
        try:
            while sent < self.total and not server.closing.is_set():
                piece = self.chunk[: self.total - sent]
                await response.write(piece)
                sent += len(piece)
        except ConnectionError:
            return response  # the client stopped reading and closed: what a bounded client does
        await response.write_eof()
        return response


@dataclass
class Drip(Behaviour):
    """A 200 whose body comes one byte every ``interval`` seconds, forever (until the client or the
    server closes): each read gets a byte, so no read timeout ever fires."""

    interval: float
    headers: Mapping[str, str]

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers=dict(self.headers))
        await response.prepare(request)
        try:
            await response.write(b"[")
            while not await server.wait_or_closing(self.interval):
                await response.write(b"0")
        except ConnectionError:
            pass
        return response


def respond(
    status: int = 200, body: bytes | str = b"", headers: Mapping[str, str] | None = None
) -> Behaviour:
    """A fixed response (a fresh one per request)."""
    raw = body.encode() if isinstance(body, str) else body
    return Respond(status, raw, dict(headers or {}))


def respond_json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Behaviour:
    return respond(status, json.dumps(payload), {"Content-Type": "application/json", **(headers or {})})


def sequence(steps: Sequence[Behaviour]) -> Behaviour:
    """One step per request, in order; the last step repeats forever."""
    return Steps(steps)


def rate_limit(
    after: int,
    retry_after: str | None = "1",
    *,
    then: Behaviour | None = None,
    window: float | None = None,
    status: int = 429,
) -> RateLimit:
    """``then`` (default 200 "ok") for the first ``after`` requests, then 429s; see RateLimit."""
    return RateLimit(after, retry_after, then or respond(200, b"ok"), window, status)


def stream(total: int, *, chunk: bytes = b" " * 65536, headers: Mapping[str, str] | None = None) -> Behaviour:
    """A 200 of ``total`` bytes generated while sending (JSON-labelled by default)."""
    return Stream(total, chunk, dict(headers or {"Content-Type": "application/json"}))


def gzip_bomb(decoded: int, headers: Mapping[str, str] | None = None) -> Behaviour:
    """A 200 served with Content-Encoding: gzip whose small body inflates to ``decoded`` zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(decoded >> 20)]
    parts += [packer.compress(bytes(decoded & ((1 << 20) - 1))), packer.flush()]
    body = b"".join(parts)
    return respond(
        200, body, {"Content-Type": "application/json", "Content-Encoding": "gzip", **(headers or {})}
    )


def drip(interval: float, headers: Mapping[str, str] | None = None) -> Behaviour:
    """A 200 whose JSON-labelled body arrives one byte every ``interval`` seconds, never ending."""
    return Drip(interval, dict(headers or {"Content-Type": "application/json"}))


def hang() -> Behaviour:
    """Accept the request and never answer (until the upstream stops)."""
    return Hang()


def reset(*, abortive: bool = True) -> Behaviour:
    """Drop the connection without a response: TCP RST by default, a plain close otherwise."""
    return Reset(abortive)


def slow(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Wait ``seconds`` before behaving like ``then`` (default 200 "ok")."""
    return Slow(seconds, then or respond(200, b"ok"))


class Upstream(LoopbackServer):
    def __init__(
        self,
        routes: Mapping[str, Behaviour] | None = None,
        *,
        default: Behaviour | None = None,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    ) -> None:
        super().__init__(shutdown_timeout=shutdown_timeout)
        self._routes: dict[str, Behaviour] = dict(routes or {})
        self._default = default or respond(404, b"no route")
        self.requests: list[RecordedRequest] = []

    def route(self, path: str, behaviour: Behaviour) -> None:
        """Set or replace what ``path`` does; takes effect for the next request."""
        self._routes[path] = behaviour

    def url_for(self, path: str) -> str:
        return self.url + path

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)

    def proxies(self, path: str | None = None) -> collections.Counter[str | None]:
        """How many requests each proxy carried (key None: direct)."""
        return collections.Counter(r.proxy for r in self.requests if path is None or r.path == path)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                query_string=request.query_string,
                headers=request.headers,
                body=await request.read(),
                proxy=request.headers.get(PROXY_HEADER),
                via=request.headers.get("Via"),
                at=time.monotonic(),
            )
        )
        behaviour = self._routes.get(request.path, self._default)
        return await behaviour.handle(request, self)


__all__ = [
    "PROXY_HEADER",
    "Behaviour",
    "RateLimit",
    "RecordedRequest",
    "Upstream",
    "drip",
    "gzip_bomb",
    "hang",
    "rate_limit",
    "reset",
    "respond",
    "respond_json",
    "sequence",
    "slow",
    "stream",
]
