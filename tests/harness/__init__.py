"""Loopback fault-injection servers for testing the HTTP core over real sockets.

``Upstream`` plays the data source (per-path responses and faults), ``ForwardProxy`` plays a
plain-HTTP forward proxy (per-proxy faults). Both run inside the caller's event loop on
127.0.0.1 with an OS-chosen port and stop completely when their ``async with`` block exits.
"""

from tests.harness.forward_proxy import ForwardProxy, ProxiedRequest
from tests.harness.ports import free_port
from tests.harness.upstream import (
    Behaviour,
    RateLimit,
    RecordedRequest,
    Upstream,
    hang,
    rate_limit,
    reset,
    respond,
    respond_json,
    sequence,
    slow,
)

__all__ = [
    "Behaviour",
    "ForwardProxy",
    "ProxiedRequest",
    "RateLimit",
    "RecordedRequest",
    "Upstream",
    "free_port",
    "hang",
    "rate_limit",
    "reset",
    "respond",
    "respond_json",
    "sequence",
    "slow",
]
