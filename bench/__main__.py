"""`python -m bench`: the chaos table, the core overhead benchmark, then hostile upstreams, in one run.

    .venv/bin/python -m bench                          # standard scenario at its own time scale
    .venv/bin/python -m bench --scenario smoke --scale 100
    .venv/bin/python -m bench --skip-overhead --policies old,fleet
    .venv/bin/python -m bench --skip-chaos --skip-overhead --hostile-deadline 30

Targets are reported, never asserted: the exit code is 0 whenever the benchmark itself ran.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from bench.chaos import POLICIES, render, run_chaos
from bench.hostile import DEFAULT_DEADLINE, render_hostile, run_hostile
from bench.overhead import (
    DEFAULT_CONCURRENCIES,
    DEFAULT_SECONDS,
    render_overhead,
    run_overhead,
)
from bench.scenario import ScenarioError, load_scenario


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="The chaos table, then the core overhead benchmark."
    )
    parser.add_argument(
        "--scenario", default="standard", help="a name in bench/scenarios/ or a YAML path (default standard)"
    )
    parser.add_argument("--scale", type=float, help="time compression (default: the scenario's `scale`)")
    parser.add_argument(
        "--policies", default=",".join(POLICIES), help=f"comma-separated subset of {','.join(POLICIES)}"
    )
    parser.add_argument("--skip-chaos", action="store_true", help="no chaos table")
    parser.add_argument("--skip-overhead", action="store_true", help="no core overhead benchmark")
    parser.add_argument("--skip-hostile", action="store_true", help="no hostile-upstream benchmark")
    parser.add_argument(
        "--hostile-deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        help=f"job deadline of the hostile-upstream runs, seconds (default {DEFAULT_DEADLINE:g})",
    )
    parser.add_argument(
        "--overhead-seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help=f"overhead measuring time per side and concurrency (default {DEFAULT_SECONDS:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    policies = [name.strip() for name in args.policies.split(",") if name.strip()]
    unknown = set(policies) - set(POLICIES)
    if unknown or (args.scale is not None and args.scale <= 0):
        print(f"error: unknown policies {sorted(unknown)} or a non-positive --scale", file=sys.stderr)
        return 2
    started = time.monotonic()
    if not args.skip_chaos:
        try:
            scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = asyncio.run(
            run_chaos(scenario, scale=args.scale, policies=policies, progress=lambda line: print(f"  {line}"))
        )
        print(render(report))
        print()
    if not args.skip_overhead:
        result = asyncio.run(
            run_overhead(
                concurrencies=DEFAULT_CONCURRENCIES,
                seconds=args.overhead_seconds,
            )
        )
        print(render_overhead(result))
        print()
    if not args.skip_hostile:
        print(render_hostile(asyncio.run(run_hostile(args.hostile_deadline)), args.hostile_deadline))
        print()
    print(f"benchmark finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
