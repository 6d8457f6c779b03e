"""One simulated forward proxy (plain HTTP, absolute-form requests) with a fault profile.

Faults come before forwarding: 407 (`auth_required`), 403 for blocked target hosts (the origin
refusing the proxy's addresses, as BettingPros did to ProxyFuel; `forbid_until` lifts the block
after that many simulated seconds), hangs, resets and the proxy's own 502s (`bad_gateway`, drawn
per request), and outages during which the port refuses connections. An upstream reset reaches
the client as a reset, as it would through a CONNECT tunnel; an upstream hang keeps the client
waiting.

Like an RFC 9209 proxy, it says whose answer the client gets: its own 502 carries
`Proxy-Status: <name>; error=proxy_internal_error`, a relayed answer `received-status=<code>`.
The 403 of a blocked host stands for the origin's own refusal, so it is marked as relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Mapping

import aiohttp
from aiohttp import web

from bench.scenario import ProxyProfile
from bench.simulator.dice import Dice
from bench.simulator.fixtures import request_key
from bench.simulator.server import LoopbackServer, drop_connection
from bench.simulator.traffic import Arrival, SimClock, TrafficLog
from bench.simulator.upstream import PROXY_HEADER

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)


class SimulatedProxy(LoopbackServer):
    def __init__(
        self,
        profile: ProxyProfile,
        hosts_by_target: Mapping[str, str],
        *,
        dice: Dice,
        clock: SimClock,
        log: TrafficLog,
    ) -> None:
        super().__init__()
        self.profile = profile
        self._hosts_by_target = hosts_by_target  # "127.0.0.1:port" -> the simulated host name
        self._dice = dice
        self._clock = clock
        self._log = log
        self._seen: Counter[str] = Counter()
        self._session: aiohttp.ClientSession | None = None
        self._outages: asyncio.Task[None] | None = None

    async def start(self, *, listen: bool = True) -> None:
        self._session = aiohttp.ClientSession(
            trust_env=False,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )
        await super().start(listen=listen and not self.profile.refuse)
        if self.profile.outage_every and self.profile.outage_for > 0 and not self.profile.refuse:
            self._outages = asyncio.create_task(self._run_outages(self.profile.outage_every))

    async def stop(self) -> None:
        if self._outages is not None:
            self._outages.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outages
        await super().stop()
        if self._session is not None:
            await self._session.close()

    async def _run_outages(self, every: float) -> None:
        """Refuse connections for `outage_for` seconds in the middle of every `every` seconds."""
        port = self.port
        start = every / 2
        while True:
            if await self.pause(self._clock.wall(max(0.0, start - self._clock.now()))):
                return
            await self.refuse()
            if await self.pause(self._clock.wall(self.profile.outage_for)):
                return
            await self.listen(port)
            start += every

    def _record(self, arrived: float, host: str, result: str) -> None:
        self._log.add(Arrival(arrived, "proxy", self.profile.name, host, None, result))

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if not request.raw_path.startswith("http://"):
            return web.Response(status=400, text="not a proxy request (expected an absolute-form target)")
        arrived = self._clock.now()  # logged at arrival, as the hosts log theirs
        url = request.url
        target = f"{url.host}:{url.port}"
        host = self._hosts_by_target.get(target, target)
        key = request_key(host, url.raw_path, url.raw_query_string)
        occurrence = self._seen[key]
        self._seen[key] += 1
        profile = self.profile
        dice = self._dice.roll("proxy", profile.name, key, occurrence)
        latency = dice.uniform(*profile.latency)
        hangs, resets = dice.random(), dice.random()
        # Drawn after the others, so adding the fault left every other draw of a scenario as it was.
        bad_gateway = dice.random()
        if profile.auth_required:
            self._record(arrived, host, "auth")
            return web.Response(
                status=407,
                text="proxy authentication required",
                headers={"Proxy-Authenticate": f'Basic realm="{profile.name}"'},
            )
        if host in profile.forbid_hosts and (profile.forbid_until is None or arrived < profile.forbid_until):
            self._record(arrived, host, "forbidden")
            return web.Response(
                status=403, text="Forbidden", content_type="text/plain", headers=self._relayed(403)
            )
        if hangs < profile.hang:
            self._record(arrived, host, "hang")
            await self.pause(None)
            return drop_connection(request)
        if await self.pause(self._clock.wall(latency)):
            return drop_connection(request)
        if resets < profile.reset:
            self._record(arrived, host, "reset")
            return drop_connection(request)
        if bad_gateway < profile.bad_gateway:
            self._record(arrived, host, "bad_gateway")
            return web.Response(
                status=502,
                text=f"{profile.name}: no upstream connection available",
                content_type="text/plain",
                headers={"Proxy-Status": f"{profile.name}; error=proxy_internal_error"},
            )
        self._record(arrived, host, "forwarded")
        return await self._forward(request)

    def _relayed(self, status: int) -> dict[str, str]:
        return {"Proxy-Status": f"{self.profile.name}; received-status={status}"}

    async def _forward(self, request: web.BaseRequest) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers[PROXY_HEADER] = self.profile.name
        try:
            async with self._session.get(request.url, headers=headers, allow_redirects=False) as upstream:
                body = await upstream.read()
                reply = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
                reply.update(self._relayed(upstream.status))
                return web.Response(status=upstream.status, body=body, headers=reply)
        except aiohttp.ClientError:
            return drop_connection(request)
