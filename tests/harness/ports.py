"""Loopback port helpers shared by the harness servers and the tests."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now, e.g. to build a URL that refuses connections.

    The port is released before returning, so another process could bind it before the caller
    uses it; on loopback in a test run that race is rare enough. Servers in this package bind
    port 0 instead and read the real port back, which has no race at all.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port
