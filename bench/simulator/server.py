"""Lifecycle shared by the simulated hosts and proxies: loopback only, port 0, clean stop.

Every wait inside a handler (latency, slow answers, hangs) goes through `pause`, which returns
early once the server starts closing, so stopping never waits for a simulated timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from aiohttp import web

LOOPBACK = "127.0.0.1"
SHUTDOWN_SECONDS = 0.5


class LoopbackServer:
    def __init__(self) -> None:
        self._runner: web.ServerRunner | None = None
        self._server: web.Server | None = None
        self._site: web.TCPSite | None = None
        self._port: int | None = None
        self._reserved: socket.socket | None = None
        self.closing = asyncio.Event()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raise NotImplementedError

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self, *, listen: bool = True) -> None:
        """Bind a loopback port. `listen=False` keeps the port bound but refusing connections."""
        # handler_cancellation: a client that gives up cancels its handler, as a real server notices.
        self._server = web.Server(self.handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(self._server, shutdown_timeout=SHUTDOWN_SECONDS)
        await self._runner.setup()
        if listen:
            await self.listen(0)
        else:
            self._reserve()

    async def stop(self) -> None:
        self.closing.set()
        self._release()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._server = self._site = None

    async def listen(self, port: int) -> None:
        assert self._runner is not None
        self._release()
        site = web.TCPSite(self._runner, LOOPBACK, port)
        await site.start()
        self._site = site
        self._port = self._runner.addresses[-1][1]

    async def refuse(self) -> None:
        """Stop listening, drop open connections and hold the port: connecting gets ECONNREFUSED."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        if self._server is not None:
            for connection in list(self._server.connections):
                connection.force_close()
        self._reserve()

    def _reserve(self) -> None:
        # A bound socket that never listens refuses connections and keeps the port ours.
        if self._reserved is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, self._port or 0))
        self._port = sock.getsockname()[1]
        self._reserved = sock

    def _release(self) -> None:
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None

    async def pause(self, seconds: float | None) -> bool:
        """Sleep `seconds` (None: until closing); True when the server started closing meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)
        return self.closing.is_set()


def drop_connection(request: web.BaseRequest) -> web.StreamResponse:
    """End the client's connection with a TCP reset and no HTTP response."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response()
