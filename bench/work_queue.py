"""The work queue at 300 jobs: one local backfill process against three workers on a jobs topic.

    .venv/bin/python -m bench.work_queue                  # 60 replayed days x (1 scoreboard + 4 gamebooks)
    .venv/bin/python -m bench.work_queue --days 20 --workers 4

Side by side, in one run, each into its own output and ledger (a real redis-server; the Pub/Sub
emulator of google-cloud-cli):

* `local`  - `scrapers backfill` in one process, `--concurrency` = workers x per-worker slots;
* `queue`  - `backfill --enqueue`, then `--workers` `scrapers worker` processes;
* `killed` - the same, the first worker SIGKILLed once 30 % of the runs have ended.

Per mode: seconds until every job is done in the ledger, jobs per second, runs per job (run
summaries / jobs: above 1 means a job ran again), the messages each worker answered, and what a
second backfill of the same range runs (it replays from an empty folder: any request would fail).
Reported, never asserted (tests/integration/test_work_queue.py asserts the exactly-once part).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness.pubsub_emulator import find_emulator, running_pubsub_emulator
from tests.harness.replay_days import days, write_days
from tests.harness.work_queue import create_queue, drain_with_workers, queue_env, run_summaries, scrapers
from tests.integration.redis_server import flush, running_redis

LEDGER = ("nbac_scoreboard_v2", "nbac_gamebook_pdf")


@dataclass(frozen=True)
class Row:
    mode: str
    jobs: int
    seconds: float
    runs: int
    handled: Sequence[int]
    second_ran: str

    def render(self) -> str:
        share = "/".join(str(n) for n in self.handled) or "-"
        return (
            f"{self.mode:<7} {self.jobs:>5} {self.seconds:>8.1f} {self.jobs / self.seconds:>7.2f} "
            f"{self.runs / self.jobs:>9.3f}  {share:<14} {self.second_ran}"
        )


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
            for mode in ("local", "queue", "killed"):
                flush(redis_url)
                out, logs = folder / mode, folder / f"{mode}-logs"
                logs.mkdir()
                topic, subscription = create_queue(emulator)
                env = queue_env(emulator, redis_url, topic, subscription)
                common = ["--replay", str(fixtures), "--out", str(out)]
                if mode == "local":
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
                row = Row(
                    mode, jobs, seconds, len(run_summaries(out)), handled, _again(env, span, out, empty)
                )
                rows.append(row)
                print(row.render(), flush=True)
    print()
    header = f"{'mode':<7} {'jobs':>5} {'seconds':>8} {'jobs/s':>7} {'runs/job':>9}  {'per worker':<14}"
    print(f"{header} second backfill")
    for row in rows:
        print(row.render())
    local = rows[0].seconds
    for row in rows[1:]:
        print(f"{row.mode}: {local / row.seconds:.2f}x the local backfill's rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
