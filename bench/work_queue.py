"""A 300-job backfill run the three ways the README describes, side by side, plus a kill.

    .venv/bin/python -m bench.work_queue                  # 60 replayed days x (1 scoreboard + 4 gamebooks)
    .venv/bin/python -m bench.work_queue --days 20 --workers 4

Side by side, in one run, each into its own output and ledger (a real redis-server; the Pub/Sub
emulator of google-cloud-cli):

* `local`   - `scrapers backfill` in one process, `--concurrency` = workers x per-worker slots;
* `sharded` - `--workers` `scrapers backfill` processes at once, task i of N (JOB_COMPLETION_INDEX,
              COURTSIDE_TASK_COUNT: what a Cloud Run job's tasks or a Kubernetes indexed Job's pods
              get), each `--concurrency` per-worker slots, one shared ledger;
* `queue`   - `backfill --enqueue`, then `--workers` `scrapers worker` processes;
* `killed`  - the same, the first worker SIGKILLed once 30 % of the runs have ended.

Per mode: seconds from the first process's start until every job is done in the ledger, jobs per
second, runs per job (run summaries / jobs: above 1 means a job ran again), upstream requests per
job (the run summaries' attempts), Pub/Sub messages (job messages published: the enqueued parents
and the children workers publish), what each process answered, and what a second backfill of the
same range runs (it replays from an empty folder: any request would fail). Reported, never asserted
(tests/integration/test_work_queue.py and test_backfill.py assert the exactly-once part).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.servers import flush, running_redis
from tests.conftest import PROJECT_ROOT
from tests.harness.pubsub_emulator import find_emulator, running_pubsub_emulator
from tests.harness.replay_days import days, write_days
from tests.harness.work_queue import (
    create_queue,
    drain_with_workers,
    ledger_entries,
    queue_env,
    run_summaries,
    scrapers,
)

LEDGER = ("nbac_scoreboard_v2", "nbac_gamebook_pdf")


@dataclass(frozen=True)
class Row:
    mode: str
    jobs: int
    seconds: float
    runs: int
    requests: int
    messages: int
    handled: Sequence[int]
    second_ran: str

    def render(self) -> str:
        share = "/".join(str(n) for n in self.handled) or "-"
        return (
            f"{self.mode:<7} {self.jobs:>5} {self.seconds:>8.1f} {self.jobs / self.seconds:>7.2f} "
            f"{self.runs / self.jobs:>9.3f} {self.requests / self.jobs:>9.3f} {self.messages:>8}  "
            f"{share:<14} {self.second_ran}"
        )


def _requests(out: Path) -> int:
    """Upstream requests the runs sent (their attempt logs; a replayed request counts as sent)."""
    return sum(int(run.get("attempts", {}).get("total", 0)) for run in run_summaries(out))


def _sharded(
    env: dict[str, str], span: str, common: list[str], tasks: int, slots: int, out: Path
) -> list[int]:
    """`tasks` backfill processes at once, task i of `tasks`; each one's exit code."""
    processes = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "scrapers", "backfill", "nbac_scoreboard_v2", "--game_date", span),
                *("--concurrency", str(slots), *common),
            ],
            cwd=PROJECT_ROOT,
            env={**env, "JOB_COMPLETION_INDEX": str(index), "COURTSIDE_TASK_COUNT": str(tasks)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(tasks)
    ]
    return [process.wait(timeout=3600) for process in processes]


def _again(env: dict[str, str], span: str, out: Path, empty: Path) -> str:
    done = scrapers(
        env, "backfill", "nbac_scoreboard_v2", "--game_date", span, "--replay", str(empty), "--out", str(out)
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    return last.removeprefix("backfill: ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.work_queue", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=int, default=60, help="replayed days, 1 + --games jobs each (default 60)"
    )
    parser.add_argument("--games", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2, help="slots per worker (default 2)")
    args = parser.parse_args(argv)
    script, reason = find_emulator()
    if script is None:
        print(f"skipped: {reason}", file=sys.stderr)
        return 0
    jobs = args.days * (1 + args.games)
    span = f"{days(args.days)[0]}..{days(args.days)[-1]}"
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as temp:
        folder = Path(temp)
        fixtures, empty = folder / "fixtures", folder / "empty"
        empty.mkdir()
        (folder / "redis").mkdir()
        write_days(fixtures, args.days, args.games)
        with (
            running_redis(folder / "redis") as redis_url,
            running_pubsub_emulator(script, folder) as emulator,
        ):
            rows = []
            for mode in ("local", "sharded", "queue", "killed"):
                flush(redis_url)
                out, logs = folder / mode, folder / f"{mode}-logs"
                logs.mkdir()
                env = queue_env(emulator, redis_url, create_queue(emulator))
                common = ["--replay", str(fixtures), "--out", str(out)]
                messages = 0
                if mode == "sharded":
                    started = time.monotonic()
                    codes = _sharded(env, span, common, args.workers, args.concurrency, out)
                    seconds, handled = time.monotonic() - started, [len(codes)]
                    if set(codes) != {0}:
                        print(f"sharded tasks exited {codes}", file=sys.stderr)
                    entries = ledger_entries(redis_url, out, LEDGER)
                    handled = [sum(entry.done for entry in entries.values())]
                elif mode == "local":
                    started = time.monotonic()
                    slots = str(args.workers * args.concurrency)
                    done = scrapers(
                        env,
                        "backfill",
                        "nbac_scoreboard_v2",
                        "--game_date",
                        span,
                        "--concurrency",
                        slots,
                        *common,
                        timeout=3600,
                    )
                    seconds, handled = time.monotonic() - started, [jobs]
                    if done.returncode != 0:
                        print(done.stderr[-2000:], file=sys.stderr)
                else:
                    scrapers(env, "backfill", "nbac_scoreboard_v2", "--game_date", span, "--enqueue", *common)
                    drained = drain_with_workers(
                        env,
                        common,
                        out,
                        logs,
                        jobs=jobs,
                        scrapers_in_ledger=LEDGER,
                        workers=args.workers,
                        concurrency=args.concurrency,
                        kill_after_runs=int(jobs * 0.3) if mode == "killed" else None,
                        deadline_seconds=3600,
                    )
                    seconds, handled = drained.seconds, drained.handled
                    messages = args.days + args.days * args.games  # parents enqueued + children published
                row = Row(
                    mode,
                    jobs,
                    seconds,
                    len(run_summaries(out)),
                    _requests(out),
                    messages,
                    handled,
                    _again(env, span, out, empty),
                )
                rows.append(row)
                print(row.render(), flush=True)
    print()
    header = (
        f"{'mode':<7} {'jobs':>5} {'seconds':>8} {'jobs/s':>7} {'runs/job':>9} {'req/job':>9} "
        f"{'messages':>8}  {'per process':<14}"
    )
    print(f"{header} second backfill")
    for row in rows:
        print(row.render())
    local = rows[0].seconds
    for row in rows[1:]:
        print(f"{row.mode}: {local / row.seconds:.2f}x the local backfill's rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
