"""`python -m bench`: the chaos table, the core overhead benchmark, then hostile upstreams, in one run.

    .venv/bin/python -m bench                          # standard scenario at its own time scale
    .venv/bin/python -m bench --scenario smoke --scale 100
    .venv/bin/python -m bench --skip-overhead --policies old,fleet
    .venv/bin/python -m bench --skip-chaos --skip-overhead --hostile-deadline 30
    .venv/bin/python -m bench --peers                  # Courtside beside crawlee and Scrapy, 3 runs
    .venv/bin/python -m bench --peers --runs 1 --skip-overhead

`--peers` (needs the `peers` extra: `make bench-peers`) runs Courtside's fleet, crawlee and Scrapy
on the scenario `--runs` times (default 3), each run with its own simulators and its own core
overhead measurement, and prints each run's peer table with issue 20's Done-when verdicts, then
how many runs passed each. Targets are reported, never asserted: the exit code is 0 whenever the
benchmark itself ran.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from bench.chaos import (
    KNOWN_POLICIES,
    PEER_POLICIES,
    POLICIES,
    Verdict,
    peer_verdicts,
    render,
    render_peers,
    run_chaos,
)
from bench.hostile import DEFAULT_DEADLINE, render_hostile, run_hostile
from bench.overhead import (
    DEFAULT_CONCURRENCIES,
    DEFAULT_SECONDS,
    TARGETS,
    OverheadRow,
    render_overhead,
    run_overhead,
)
from bench.peers.runner import INSTALL_HINT, missing_extra
from bench.scenario import ScenarioError, load_scenario

PEER_RUNS = 3  # issue 20's Done-when: three runs, one invocation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="The chaos table, then the core overhead benchmark."
    )
    parser.add_argument(
        "--scenario", default="standard", help="a name in bench/scenarios/ or a YAML path (default standard)"
    )
    parser.add_argument("--scale", type=float, help="time compression (default: the scenario's `scale`)")
    parser.add_argument(
        "--policies",
        help=f"comma-separated subset of {','.join(KNOWN_POLICIES)} "
        f"(default {','.join(POLICIES)}; with --peers: fleet,{','.join(PEER_POLICIES)})",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="Courtside's fleet beside crawlee and Scrapy (the `peers` extra): one table per run with "
        "issue 20's verdicts; no hostile-upstream runs",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help=f"run the chaos table and overhead N times (default {PEER_RUNS} with --peers, else 1)",
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


def overhead_verdicts(rows: Sequence[OverheadRow]) -> list[Verdict]:
    """One verdict per concurrency with a target: 64 is issue 20's Done-when, 1 its "What to build"."""
    verdicts = []
    for concurrency, target in sorted(TARGETS.items(), reverse=True):
        row = next((r for r in rows if r.concurrency == concurrency), None)
        claim = f"core overhead >= {target:g} at concurrency {concurrency}"
        if row is None:
            verdicts.append(Verdict(claim, None, "not measured"))
            continue
        detail = (
            f"{row.ratio:.2f} (median of slice pairs {row.median_ratio:.2f}, "
            f"per CPU-second {row.cpu_ratio:.2f})"
        )
        verdicts.append(Verdict(claim, row.ratio >= target, detail))
    return verdicts


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    default = f"fleet,{','.join(PEER_POLICIES)}" if args.peers else ",".join(POLICIES)
    policies = [name.strip() for name in (args.policies or default).split(",") if name.strip()]
    unknown = set(policies) - set(KNOWN_POLICIES)
    if unknown:
        print(
            f"error: --policies: unknown {', '.join(sorted(unknown))} (known: {', '.join(KNOWN_POLICIES)}; "
            "example: --policies fleet,crawlee,scrapy)",
            file=sys.stderr,
        )
        return 2
    runs = args.runs if args.runs is not None else (PEER_RUNS if args.peers else 1)
    if (args.scale is not None and args.scale <= 0) or runs < 1:
        print("error: --scale and --runs must be positive (example: --scale 20 --runs 3)", file=sys.stderr)
        return 2
    missing = missing_extra(policies) if not args.skip_chaos else []
    if missing:
        print(f"error: {', '.join(missing)} not installed; {INSTALL_HINT}", file=sys.stderr)
        return 2
    started = time.monotonic()
    scenario = None
    if not args.skip_chaos:
        try:
            scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    tally: dict[str, list[bool | None]] = {}
    for number in range(1, runs + 1):
        if runs > 1:
            print(f"=== run {number} of {runs} ===")
        verdicts: list[Verdict] = []
        if scenario is not None:
            report = asyncio.run(
                run_chaos(
                    scenario, scale=args.scale, policies=policies, progress=lambda line: print(f"  {line}")
                )
            )
            print(render_peers(report) if args.peers else render(report))
            print()
            verdicts.extend(peer_verdicts(report))
        if not args.skip_overhead:
            result = asyncio.run(
                run_overhead(
                    concurrencies=DEFAULT_CONCURRENCIES,
                    seconds=args.overhead_seconds,
                )
            )
            print(render_overhead(result))
            if args.peers:
                for verdict in overhead_verdicts(result):
                    verdicts.append(verdict)
                    print(verdict.line())
            print()
        for verdict in verdicts:
            tally.setdefault(verdict.claim, []).append(verdict.passed)
    if args.peers and tally:
        print(f"Done-when (issue 20) over {runs} run{'s' if runs > 1 else ''}, one invocation:")
        for claim, results in tally.items():
            passed = sum(1 for r in results if r)
            print(f"  {claim}: passed in {passed} of {len(results)} runs")
        print()
    if not args.skip_hostile and not args.peers:
        print(render_hostile(asyncio.run(run_hostile(args.hostile_deadline)), args.hostile_deadline))
        print()
    print(f"benchmark finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
