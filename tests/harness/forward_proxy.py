"""A plain-HTTP forward proxy on loopback with per-proxy faults, switchable at runtime.

    async with Upstream({"/x": respond(200, b"ok")}) as up, ForwardProxy("p1") as proxy:
        async with httpx.AsyncClient(proxy=proxy.url, trust_env=False) as client:
            await client.get(up.url_for("/x"))      # forwarded, upstream sees X-Forwarded-Proxy: p1
        proxy.forbid_hosts({f"127.0.0.1:{up.port}"}) # now 403 from the proxy itself
        await proxy.refuse()                         # now connections are refused
        assert proxy.counts()[f"127.0.0.1:{up.port}"] == 1

Only absolute-form ``GET http://host:port/path HTTP/1.1`` requests are proxied (what httpx sends
for http:// targets); CONNECT tunnels (https targets) are never opened: a CONNECT meets the
profile's fault (``hang``: never answered, ``auth_required``: 407, ``reset``: a TCP reset,
``bad_gateway``: the proxy's own 502) or else a 501. Exactly one profile is active at a time:
setting one replaces the previous. ``refuse()``/``accept()`` are separate because they change
whether the port listens at all.

The proxy's own gateway errors say so the RFC 9209 way (``Proxy-Status: <name>; error=...``),
as its forwarded answers do not (a relayed answer is marked only where the test asks for it).
"""

from __future__ import annotations

import asyncio
import binascii
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from tests.harness._server import DEFAULT_SHUTDOWN_TIMEOUT, LoopbackServer, drop_connection
from tests.harness.upstream import PROXY_HEADER

Outcome = Literal[
    "forwarded",  # relayed the upstream's answer, whatever its status
    "forbidden",  # 403 from the proxy (forbid_hosts)
    "auth_failed",  # 407 from the proxy (auth_required / require_credentials)
    "hung",  # never answered (hang / timeout_every)
    "reset",  # the connection reset without an answer (reset)
    "own_error",  # the proxy's own 502, marked with Proxy-Status (bad_gateway)
    "bad_gateway",  # 502: the upstream refused/reset/broke the connection
    "gateway_timeout",  # 504: the upstream did not answer within upstream_timeout
    "refused",  # arrived on a connection kept open across refuse(); dropped
    "abandoned",  # the client hung up (or the proxy stopped) while waiting for the upstream
    "not_proxied",  # origin-form or CONNECT request: 400 / 501
]

# Hop-by-hop headers (RFC 9110 7.6.1) are about the client<->proxy link and must not travel on;
# Content-Length/Host are recomputed for the new request and response.
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


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    url: str  # the absolute target URL
    target: str  # "host:port", the key of counts()
    outcome: Outcome


@dataclass(frozen=True)
class _Profile:
    kind: Literal[
        "healthy", "forbid", "auth_required", "credentials", "hang", "timeout_every", "reset", "bad_gateway"
    ]
    forbidden: Callable[[str], bool] = lambda _target: False
    credentials: tuple[str, str] | None = None
    every: int = 0


class ForwardProxy(LoopbackServer):
    def __init__(
        self,
        name: str = "proxy",
        *,
        upstream_timeout: float = 10.0,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    ) -> None:
        super().__init__(shutdown_timeout=shutdown_timeout)
        self.name = name
        self.requests: list[ProxiedRequest] = []
        self._upstream_timeout = upstream_timeout
        self._profile = _Profile("healthy")
        self._seen_by_profile = 0  # requests since the profile was set, for timeout_every
        self._refusing = False
        self._session: aiohttp.ClientSession | None = None

    # --- profiles -------------------------------------------------------------------------

    def _set(self, profile: _Profile) -> None:
        self._profile = profile
        self._seen_by_profile = 0

    def healthy(self) -> None:
        self._set(_Profile("healthy"))

    def forbid_hosts(self, hosts: Collection[str] | Callable[[str], bool]) -> None:
        """403 from the proxy for targets ``"host:port"`` in ``hosts`` (or matching the predicate)."""
        predicate = hosts if callable(hosts) else frozenset(hosts).__contains__
        self._set(_Profile("forbid", forbidden=predicate))

    def auth_required(self) -> None:
        """407 + Proxy-Authenticate for every request, whatever credentials it carries."""
        self._set(_Profile("auth_required"))

    def require_credentials(self, user: str, password: str) -> None:
        """407 unless Proxy-Authorization is Basic ``user:password``; then forwarded."""
        self._set(_Profile("credentials", credentials=(user, password)))

    def timeout_every(self, n: int) -> None:
        """Requests n, 2n, 3n, ... (counted from now) hang; the others are forwarded."""
        if n < 1:
            raise ValueError("n must be >= 1")
        self._set(_Profile("timeout_every", every=n))

    def hang(self) -> None:
        """Every request hangs until the proxy stops (or the client gives up)."""
        self._set(_Profile("hang"))

    def reset(self) -> None:
        """Every request (a CONNECT too) is answered with a TCP reset."""
        self._set(_Profile("reset"))

    def bad_gateway(self) -> None:
        """Every request gets the proxy's own 502, marked as its own (RFC 9209 Proxy-Status)."""
        self._set(_Profile("bad_gateway"))

    async def refuse(self) -> None:
        """Stop listening and drop open connections: new connections get ECONNREFUSED.

        The port number stays in ``url``, but while refusing it is genuinely free: another process
        could bind it (harmless on loopback in tests). ``accept()`` binds the same port again.
        """
        self._refusing = True
        await self._stop_listening()

    async def accept(self) -> None:
        """Listen again on the same port after ``refuse()``."""
        if self._refusing:
            await self._listen(self.port)
            self._refusing = False

    # --- inspection -----------------------------------------------------------------------

    def url_with_credentials(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def counts(self, outcome: Outcome | None = None) -> Counter[str]:
        """Requests handled per target "host:port" (optionally only those with ``outcome``)."""
        return Counter(r.target for r in self.requests if outcome is None or r.outcome == outcome)

    # --- serving --------------------------------------------------------------------------

    async def started(self) -> None:
        # trust_env=False: an HTTP_PROXY in the environment must not reroute loopback traffic.
        # auto_decompress=False: relay bytes exactly as the upstream encoded them.
        self._session = aiohttp.ClientSession(
            trust_env=False,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=self._upstream_timeout),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )

    async def stopping(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _answer(self, status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(status=status, text=text, headers={PROXY_HEADER: self.name, **(headers or {})})

    def _authorized(self, request: web.BaseRequest, expected: tuple[str, str]) -> bool:
        header = request.headers.get("Proxy-Authorization")
        if header is None:
            return False
        try:
            auth = aiohttp.BasicAuth.decode(header)
        except (ValueError, binascii.Error):
            return False
        return (auth.login, auth.password) == expected

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        # For absolute-form targets aiohttp keeps the full target in raw_path and request.url
        # (request.host, however, loses the port), so the target comes from request.url.
        absolute = request.raw_path.startswith(("http://", "https://"))
        url = request.url
        target = f"{url.host}:{url.port}" if absolute else request.raw_path

        def record(outcome: Outcome) -> None:
            self.requests.append(ProxiedRequest(request.method, str(url), target, outcome))

        if self._refusing:
            record("refused")
            return drop_connection(request)
        profile = self._profile
        if request.method == "CONNECT":
            # For CONNECT aiohttp keeps the authority-form target ("host:port") in raw_path.
            return await self._connect(request, profile, record)
        if not absolute:
            record("not_proxied")
            return self._answer(400, "not a proxy request: expected an absolute-form target")

        self._seen_by_profile += 1
        if profile.kind == "hang" or (
            profile.kind == "timeout_every" and self._seen_by_profile % profile.every == 0
        ):
            record("hung")
            await self.wait_or_closing(None)
            return drop_connection(request)
        if profile.kind == "reset":
            record("reset")
            return drop_connection(request)
        if profile.kind == "bad_gateway":
            record("own_error")
            return self._own_error(502, "connection_refused")
        if profile.kind == "forbid" and profile.forbidden(target):
            record("forbidden")
            return self._answer(403, f"proxy {self.name} forbids {target}")
        if profile.kind == "auth_required" or (
            profile.credentials is not None and not self._authorized(request, profile.credentials)
        ):
            record("auth_failed")
            return self._answer(
                407, "proxy authentication required", {"Proxy-Authenticate": f'Basic realm="{self.name}"'}
            )
        return await self._forward(request, record)

    async def _connect(
        self, request: web.BaseRequest, profile: _Profile, record: Callable[[Outcome], None]
    ) -> web.StreamResponse:
        """A CONNECT meets the profile's fault; a tunnel is never opened."""
        if profile.kind == "hang":
            record("hung")
            await self.wait_or_closing(None)
            return drop_connection(request)
        if profile.kind == "reset":
            record("reset")
            return drop_connection(request)
        if profile.kind in ("auth_required", "credentials"):
            record("auth_failed")
            return self._answer(
                407, "proxy authentication required", {"Proxy-Authenticate": f'Basic realm="{self.name}"'}
            )
        if profile.kind == "bad_gateway":
            record("own_error")
            return self._own_error(502, "connection_refused")
        record("not_proxied")
        return self._answer(501, "CONNECT tunnels are not supported by this test proxy")

    def _own_error(self, status: int, error: str) -> web.Response:
        return self._answer(
            status, f"proxy {self.name}: {error}", {"Proxy-Status": f"{self.name}; error={error}"}
        )

    async def _forward(
        self, request: web.BaseRequest, record: Callable[[Outcome], None]
    ) -> web.StreamResponse:
        assert self._session is not None
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        headers[PROXY_HEADER] = self.name
        headers.add("Via", f"1.1 {self.name}")
        try:
            async with self._session.request(
                request.method,
                request.url,
                headers=headers,
                data=await request.read() if request.body_exists else None,
                allow_redirects=False,  # a proxy relays 3xx; following them is the client's call
            ) as upstream:
                body = await upstream.read()
                reply_headers = CIMultiDict(
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
                )
                status = upstream.status
        except asyncio.CancelledError:
            record("abandoned")
            raise
        except TimeoutError:
            record("gateway_timeout")
            return self._own_error(504, "connection_timeout")
        except aiohttp.ClientError:
            record("bad_gateway")
            return self._own_error(502, "connection_terminated")
        record("forwarded")
        reply_headers[PROXY_HEADER] = self.name
        return web.Response(status=status, body=body, headers=reply_headers)


__all__ = ["ForwardProxy", "Outcome", "ProxiedRequest"]
