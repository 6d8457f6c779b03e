"""The fleet benchmark: real processes sharing one state store, against the per-process baseline.

    .venv/bin/python -m bench.fleet                       # all three tables, in one run (make bench-fleet)
    .venv/bin/python -m bench.fleet --replicas 4,8 --skip-breakers --skip-metrics

One redis-server on loopback serves every table (emptied before each row); each table puts the
fleet sharing it beside processes that share nothing, in the same run:

(a) Rate: N replicas (`--replicas`, comma-separated counts) of `scrapers run-many` against a loopback
upstream that admits `--allowed` requests per sliding `--window` seconds (6/s by default) and
answers the rest 429 + Retry-After: 1. BallDontLie's rate in the replicas' registry is `--share` of
that (rate, ceiling, burst 1). States (`--states`):

* `redis`  - COURTSIDE_STATE=redis://...: one budget for the fleet;
* `sqlite` - one SQLite file: per-process buckets, only the learned rate shared (the old fleet);
* `memory` - nothing shared.

Figures are what the upstream recorded in the steady span (from the last replica's first request
to the `--steady-requests`-th after it, when the replicas are stopped): accepted requests as a
share of what the upstream allowed in that time, 429s as a share of what was sent, the most
accepted in any window (the limit), and the runs that failed `rate_limited`. Targets (issue 17):
Redis >= 90 % of the allowed rate with <= 3 % 429s.

(b) Breakers (bench/fleet_breakers.py): `--breaker-processes` worker processes fetch through a
blocked proxy before a healthy one; hits on the blocked proxy per reset window
(`--breaker-reset`, measured for `--breaker-seconds`) with a circuit per process (memory) and one
for the fleet (SQLite file, Redis). Target for the fleet: <= 1 per window.

(c) Metrics (bench/fleet_metrics.py): 1 successful then `--containers` failing one-job `scrapers
run` containers pushing to a real Pushgateway that a real Prometheus scrapes; increase() of
scraper_failed_runs_total with a SQLite file per container (counters per container) and with
Redis (totals for the fleet). Target: the number of failing containers.

`--skip-rate`, `--skip-breakers`, `--skip-metrics` leave a table out. Reported, never asserted (the
assertions are tests/integration/test_fleet_ratelimit.py, test_fleet_breakers.py and
test_metric_totals.py); the exit code is 0 whenever the benchmark ran.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.fleet_breakers import Row as BreakerRow
from bench.fleet_breakers import render_fleet_breakers, run_fleet_breakers
from bench.fleet_metrics import MetricsRow, missing_binaries, render_fleet_metrics, run_fleet_metrics
from bench.servers import REDIS_SERVER, find_binary, flush, install_hint, running_redis
from tests.harness.fleet import FleetPlan, FleetRun, most_in_any_window, run_fleet

STATES = ("redis", "sqlite", "memory")
RATE_LABELS = {
    "redis": "fleet (Redis)",
    "sqlite": "per-process (SQLite file)",
    "memory": "per-process (memory)",
}
TARGET_ACCEPTED = 0.90
TARGET_REFUSED = 0.03


@dataclass(frozen=True)
class RateRow:
    state: str
    run: FleetRun


async def run_rate(
    replicas: Sequence[int], states: Sequence[str], base: FleetPlan, folder: Path, redis_url: str
) -> list[RateRow]:
    """Each replica count with each state, one after the other; a line printed as each ends."""
    rows = []
    for count in replicas:
        for state in states:
            if state == "redis":
                flush(redis_url)  # every fleet starts from the configured rate, as a new one would
            store = {"redis": redis_url, "sqlite": f"sqlite:{folder / f'{state}-{count}.sqlite'}"}.get(
                state, state
            )
            run = await run_fleet(
                dataclasses.replace(base, state=store, replicas=count), folder / f"{state}-{count}"
            )
            rows.append(RateRow(state, run))
            print(_line(rows[-1]), flush=True)
    return rows


def _line(row: RateRow) -> str:
    run, plan = row.run, row.run.plan
    steady = run.steady()
    sent = steady.accepted + steady.refused
    target = steady.accepted_share >= TARGET_ACCEPTED and steady.refused_share <= TARGET_REFUSED
    failed = run.failed_runs().get("rate_limited", 0)
    return (
        f"{row.state:<7} {plan.replicas:>8} {steady.seconds:>8.1f} {sent:>6} {steady.accepted:>8} "
        f"{steady.accepted_share:>10.0%} {steady.refused:>6} {steady.refused_share:>6.1%} "
        f"{most_in_any_window(run.arrivals, plan.window):>6}/{plan.allowed:<4} {failed:>12}  "
        f"{'met' if target else 'missed'}"
    )


HEADER = (
    f"{'state':<7} {'replicas':>8} {'steady s':>8} {'sent':>6} {'accepted':>8} {'of allowed':>10} "
    f"{'429s':>6} {'429 %':>6} {'window max':>11} {'rate_limited':>12}  target"
)


def summary(rate: Sequence[RateRow], breakers: Sequence[BreakerRow], metrics: Sequence[MetricsRow]) -> str:
    """The issue-17 figures of the tables above, each fleet beside its per-process baseline."""
    lines = ["Fleet vs per-process, in this run:"]
    for count in dict.fromkeys(row.run.plan.replicas for row in rate):
        cells = []
        for row in (row for row in rate if row.run.plan.replicas == count):
            steady = row.run.steady()
            shares = f"{steady.accepted_share:.0%} accepted, {steady.refused_share:.1%} 429s"
            cells.append(f"{RATE_LABELS[row.state]} {shares}")
        lines.append(f"(a) {count} replicas, of the allowed rate after warm-up: " + "; ".join(cells))
    if breakers:
        cells = [f"{row.label} {row.per_window:.2f}" for row in breakers]
        lines.append("(b) hits on a blocked proxy per reset window: " + "; ".join(cells))
    if metrics:
        cells = [f"{row.label} {row.increase:g}" for row in metrics]
        lines.append(
            f"(c) increase() of failed runs after {metrics[0].containers} failing containers: "
            + "; ".join(cells)
        )
    return "\n".join(lines)


def _positive_ints(text: str) -> list[int]:
    """`4,8` -> [4, 8]; anything else is an argparse error (exit 2) that shows an example."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of positive counts (example: 4,8)")
    return counts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n\n")[0])
    rate = parser.add_argument_group("(a) rate limits")
    rate.add_argument(
        "--replicas", type=_positive_ints, default=[4], help="comma-separated replica counts (default 4)"
    )
    rate.add_argument("--states", default=",".join(STATES), help=f"subset of {','.join(STATES)}")
    rate.add_argument("--allowed", type=int, default=72, help="requests the upstream admits per window")
    rate.add_argument("--window", type=float, default=12.0, help="the upstream's sliding window, seconds")
    rate.add_argument("--share", type=float, default=0.93, help="configured rate / allowed rate (0.93)")
    rate.add_argument("--steady-requests", type=int, default=150, help="requests in the steady span")
    breakers = parser.add_argument_group("(b) breakers")
    breakers.add_argument("--breaker-processes", type=int, default=4, help="worker processes (default 4)")
    breakers.add_argument("--breaker-reset", type=float, default=0.5, help="reset window, seconds (0.5)")
    breakers.add_argument("--breaker-seconds", type=float, default=10.0, help="measured seconds per row (10)")
    metrics = parser.add_argument_group("(c) metrics")
    metrics.add_argument(
        "--containers",
        type=int,
        default=5,
        help="failing containers per row (default 5, the alert's minimum)",
    )
    for part in ("rate", "breakers", "metrics"):
        parser.add_argument(f"--skip-{part}", action="store_true", help=f"no {part} table")
    return parser


def _problems(args: argparse.Namespace, states: list[str]) -> list[str]:
    """What is wrong with the options, each with an example; empty when the run can start."""
    problems = []
    unknown = sorted(set(states) - set(STATES))
    if unknown or not states:
        problems.append(
            f"--states {args.states!r}: choose from {', '.join(STATES)} (example: --states redis,memory)"
        )
    positive = {
        "--allowed": args.allowed,
        "--window": args.window,
        "--share": args.share,
        "--steady-requests": args.steady_requests,
        "--breaker-processes": args.breaker_processes,
        "--breaker-reset": args.breaker_reset,
        "--breaker-seconds": args.breaker_seconds,
        "--containers": args.containers,
    }
    problems.extend(
        f"{flag} must be positive, got {value:g}" for flag, value in positive.items() if value <= 0
    )
    if args.skip_rate and args.skip_breakers and args.skip_metrics:
        problems.append("every table is skipped: drop one of --skip-rate, --skip-breakers, --skip-metrics")
    missing = set()
    if not args.skip_rate and find_binary(REDIS_SERVER) is None:
        missing.add(install_hint(REDIS_SERVER))
    if not args.skip_metrics:
        missing.update(missing_binaries())
    problems.extend(sorted(missing))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    states = [s for s in args.states.split(",") if s]
    problems = _problems(args, states)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="courtside-fleet-") as scratch:
        folder = Path(scratch)
        # One server for every table; without redis-server (only --skip-rate --skip-metrics) the
        # breakers table leaves its Redis row out.
        with _redis(folder) as redis_url:
            rate: list[RateRow] = []
            breakers: list[BreakerRow] = []
            metrics: list[MetricsRow] = []
            if not args.skip_rate:
                assert redis_url is not None  # _problems checked redis-server is installed
                rate = _rate_table(args, states, folder, redis_url)
            if not args.skip_breakers:
                breakers = run_fleet_breakers(
                    args.breaker_processes, args.breaker_reset, args.breaker_seconds, redis_url
                )
                table = render_fleet_breakers(
                    breakers, args.breaker_processes, args.breaker_reset, args.breaker_seconds
                )
                print(f"\n(b) {table}", flush=True)
            if not args.skip_metrics:
                metrics = run_fleet_metrics(args.containers, redis_url)
                print(f"\n(c) {render_fleet_metrics(metrics, args.containers)}", flush=True)
    print(f"\n{summary(rate, breakers, metrics)}")
    print(f"\nfleet benchmark: {time.monotonic() - started:.0f} s")
    return 0


def _rate_table(args: argparse.Namespace, states: list[str], folder: Path, redis_url: str) -> list[RateRow]:
    replicas: list[int] = args.replicas
    base = FleetPlan(
        state="",
        allowed=args.allowed,
        window=args.window,
        share=args.share,
        steady_requests=args.steady_requests,
        # Per-process fleets send far more before the stop than the shared one; never run out.
        jobs_per_replica=max(60, 3 * args.steady_requests // min(replicas)),
    )
    print(
        f"(a) Fleet rate limiting: upstream admits {args.allowed} per {args.window:g}s "
        f"({args.allowed / args.window:g}/s); each replica's configured rate {args.share:.0%} of that; "
        f"figures over the {args.steady_requests} requests after every replica started"
    )
    print(HEADER, flush=True)
    return asyncio.run(run_rate(replicas, states, base, folder, redis_url))


@contextmanager
def _redis(folder: Path) -> Iterator[str | None]:
    if find_binary(REDIS_SERVER) is None:
        yield None
    else:
        with running_redis(folder) as url:
            yield url


if __name__ == "__main__":
    raise SystemExit(main())
