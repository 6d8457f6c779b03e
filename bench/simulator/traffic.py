"""What the simulator saw: one record per request that reached a host or a proxy.

Times are simulated seconds since the simulator started, so figures read the same at any scale.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["upstream", "proxy"]
# upstream results: "ok" (a recorded answer), "not_found", "rate_limited" (429), "error" (5xx),
# "reset", "hang"; proxy results: "forwarded", "forbidden" (403), "auth" (407), "reset", "hang",
# "bad_gateway" (the proxy's own 502).
Result = str


@dataclass(frozen=True)
class Arrival:
    at: float  # simulated seconds since start
    kind: Kind
    server: str  # the host name, or the proxy name
    host: str  # the target host (for a proxy: where the request was going)
    via: str | None  # the proxy that carried an upstream request; None when direct
    result: Result


@dataclass
class SimClock:
    scale: float
    started: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        """Simulated seconds since start."""
        return (time.monotonic() - self.started) * self.scale

    def wall(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.scale


@dataclass
class TrafficLog:
    arrivals: list[Arrival] = field(default_factory=list)

    def add(self, arrival: Arrival) -> None:
        self.arrivals.append(arrival)

    def upstream(self, host: str | None = None) -> list[Arrival]:
        return [a for a in self.arrivals if a.kind == "upstream" and (host is None or a.host == host)]

    def proxy(self, name: str | None = None) -> list[Arrival]:
        return [a for a in self.arrivals if a.kind == "proxy" and (name is None or a.server == name)]

    def results(self, kind: Kind) -> Counter[str]:
        return Counter(a.result for a in self.arrivals if a.kind == kind)
