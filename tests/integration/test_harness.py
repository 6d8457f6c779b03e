"""The fault-injection harness itself, exercised with plain httpx over real loopback sockets.

These tests pin down what each fault looks like from a client's side, so tests of the HTTP core
can rely on it. No project code is involved.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.harness import (
    ForwardProxy,
    Upstream,
    free_port,
    hang,
    rate_limit,
    reset,
    respond,
    respond_json,
    sequence,
    slow,
)

pytestmark = pytest.mark.integration

HUNG_TIMEOUT = 0.3  # client timeout used against hang(): the only waiting these tests do


def direct(timeout: float = 5.0) -> httpx.AsyncClient:
    # trust_env=False: an HTTP_PROXY in the environment must not reroute loopback requests.
    return httpx.AsyncClient(trust_env=False, timeout=timeout)


def via(proxy_url: str, timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(trust_env=False, timeout=timeout, proxy=proxy_url)


def other_tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


# --- upstream ------------------------------------------------------------------------------------


def test_upstream_responds_per_path_and_records_requests() -> None:
    async def scenario() -> None:
        routes = {"/a": respond(201, "hi", {"X-Test": "1"}), "/j": respond_json({"ok": True})}
        async with Upstream(routes) as up, direct() as client:
            assert up.url == f"http://127.0.0.1:{up.port}"
            r = await client.get(up.url_for("/a"), params={"x": "1", "y": "2"}, headers={"X-Mine": "m"})
            assert (r.status_code, r.text, r.headers["X-Test"]) == (201, "hi", "1")
            assert (await client.get(up.url_for("/j"))).json() == {"ok": True}
            assert (await client.post(up.url_for("/nowhere"), content=b"payload")).status_code == 404

            up.route("/a", respond(503))  # switched at runtime
            assert (await client.get(up.url_for("/a"))).status_code == 503

            first, _, posted, _ = up.requests
            assert (first.method, first.path, first.query, first.query_string) == (
                "GET",
                "/a",
                {"x": "1", "y": "2"},
                "x=1&y=2",
            )
            assert first.headers["x-mine"] == "m"  # case-insensitive
            assert first.proxy is None
            assert first.via is None
            assert (posted.method, posted.body) == ("POST", b"payload")
            assert (up.count(), up.count("/a")) == (4, 2)
            assert up.proxies() == Counter({None: 4})

    asyncio.run(scenario())


def test_sequence_consumes_steps_in_order_and_repeats_the_last() -> None:
    async def scenario() -> None:
        steps = sequence([respond(500), respond(503), respond(200, "ok")])
        async with Upstream({"/s": steps}) as up, direct() as client:
            statuses = [(await client.get(up.url_for("/s"))).status_code for _ in range(5)]
        assert statuses == [500, 503, 200, 200, 200]

    asyncio.run(scenario())


def test_rate_limit_burst_then_429_with_retry_after_until_cleared() -> None:
    async def scenario() -> None:
        limit = rate_limit(after=2, retry_after="7")
        async with Upstream({"/r": limit}) as up, direct() as client:
            replies = [await client.get(up.url_for("/r")) for _ in range(4)]
            assert [r.status_code for r in replies] == [200, 200, 429, 429]
            assert replies[2].headers["Retry-After"] == "7"
            assert "Retry-After" not in replies[0].headers
            limit.clear()
            assert (await client.get(up.url_for("/r"))).status_code == 200
            assert up.count("/r") == 5  # rejected requests reach (and are recorded by) the upstream

    asyncio.run(scenario())


def test_rate_limit_sliding_window_recovers_after_the_window() -> None:
    async def scenario() -> None:
        async with Upstream({"/r": rate_limit(after=1, window=0.2)}) as up, direct() as client:
            assert (await client.get(up.url_for("/r"))).status_code == 200
            assert (await client.get(up.url_for("/r"))).status_code == 429
            await asyncio.sleep(0.25)  # the window under test
            assert (await client.get(up.url_for("/r"))).status_code == 200

    asyncio.run(scenario())


def test_hang_times_the_client_out_and_does_not_delay_exit() -> None:
    async def scenario() -> None:
        async with Upstream({"/h": hang()}) as up:
            async with direct(timeout=HUNG_TIMEOUT) as client:
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(up.url_for("/h"))
            # A second client that never gives up: the upstream's exit must release it.
            client = direct(timeout=30)
            waiting = asyncio.create_task(client.get(up.url_for("/h")))
            while up.count("/h") < 2:
                await asyncio.sleep(0.01)
            started = time.monotonic()
        assert time.monotonic() - started < 0.4  # released, not waited out (shutdown_timeout 0.5)
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            await waiting
        await client.aclose()
        assert other_tasks() == set()

    asyncio.run(scenario())


def test_reset_drops_the_connection_without_a_response() -> None:
    async def scenario() -> None:
        routes = {"/rst": reset(), "/fin": reset(abortive=False)}
        async with Upstream(routes) as up, direct() as client:
            with pytest.raises(httpx.ReadError):  # TCP RST: connection reset by peer
                await client.get(up.url_for("/rst"))
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                await client.get(up.url_for("/fin"))
            assert up.count() == 2

    asyncio.run(scenario())


def test_slow_answers_after_the_delay() -> None:
    async def scenario() -> None:
        async with Upstream({"/slow": slow(0.2, respond(200, "late"))}) as up:
            async with direct(timeout=0.05) as impatient:
                with pytest.raises(httpx.ReadTimeout):
                    await impatient.get(up.url_for("/slow"))
            async with direct() as patient:
                started = time.monotonic()
                r = await patient.get(up.url_for("/slow"))
            assert (r.status_code, r.text) == (200, "late")
            assert time.monotonic() - started >= 0.2

    asyncio.run(scenario())


def test_servers_stop_when_the_test_body_fails() -> None:
    ports: list[int] = []

    async def failing_test_body() -> None:
        async with Upstream({"/h": hang()}) as up, ForwardProxy("p1") as proxy:
            ports.extend((up.port, proxy.port))
            raise RuntimeError("test failed")

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="test failed"):
            await failing_test_body()
        assert other_tasks() == set()

    threads_before = threading.active_count()
    asyncio.run(scenario())

    async def connect_after() -> None:
        async with direct() as client:
            for port in ports:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"http://127.0.0.1:{port}/h")

    asyncio.run(connect_after())
    assert threading.active_count() == threads_before


# --- forward proxy -------------------------------------------------------------------------------


def test_proxy_forwards_absolute_form_and_tags_the_upstream_request() -> None:
    async def scenario() -> None:
        routes = {
            "/x": respond(200, "via proxy", {"X-Up": "u"}),
            "/gz": respond(200, gzip.compress(b"squeezed"), {"Content-Encoding": "gzip"}),
        }
        async with Upstream(routes) as up, ForwardProxy("p1") as proxy, via(proxy.url) as client:
            r = await client.get(up.url_for("/x"), params={"a": "1", "b": "2"})
            assert (r.status_code, r.text, r.headers["X-Up"]) == (200, "via proxy", "u")
            assert r.headers["X-Forwarded-Proxy"] == "p1"
            posted = await client.post(up.url_for("/x"), content=b"body")
            assert posted.status_code == 200
            assert (await client.get(up.url_for("/gz"))).content == b"squeezed"  # relayed still encoded

            got, got_post, _ = up.requests
            assert (got.path, got.query, got.proxy, got.via) == ("/x", {"a": "1", "b": "2"}, "p1", "1.1 p1")
            assert got.headers["Host"] == f"127.0.0.1:{up.port}"
            assert got_post.body == b"body"
            target = f"127.0.0.1:{up.port}"
            assert proxy.requests[0].url == f"http://{target}/x?a=1&b=2"
            assert proxy.counts() == Counter({target: 3})

        async with ForwardProxy("p1") as proxy, direct() as client:
            # Origin-form (not a proxy request) must not loop back into the proxy itself.
            assert (await client.get(proxy.url + "/x")).status_code == 400

    asyncio.run(scenario())


def test_proxy_relays_upstream_statuses_and_maps_upstream_failures_to_502() -> None:
    async def scenario() -> None:
        routes = {"/429": rate_limit(after=0, retry_after="3"), "/rst": reset()}
        async with Upstream(routes) as up, ForwardProxy("p1") as proxy, via(proxy.url) as client:
            limited = await client.get(up.url_for("/429"))
            assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
            assert (await client.get(up.url_for("/rst"))).status_code == 502
            assert (await client.get(f"http://127.0.0.1:{free_port()}/dead")).status_code == 502
            assert [r.outcome for r in proxy.requests] == ["forwarded", "bad_gateway", "bad_gateway"]

    asyncio.run(scenario())


def test_forbid_hosts_answers_403_without_touching_the_upstream() -> None:
    async def scenario() -> None:
        async with Upstream({"/x": respond()}) as up, ForwardProxy("p1") as proxy, via(proxy.url) as client:
            target = f"127.0.0.1:{up.port}"
            proxy.forbid_hosts({target})
            r = await client.get(up.url_for("/x"))
            assert (r.status_code, r.headers["X-Forwarded-Proxy"]) == (403, "p1")
            proxy.forbid_hosts(lambda t: t.endswith(f":{up.port}"))
            assert (await client.get(up.url_for("/x"))).status_code == 403
            proxy.healthy()
            assert (await client.get(up.url_for("/x"))).status_code == 200
            assert up.count() == 1
            assert proxy.counts("forbidden") == Counter({target: 2})

    asyncio.run(scenario())


def test_auth_required_answers_407_with_proxy_authenticate() -> None:
    async def scenario() -> None:
        async with Upstream({"/x": respond()}) as up, ForwardProxy("p1") as proxy:
            proxy.auth_required()
            async with via(proxy.url_with_credentials("any", "thing")) as client:
                r = await client.get(up.url_for("/x"))
            assert (r.status_code, r.headers["Proxy-Authenticate"]) == (407, 'Basic realm="p1"')
            assert up.count() == 0

    asyncio.run(scenario())


def test_require_credentials_accepts_only_the_right_basic_credentials() -> None:
    async def scenario() -> None:
        async with Upstream({"/x": respond()}) as up, ForwardProxy("p1") as proxy:
            proxy.require_credentials("user", "s3cret")
            async with via(proxy.url_with_credentials("user", "s3cret")) as good:
                assert (await good.get(up.url_for("/x"))).status_code == 200
            async with via(proxy.url_with_credentials("user", "wrong")) as bad:
                assert (await bad.get(up.url_for("/x"))).status_code == 407
            async with via(proxy.url) as anonymous:
                assert (await anonymous.get(up.url_for("/x"))).status_code == 407
            assert up.count() == 1
            assert "Proxy-Authorization" not in up.requests[0].headers  # hop-by-hop: not forwarded
            assert [r.outcome for r in proxy.requests] == ["forwarded", "auth_failed", "auth_failed"]

    asyncio.run(scenario())


def test_timeout_every_and_hang_make_the_client_time_out() -> None:
    async def scenario() -> None:
        async with Upstream({"/x": respond()}) as up, ForwardProxy("p1") as proxy:
            proxy.timeout_every(2)
            async with via(proxy.url, timeout=HUNG_TIMEOUT) as client:
                outcomes = []
                for _ in range(4):
                    try:
                        outcomes.append((await client.get(up.url_for("/x"))).status_code)
                    except httpx.ReadTimeout:
                        outcomes.append(0)
                assert outcomes == [200, 0, 200, 0]
                proxy.hang()
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(up.url_for("/x"))
                proxy.healthy()
                up.route("/x", hang())  # an upstream hang looks the same through the proxy
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(up.url_for("/x"))
            assert up.count() == 3
            target = f"127.0.0.1:{up.port}"
        assert proxy.counts("hung") == Counter({target: 3})
        assert proxy.counts("abandoned") == Counter({target: 1})  # client gave up on the upstream
        assert other_tasks() == set()

    asyncio.run(scenario())


def test_refuse_makes_connections_fail_and_accept_restores_the_same_port() -> None:
    async def scenario() -> None:
        async with Upstream({"/x": respond()}) as up, ForwardProxy("p1") as proxy, via(proxy.url) as client:
            port = proxy.port
            assert (await client.get(up.url_for("/x"))).status_code == 200  # leaves a pooled connection
            await proxy.refuse()
            with pytest.raises((httpx.ProxyError, httpx.ConnectError)):
                await client.get(up.url_for("/x"))
            await proxy.accept()
            assert proxy.port == port
            assert (await client.get(up.url_for("/x"))).status_code == 200
            assert up.count() == 2

    asyncio.run(scenario())


def test_upstream_sees_which_proxy_carried_each_request() -> None:
    async def scenario() -> None:
        async with (
            Upstream({"/x": respond()}) as up_a,
            Upstream({"/y": respond()}) as up_b,
            ForwardProxy("p1") as p1,
            ForwardProxy("p2") as p2,
            via(p1.url) as c1,
            via(p2.url) as c2,
            direct() as c0,
        ):
            for url in (up_a.url_for("/x"), up_a.url_for("/x"), up_b.url_for("/y")):
                await c1.get(url)
            await c2.get(up_a.url_for("/x"))
            await c0.get(up_a.url_for("/x"))
            assert up_a.proxies() == Counter({"p1": 2, "p2": 1, None: 1})
            assert up_b.proxies("/y") == Counter({"p1": 1})
            a, b = f"127.0.0.1:{up_a.port}", f"127.0.0.1:{up_b.port}"
            assert p1.counts() == Counter({a: 2, b: 1})
            assert p2.counts() == Counter({a: 1})

    asyncio.run(scenario())
