"""Who holds an outbox entry, and whether that holder still lives.

A GCS claim records its owner: the host, the process id and the process's start time (so a reused
pid is not mistaken for the owner). A sweeper on the same host can tell at once that the owner is
gone and take the entry over; from another host only the claim's lease can say so.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its end.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str | None
    expires_at: float  # epoch seconds: past it, the claim is free for anyone

    @classmethod
    def me(cls, lease_seconds: float) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_ticks(pid), time.time() + lease_seconds)

    def to_json(self) -> bytes:
        return json.dumps(
            {"host": self.host, "pid": self.pid, "started": self.started, "expires_at": self.expires_at}
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Owner | None:
        try:
            value = json.loads(raw)
            return cls(
                str(value["host"]), int(value["pid"]), value.get("started"), float(value["expires_at"])
            )
        except (ValueError, KeyError, TypeError):
            return None  # a claim written by an older version, or torn: only its age can free it

    def gone(self) -> bool:
        """True when this claim's holder can no longer finish it."""
        if time.time() > self.expires_at:
            return True
        if self.host != socket.gethostname():
            return False  # another machine: trust the lease
        return self.started is None or _start_ticks(self.pid) != self.started
