"""Lifecycle shared by the harness servers: bind loopback port 0, serve, stop without leftovers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from tests.harness.ports import LOOPBACK

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

# Hung handlers are released by ``closing`` before cleanup, so the graceful wait is normally
# instant; this only bounds a handler that ignores it (aiohttp then cancels it).
DEFAULT_SHUTDOWN_TIMEOUT = 0.5


class LoopbackServer:
    """An aiohttp low-level server on 127.0.0.1; subclasses provide ``handle``."""

    def __init__(self, *, shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> None:
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.ServerRunner | None = None
        self._server: web.Server | None = None
        self._site: web.TCPSite | None = None
        self._port: int | None = None
        # Set on exit: every hang/slow waits on it, so stopping never waits for a timeout.
        self.closing = asyncio.Event()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raise NotImplementedError

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server is not started: use it as `async with`")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def __aenter__(self) -> Self:
        self.closing.clear()
        # handler_cancellation: a client that times out and hangs up cancels its handler, as a
        # real server would notice; otherwise hung handlers would pile up until exit.
        self._server = web.Server(self.handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(self._server, shutdown_timeout=self._shutdown_timeout)
        await self._runner.setup()
        try:
            await self._listen(0)
            await self.started()
        except BaseException:
            await self._runner.cleanup()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closing.set()
        try:
            await self.stopping()
        finally:
            if self._runner is not None:
                await self._runner.cleanup()
            self._runner = self._server = self._site = None

    async def started(self) -> None:
        """Hook: runs after the port is bound."""

    async def stopping(self) -> None:
        """Hook: runs before the server is torn down."""

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, LOOPBACK, port)
        await site.start()
        self._site = site
        self._port = self._runner.addresses[0][1]

    async def _stop_listening(self) -> None:
        """Close the listening socket and drop open connections, so clients get refused."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._server is not None:
            for connection in self._server.connections:
                connection.force_close()
            # Sockets actually close on a later loop iteration; return only once they have, or a
            # client could still pick a not-yet-closed pooled connection and see a disconnect.
            for _ in range(100):
                if not self._server.connections:
                    break
                await asyncio.sleep(0.01)

    async def wait_or_closing(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (None: forever); True if the server started closing meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)
        return self.closing.is_set()


def drop_connection(request: web.BaseRequest, *, abortive: bool = True) -> web.StreamResponse:
    """Kill the client's connection without an HTTP response.

    ``abortive`` sends a TCP RST (SO_LINGER 0), which clients see as "connection reset by peer";
    otherwise a FIN, seen as "server disconnected without a response". The returned response is
    never written (the transport is gone); aiohttp just needs a return value.
    """
    transport = request.transport
    if transport is not None:
        if abortive:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
    return web.Response()
