"""Hostile upstreams: peak RSS and deadline overshoot of real `scrapers run` processes.

    .venv/bin/python -m bench.hostile [--deadline 30]

Each case runs `scrapers run espn_scoreboard` (the project's registry, its default limits) against
a loopback upstream that sends one hostile thing, beside a normal run: a 1.5 GB body generated on
the fly, a 1.5 MB gzip bomb (1.5 GB of zeros), a body dripped one byte every 2 s (each read gets a
byte, so no read timeout fires; only the attempt's total deadline and the job deadline end it), and
the worst JSON within the default body limit (empty objects, ~25 bytes of memory per body byte).
The job deadline (the source's `deadline_seconds`, in a copied registry) is `--deadline`;
overshoot is wall time past it.
Peak RSS is the child's own (wait4's ru_maxrss). Target: under 512 MB in every case; reported,
never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.scenario import ROOT
from scrapers.core.outcome import Outcome
from scrapers.http.policy import DEFAULT_MAX_BODY_BYTES
from tests.harness import Behaviour, Upstream, respond
from tests.harness.upstream import drip, gzip_bomb, stream

TARGET_MIB = 512
DEFAULT_DEADLINE = 30.0
ESPN, PATH = "https://site.api.espn.com", "/apis/site/v2/sports/basketball/nba/scoreboard"
NORMAL = (ROOT / "tests" / "fixtures" / "espn" / "espn_scoreboard-2024-01-15.body.json").read_bytes()
JSON_TYPE = {"Content-Type": "application/json"}
HUGE = 1_500_000_000


@dataclass(frozen=True)
class HostileRun:
    case: str
    exit_code: int
    outcome: str
    seconds: float
    peak_rss_mib: float


def _worst_json() -> bytes:
    """Empty objects up to the default limit: the body that costs the most memory once parsed."""
    count = (DEFAULT_MAX_BODY_BYTES - 2) // 3
    return b"[" + b"{}," * (count - 1) + b"{}]"


def cases() -> dict[str, Behaviour]:
    return {
        "normal": respond(200, NORMAL, JSON_TYPE),
        "1.5 GB body": stream(HUGE),
        "1.5 MB gzip bomb": gzip_bomb(HUGE),
        "drip 1 B / 2 s": drip(2.0),
        f"worst JSON {DEFAULT_MAX_BODY_BYTES >> 20} MiB": respond(200, _worst_json(), JSON_TYPE),
    }


def _one(upstream_url: str, deadline: float) -> tuple[int, float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    with tempfile.TemporaryDirectory() as out:
        registry = yaml.safe_load((ROOT / "registry.yaml").read_text())
        registry["sources"]["espn"]["deadline_seconds"] = deadline
        copied = Path(out) / "registry.yaml"
        copied.write_text(yaml.safe_dump(registry))
        env.update(
            COURTSIDE_STATE="memory",
            COURTSIDE_UPSTREAMS=f"{ESPN}={upstream_url}",
            COURTSIDE_REGISTRY=str(copied),
        )
        args = ["espn_scoreboard", "--game_date", "2024-01-15", "--out", out, "--json"]
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "scrapers", "run", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        return child.returncode, time.monotonic() - started, usage.ru_maxrss / 1024  # KiB -> MiB


async def run_hostile(deadline: float = DEFAULT_DEADLINE) -> list[HostileRun]:
    runs: list[HostileRun] = []
    for case, behaviour in cases().items():
        async with Upstream({PATH: behaviour}) as upstream:
            code, seconds, rss = await asyncio.to_thread(_one, upstream.url, deadline)
        runs.append(HostileRun(case, code, _outcome(code), seconds, rss))
    return runs


def _outcome(code: int) -> str:
    if code == 0:
        return "success"
    return next((o.value for o in Outcome if o.exit_code == code), f"exit {code}")


def render_hostile(runs: Sequence[HostileRun], deadline: float) -> str:
    lines = [
        f"Hostile upstreams (espn_scoreboard, job deadline {deadline:g}s, "
        f"max_body_bytes {DEFAULT_MAX_BODY_BYTES >> 20} MiB; target peak RSS < {TARGET_MIB} MiB)",
        f"{'case':<22} {'exit':>4} {'outcome':<12} {'wall s':>7} {'overshoot s':>11} {'peak RSS MiB':>12}",
    ]
    for run in runs:
        overshoot = max(0.0, run.seconds - deadline)
        flag = "" if run.peak_rss_mib < TARGET_MIB else "  OVER TARGET"
        lines.append(
            f"{run.case:<22} {run.exit_code:>4} {run.outcome:<12} {run.seconds:>7.1f} "
            f"{overshoot:>11.1f} {run.peak_rss_mib:>12.0f}{flag}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, help="job deadline, seconds")
    args = parser.parse_args(argv)
    print(render_hostile(asyncio.run(run_hostile(args.deadline)), args.deadline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
