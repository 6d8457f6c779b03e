"""What a hostile client cannot do to `scrapers serve`: hold connections open by never finishing a
request head (slowloris) or by dripping a request body, crash authentication with bytes that are not
UTF-8, or queue a batch the in-flight cap could never admit.

The connection tests drive real `scrapers serve` processes over raw loopback sockets, because what
is tested is what the server does with bytes no HTTP client library would send. A closed connection
is observed as the socket's EOF; `HANG_GUARD` only turns "never closed" into a failure instead of a
hung test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapers.pipeline.settings import ServiceSettings
from tests.conftest import PROJECT_ROOT
from tests.harness import Upstream
from tests.service.harness import SCOREBOARD, running_service
from tests.service.test_lifecycle import SECRET, ServiceProcess

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5
HANG_GUARD = 60.0
HEAD = b"GET /health HTTP/1.1\r\nHost: courtside\r\n"


@asynccontextmanager
async def serve(
    out: Path, upstream: Upstream, *, max_open_files: int | None = None, **env: str
) -> AsyncIterator[tuple[ServiceProcess, str, int]]:
    """`scrapers serve` on a free port with a token and a short header timeout: (process, host, port)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    environ.update(
        {
            "COURTSIDE_STATE": "memory",
            "COURTSIDE_UPSTREAMS": f"https://stats.nba.com={upstream.url}",
            "COURTSIDE_SERVICE_TOKEN": SECRET,
            "COURTSIDE_SERVICE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            **env,
        }
    )

    def limit_open_files() -> None:  # in the child, before exec
        if max_open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_open_files, max_open_files))

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        "serve",
        "--port",
        "0",
        "--out",
        str(out),
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=limit_open_files,
    )
    service = ServiceProcess(process)
    try:
        listening = await service.line(lambda entry: str(entry.get("message", "")).startswith("listening on"))
        address = urlsplit(listening["url"])
        assert address.hostname is not None
        assert address.port is not None
        yield service, address.hostname, address.port
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _answer(host: str, port: int, request: bytes) -> bytes:
    """Everything the server sends back on one connection until it closes it."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), HANG_GUARD)
    finally:
        writer.close()


async def _closed_without_an_answer(reader: asyncio.StreamReader) -> None:
    """The server closed the connection and sent nothing. A reset counts as closed: bytes of ours
    still unread when it closes turn its FIN into a RST."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        received = await asyncio.wait_for(reader.read(), HANG_GUARD)
    assert received == b"", f"the server answered an incomplete request head: {received[:200]!r}"


def _access_to(url: str) -> Callable[[dict[str, Any]], bool]:
    return lambda entry: bool(entry.get("httpRequest", {}).get("requestUrl") == url)


# --- header-read timeout -------------------------------------------------------------------------


def test_a_connection_that_never_finishes_its_request_head_is_closed_after_the_header_timeout(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with Upstream({}) as upstream, serve(tmp_path, upstream) as (_, host, port):
            # A partial request line, then nothing.
            opened = loop.time()
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /heal")
            await writer.drain()
            await _closed_without_an_answer(reader)
            assert loop.time() - opened >= HEADER_TIMEOUT, "closed before the timeout: not by it"
            writer.close()

            # Slowloris proper: a new header line keeps arriving, the head never ends. Bytes that
            # arrive do not extend the deadline.
            opened = loop.time()
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(HEAD)
            received, lines = b"", 0
            with contextlib.suppress(ConnectionError):
                while not reader.at_eof() and loop.time() - opened < HANG_GUARD:
                    writer.write(b"X-Drip-%d: 1\r\n" % lines)
                    await writer.drain()
                    lines += 1
                    # Paces the drip; returns at once when the server closes the connection.
                    with contextlib.suppress(TimeoutError):
                        received += await asyncio.wait_for(reader.read(1), HEADER_TIMEOUT / 5)
            assert received == b"", f"the server answered an incomplete request head: {received!r}"
            await _closed_without_an_answer(reader)
            assert loop.time() - opened >= HEADER_TIMEOUT
            assert lines >= 2, "the drip never outlived its first line"
            writer.close()

            # A connection that opens and sends nothing at all goes the same way.
            reader, writer = await asyncio.open_connection(host, port)
            await _closed_without_an_answer(reader)
            writer.close()

            # A head sent in time is answered, and the connection still serves a second request.
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(HEAD + b"\r\n")
            await writer.drain()
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            await reader.readuntil(b"\r\n\r\n")
            writer.write(HEAD + b"Connection: close\r\n\r\n")
            await writer.drain()
            rest = await asyncio.wait_for(reader.read(), HANG_GUARD)
            assert b"HTTP/1.1 200" in rest
            writer.close()

    asyncio.run(scenario())


def test_stalled_connections_past_the_file_limit_do_not_keep_a_request_from_being_answered(
    tmp_path: Path,
) -> None:
    # The server may hold 128 descriptors; more stalled connections than that exhaust them, so a
    # normal request behind them is only ever accepted because the stalled ones are closed.
    limit, stalled_count = 128, 160

    async def scenario() -> None:
        async with (
            Upstream({}) as upstream,
            serve(tmp_path, upstream, max_open_files=limit) as (service, host, port),
        ):
            stalled = []
            for _ in range(stalled_count):
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(b"POST /scrape HTTP/1.1\r\nHost: courtside\r\nContent-Le")
                stalled.append((reader, writer))
            answer = await _answer(host, port, HEAD + b"Connection: close\r\n\r\n")
            # The scenario is the one claimed: the server did run out of descriptors.
            await asyncio.wait_for(
                service.line(lambda entry: "out of system resource" in str(entry.get("message"))), HANG_GUARD
            )
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            assert b'"status": "ok"' in answer
            for reader, writer in stalled:
                await _closed_without_an_answer(reader)
                writer.close()

    asyncio.run(scenario())


# --- body-read timeout ---------------------------------------------------------------------------


def _post_head(path: bytes, length: int) -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: courtside\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path, SECRET.encode(), length)
    )


async def _head_and_body(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG_GUARD)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await asyncio.wait_for(reader.readexactly(length), HANG_GUARD)


def test_a_request_body_dripped_past_the_body_timeout_is_answered_408_and_runs_nothing(
    tmp_path: Path,
) -> None:
    job = json.dumps({"scraper": "nbac_scoreboard_v2", "gamedate": "2024-01-15"}).encode()
    # Trailing spaces are valid JSON: the declared body is well-formed, it just arrives too slowly.
    bodies = {b"/scrape": job.ljust(4096), b"/batch": json.dumps([json.loads(job)]).encode().ljust(4096)}

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with (
            Upstream({}) as upstream,
            serve(tmp_path, upstream, COURTSIDE_SERVICE_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT)) as (
                service,
                host,
                port,
            ),
        ):
            for path, body in bodies.items():
                # The head arrives at once, then the body one byte at a time, never its last byte.
                opened = loop.time()
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(_post_head(path, len(body)))
                answered = asyncio.create_task(_head_and_body(reader))
                sent = 0
                with contextlib.suppress(ConnectionError):
                    while sent < len(body) - 1 and not answered.done():
                        writer.write(body[sent : sent + 1])
                        await writer.drain()
                        sent += 1
                        # Paces the drip; returns at once when the server answers.
                        await asyncio.wait({answered}, timeout=BODY_TIMEOUT / 5)
                head, answer = await answered
                assert head.startswith(b"HTTP/1.1 408"), head
                assert b"Connection: close" in head, "the rest of the body may still be on its way"
                assert loop.time() - opened >= BODY_TIMEOUT, "answered before the timeout: not by it"
                error = json.loads(answer)
                assert error["body_timeout_seconds"] == BODY_TIMEOUT
                assert f"within {BODY_TIMEOUT:g}s" in error["error"]
                writer.close()
                line = await asyncio.wait_for(service.line(_access_to(path.decode())), HANG_GUARD)
                assert line["httpRequest"]["status"] == 408

            # Nothing was admitted: no run in flight, no completion, two rejections counted.
            health = await _answer(host, port, HEAD + b"Connection: close\r\n\r\n")
            assert b'"in_flight": 0' in health
            assert not (tmp_path / "_events").exists(), "a refused request must not count as a run"
            metrics = await _answer(
                host,
                port,
                b"GET /metrics HTTP/1.1\r\nHost: courtside\r\nAuthorization: Bearer %s\r\n"
                b"Connection: close\r\n\r\n" % SECRET.encode(),
            )
            assert b'scraper_service_rejected_requests_total{reason="slow_body"} 2.0' in metrics

            # A body sent in time still runs (the upstream answers 404: one not_found completion).
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(_post_head(b"/scrape", len(job)) + job)
            await writer.drain()
            head, answer = await _head_and_body(reader)
            writer.close()
            assert head.startswith(b"HTTP/1.1 502"), head
            assert json.loads(answer)["result"]["failure_class"] == "not_found"
            events = (tmp_path / "_events" / "completions.jsonl").read_text().splitlines()
            assert [json.loads(event)["error_type"] for event in events] == ["not_found"]

    asyncio.run(scenario())


# --- authentication with bytes that are not UTF-8 -------------------------------------------------


# Raw header bytes: not UTF-8, the token followed by a stray byte, a scheme that is not UTF-8, and
# the UTF-8-style encoding of a surrogate (invalid UTF-8 that a lenient decoder turns into one).
NOT_UTF8 = [
    b"Bearer \xff\xfe",
    b"Bearer %s\xff" % SECRET.encode(),
    b"\xff\xfe " + SECRET.encode(),
    b"Bearer \xed\xa0\x80",
]


def test_an_authorization_header_that_is_not_utf8_answers_401_never_500(tmp_path: Path) -> None:
    async def scenario() -> ServiceProcess:
        async with Upstream({}) as upstream, serve(tmp_path, upstream) as (service, host, port):
            for index, authorization in enumerate(NOT_UTF8):
                answer = await _answer(
                    host,
                    port,
                    b"GET /scrapers?probe=%d HTTP/1.1\r\nHost: courtside\r\nUser-Agent: probe-\xff\r\n"
                    b"Authorization: %s\r\nConnection: close\r\n\r\n" % (index, authorization),
                )
                head, _, body = answer.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 401"), (authorization, head)
                assert b'WWW-Authenticate: Bearer realm="courtside"' in head
                assert body == b'{"error": "the bearer token is not valid"}'
                # The access line is still written (a user agent that is not UTF-8 used to drop it).
                url = f"/scrapers?probe={index}"
                line = await asyncio.wait_for(service.line(_access_to(url)), HANG_GUARD)
                assert line["httpRequest"]["status"] == 401
                assert line["httpRequest"]["userAgent"] == "probe-\ufffd"
            # ... and the right token still works on the same service.
            good = await _answer(
                host,
                port,
                b"GET /scrapers HTTP/1.1\r\nHost: courtside\r\nAuthorization: Bearer %s\r\n"
                b"Connection: close\r\n\r\n" % SECRET.encode(),
            )
            assert good.startswith(b"HTTP/1.1 200")
            return service

    service = asyncio.run(scenario())
    assert not [entry for entry in service.lines if entry.get("severity") == "ERROR"], service.raw


# --- a batch the in-flight cap could never admit -------------------------------------------------


def test_a_batch_larger_than_the_in_flight_cap_is_refused_with_400_and_nothing_runs(tmp_path: Path) -> None:
    settings = ServiceSettings(max_in_flight=2)

    async def scenario() -> None:
        async with running_service(tmp_path, settings=settings) as svc:
            response = await svc.http.post("/batch", json={"jobs": [SCOREBOARD] * 3})
            assert response.status == 400
            body = await response.json()
            assert (body["jobs"], body["max_in_flight"]) == (3, 2)
            assert "a batch of 3 jobs can never be admitted" in body["error"]
            assert "COURTSIDE_SERVICE_MAX_IN_FLIGHT=2" in body["error"]
            assert "Retry-After" not in response.headers, "sending it again would never help"
            assert svc.service.manager.in_flight == 0
            assert svc.events() == [], "a refused batch ran nothing"

            # At the cap it is admitted, and both runs complete.
            admitted = await svc.http.post("/batch", json={"jobs": [SCOREBOARD] * 2})
            assert admitted.status == 202
            for run in (await admitted.json())["runs"]:
                record = svc.service.manager.get(run["run_id"])
                assert record is not None
                await record.finished.wait()
            assert len(svc.events()) == 2

    asyncio.run(scenario())
