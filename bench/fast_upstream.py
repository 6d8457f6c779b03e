"""A fast loopback upstream for the overhead benchmark, in its own process.

    python -m bench.fast_upstream [--lifetime SECONDS]

Prints `PORT <n>` once it listens, answers every request (origin-form, or absolute-form as a
proxy would receive it) with a small JSON body, and exits when its stdin closes or the lifetime
ends, whichever comes first. Its own process keeps the server's CPU off the measured client.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading

from aiohttp import web

BODY = b'{"games": [{"id": 1, "home": "MEM", "away": "GSW"}]}'
HEADERS = {"Content-Type": "application/json"}


async def _handle(request: web.BaseRequest) -> web.StreamResponse:
    return web.Response(body=BODY, headers=HEADERS)


async def serve(lifetime: float) -> None:
    server = web.Server(_handle, access_log=None)
    runner = web.ServerRunner(server, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or exited
        loop.call_soon_threadsafe(closed.set)

    # A daemon thread, so a parent that never closes stdin cannot keep this process past its lifetime.
    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        await asyncio.wait_for(closed.wait(), lifetime)
    except TimeoutError:
        pass
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fast_upstream")
    parser.add_argument("--lifetime", type=float, default=300.0)
    asyncio.run(serve(parser.parse_args().lifetime))


if __name__ == "__main__":
    main()
