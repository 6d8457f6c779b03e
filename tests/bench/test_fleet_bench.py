"""The fleet benchmark (`python -m bench.fleet`, `make bench-fleet`): one command, three tables.

The slow test runs the real command with small sizes (real replicas, workers and containers, a
real redis-server, Prometheus and Pushgateway) and checks that every figure of every table is
there, once per row. No performance thresholds: those are reported by the benchmark, never
asserted. The fast tests check the options and the rendering without starting anything.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.fleet import main, summary
from bench.fleet_metrics import MetricsRow, render_fleet_metrics, rfc3339_seconds
from bench.servers import PROMETHEUS, PUSHGATEWAY, REDIS_SERVER, find_binary
from tests.conftest import PROJECT_ROOT

BENCH_SECONDS = 600.0  # a hung benchmark fails the test instead of the whole run
RATE_ROW = re.compile(
    r"^(?P<state>redis|sqlite|memory) +(?P<replicas>\d+) +[\d.]+ +\d+ +\d+ +\d+% +\d+ +[\d.]+% "
    r"+\d+/\d+ +\d+  (met|missed)$"
)
BREAKER_ROW = re.compile(
    r"^(?P<label>per-process \(memory\)|fleet \(SQLite file\)|fleet \(Redis\)) +\d+ +[\d.]+ +\d+ +\d+ +\d+$"
)
METRICS_ROW = re.compile(
    r"^(?P<label>per-container \(SQLite\)|fleet \(Redis\)) +(?P<containers>\d+) +(?P<failed>\d+) +\d+ +"
    r"(?P<gateway>[\d.]+) +(?P<increase>[\d.e+-]+) +[\d.]+ +[\d.]+  "
    r"(inactive|pending|firing) +\d+  (met|missed)$"
)


@pytest.mark.slow
def test_one_command_prints_every_figure_of_the_three_tables() -> None:
    missing = [name for name in (REDIS_SERVER, PROMETHEUS, PUSHGATEWAY) if find_binary(name) is None]
    if missing:
        packages = "redis-server prometheus prometheus-pushgateway"
        pytest.skip(f"not installed: {', '.join(missing)} (apt-get install {packages})")
    containers = 2
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.fleet",
            "--replicas",
            "2",
            "--states",
            "redis,memory",
            "--steady-requests",
            "20",
            "--breaker-processes",
            "2",
            "--breaker-seconds",
            "2",
            "--containers",
            str(containers),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=BENCH_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()

    rate = [found for line in lines if (found := RATE_ROW.match(line))]
    assert [(row["state"], row["replicas"]) for row in rate] == [("redis", "2"), ("memory", "2")], done.stdout
    breakers = [found["label"] for line in lines if (found := BREAKER_ROW.match(line))]
    assert breakers == ["per-process (memory)", "fleet (SQLite file)", "fleet (Redis)"], done.stdout
    metrics = {found["label"]: found for line in lines if (found := METRICS_ROW.match(line))}
    assert list(metrics) == ["per-container (SQLite)", "fleet (Redis)"], done.stdout
    for row in metrics.values():
        assert (row["containers"], row["failed"]) == (str(containers), str(containers)), row.group(0)
    # What the fleet's totals are for (asserted in tests/integration/test_metric_totals.py too): the
    # gateway holds, and Prometheus counts, every failing container.
    redis_row = metrics["fleet (Redis)"]
    assert float(redis_row["gateway"]) == containers
    assert float(redis_row["increase"]) == pytest.approx(containers)

    for heading in (
        "(a) Fleet rate limiting",
        "(b) Fleet breakers",
        "(c) Fleet metrics",
        "Fleet vs per-process",
    ):
        assert any(line.startswith(heading) for line in lines), heading
    for figure in ("(a) 2 replicas", "(b) hits on a blocked proxy", "(c) increase() of failed runs"):
        assert any(line.startswith(figure) for line in lines), figure
    assert re.search(r"^fleet benchmark: \d+ s$", done.stdout, re.MULTILINE)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--states", "redis,disk"], "--states 'redis,disk'"),
        (["--containers", "0"], "--containers must be positive"),
        (["--skip-rate", "--skip-breakers", "--skip-metrics"], "every table is skipped"),
    ],
)
def test_a_bad_option_exits_2_naming_it(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert named in capsys.readouterr().err


def test_a_replica_list_that_is_not_counts_exits_2_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--replicas", "4,eight"])
    assert exited.value.code == 2
    assert "example: 4,8" in capsys.readouterr().err


def test_the_metrics_table_and_summary_show_every_figure() -> None:
    rows = [
        MetricsRow("per-container (SQLite)", 5, 5, 0, 1.0, 1.0, 1.02, 0.0, "inactive", 9.0),
        MetricsRow("fleet (Redis)", 5, 5, 0, 5.0, 5.0, 5.1, 0.0, "pending", 10.0),
    ]
    table = render_fleet_metrics(rows, 5).splitlines()
    matched = [found.groupdict() for line in table if (found := METRICS_ROW.match(line))]
    assert [(row["label"], row["gateway"], row["increase"]) for row in matched] == [
        ("per-container (SQLite)", "1", "1"),
        ("fleet (Redis)", "5", "5"),
    ]
    assert table[-2].endswith("missed")
    assert table[-1].endswith("met")
    assert summary([], [], rows).splitlines()[-1] == (
        "(c) increase() of failed runs after 5 failing containers: per-container (SQLite) 1; fleet (Redis) 5"
    )


def test_prometheus_times_with_nanoseconds_and_offsets_parse() -> None:
    assert rfc3339_seconds("2024-01-15T12:00:00.123456789Z") == pytest.approx(1705320000.123456)
    assert rfc3339_seconds("2024-01-15T13:00:00+01:00") == 1705320000.0
