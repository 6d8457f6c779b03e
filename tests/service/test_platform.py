"""Cloud Run and Kubernetes conventions, as real processes see them.

`scrapers serve` listens on every interface when the platform routes traffic to the container
(K_SERVICE, PORT, KUBERNETES_SERVICE_HOST), and an explicit address still wins; the socket the
kernel lists is the evidence, not the log line. Every log line of the service and of the job
commands is one JSON object with Cloud Logging's fields: the severity of a run's outcome, its
failure message, and the trace of the request that started it. `run-many --file` spreads a file
over the tasks of a Cloud Run job or a Kubernetes indexed Job: every job runs on exactly one task.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from scrapers.cli import main
from scrapers.cli.serve import EVERY_INTERFACE, LOOPBACK, listen_host
from scrapers.core.settings import Settings
from tests.conftest import PROJECT_FIXTURES
from tests.harness import Behaviour, Upstream
from tests.harness._server import LoopbackServer
from tests.harness.ports import free_port
from tests.service.test_lifecycle import ServiceProcess, serving

REPLAYED_AT = "2024-01-16T03:00:00Z"
PROJECT = "nba-test"
CLOUD_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLOUD_SPAN = 1234  # X-Cloud-Trace-Context gives the span id in decimal
W3C_TRACE = "0af7651916cd43dd8448eb211c80319c"
W3C_SPAN = "b7ad6b7169203331"
TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
# /proc/net/tcp spells IPv4 addresses as little-endian hex.
KERNEL_ADDRESS = {EVERY_INTERFACE: "00000000", LOOPBACK: "0100007F"}
LISTEN = "0A"


def _environment(**extra: str) -> dict[str, str]:
    """The test's environment without any platform or Courtside variable of the machine's own."""
    platform = {"K_SERVICE", "PORT", "KUBERNETES_SERVICE_HOST", "CLOUD_RUN_JOB", "JOB_COMPLETION_INDEX"}
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COURTSIDE_", "CLOUD_RUN_")) and k not in platform
    }
    environ.update(COURTSIDE_STATE="memory", **extra)
    return environ


def _listening_on(port: int) -> list[str]:
    """The local addresses the kernel lists as listening on `port` (IPv4)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hex_port = fields[1].split(":")
        if int(hex_port, 16) == port and fields[3] == LISTEN:
            found.append(address)
    return found


@asynccontextmanager
async def _serve(out: Path, env: Mapping[str, str], *args: str) -> AsyncIterator[ServiceProcess]:
    argv = ["--replay", str(PROJECT_FIXTURES), "--at", REPLAYED_AT, "--out", str(out), *args]
    async with serving(argv, env, cwd=out) as service:
        yield service


def _listening_line(entry: dict[str, Any]) -> bool:
    return str(entry["message"]).startswith("listening on")


# --- the address ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (None, {}, LOOPBACK),
        (None, {"K_SERVICE": "courtside"}, EVERY_INTERFACE),
        (None, {"PORT": "8080"}, EVERY_INTERFACE),  # set, even to the default
        (None, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, EVERY_INTERFACE),
        (None, {"CLOUD_RUN_JOB": "nightly"}, EVERY_INTERFACE),
        (None, {"PORT": ""}, LOOPBACK),  # an empty variable is unset
        # What is asked for wins over the platform: the setting, and the flag over both.
        (None, {"K_SERVICE": "courtside", "COURTSIDE_SERVICE_HOST": LOOPBACK}, LOOPBACK),
        (LOOPBACK, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, LOOPBACK),
        ("::1", {"COURTSIDE_SERVICE_HOST": EVERY_INTERFACE}, "::1"),
    ],
)
def test_the_address_is_the_flag_the_setting_or_the_platform_s(
    flag: str | None, environ: dict[str, str], expected: str
) -> None:
    assert listen_host(flag, Settings.from_env(environ)) == expected


def test_on_cloud_run_serve_listens_on_every_interface_with_json_lines_that_carry_the_trace(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _environment(K_SERVICE="courtside", PORT=str(port), GOOGLE_CLOUD_PROJECT=PROJECT)

    async def scenario() -> tuple[ServiceProcess, list[str], str, str]:
        async with _serve(tmp_path, env) as service:
            listening = await service.line(_listening_line)
            addresses = _listening_on(port)
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
                ok = await http.post(
                    "/scrape",
                    json={"scraper": "nbac_scoreboard_v2", "gamedate": "2024-01-15"},
                    headers={"X-Cloud-Trace-Context": f"{CLOUD_TRACE}/{CLOUD_SPAN};o=1"},
                )
                assert ok.status == 200
                missing = await http.post(
                    "/scrape",
                    json={"scraper": "nbac_scoreboard_v2", "gamedate": "2023-07-04"},  # never recorded
                    headers={"traceparent": f"00-{W3C_TRACE}-{W3C_SPAN}-01"},
                )
                assert missing.status == 400
                ids = ok.headers["X-Run-Id"], missing.headers["X-Run-Id"]
            service.process.send_signal(signal.SIGTERM)
            assert await service.wait() == 0
            assert listening["url"] == f"http://{EVERY_INTERFACE}:{port}"
            return service, addresses, *ids

    service, addresses, ok_id, missing_id = asyncio.run(scenario())
    assert addresses == [KERNEL_ADDRESS[EVERY_INTERFACE]]
    lines = service.lines
    # A line no request caused carries no trace.
    assert TRACE_FIELD not in next(entry for entry in lines if _listening_line(entry))

    of_ok = [entry for entry in lines if entry.get("run_id") == ok_id]
    assert {"run started", "run finished: success, 4 records", "POST /scrape 200"} <= {
        entry["message"] for entry in of_ok
    }
    for entry in of_ok:  # the access line and the run's own lines alike
        assert entry[TRACE_FIELD] == f"projects/{PROJECT}/traces/{CLOUD_TRACE}", entry
        assert entry[SPAN_FIELD] == f"{CLOUD_SPAN:016x}"
        assert entry["logging.googleapis.com/trace_sampled"] is True
    finished = next(entry for entry in of_ok if entry["message"].startswith("run finished"))
    assert (finished["severity"], finished["status"], finished["record_count"]) == ("INFO", "success", 4)

    of_missing = [entry for entry in lines if entry.get("run_id") == missing_id]
    failed = next(entry for entry in of_missing if entry["message"].startswith("run could not be completed"))
    # The caller's input, not a fault of the service: WARNING, with the reason.
    assert (failed["severity"], failed["error_type"]) == ("WARNING", "replay_miss")
    assert "no recording for GET" in failed["error_message"]
    access = next(entry for entry in of_missing if "httpRequest" in entry)
    assert (access["severity"], access["httpRequest"]["status"]) == ("WARNING", 400)
    for entry in of_missing:
        assert entry[TRACE_FIELD] == f"projects/{PROJECT}/traces/{W3C_TRACE}", entry
        assert entry[SPAN_FIELD] == W3C_SPAN


def test_on_a_developer_s_machine_serve_listens_on_loopback_only(tmp_path: Path) -> None:
    port = free_port()

    async def scenario() -> list[str]:
        async with _serve(tmp_path, _environment(), "--port", str(port)) as service:
            await service.line(_listening_line)
            addresses = _listening_on(port)
            service.process.send_signal(signal.SIGTERM)
            assert await service.wait() == 0
            return addresses

    assert asyncio.run(scenario()) == [KERNEL_ADDRESS[LOOPBACK]]


# --- the job commands' log lines ------------------------------------------------------------------

SCOREBOARD = json.loads((PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes())


class ScoreboardByDate(Behaviour):
    """01/15 answers the recording, 01/16 a day without games, 01/17 a broken body, others 404."""

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        day = request.query.get("GameDate")
        if day == "01/15/2024":
            return web.json_response(SCOREBOARD)
        if day == "01/16/2024":
            empty = {**SCOREBOARD, "parameters": {**SCOREBOARD["parameters"], "GameDate": "2024-01-16"}}
            empty["resultSets"] = [{**table, "rowSet": []} for table in SCOREBOARD["resultSets"]]
            return web.json_response(empty)
        if day == "01/17/2024":
            return web.json_response({"unexpected": True})
        return web.Response(status=404)


def test_a_cloud_run_job_task_logs_json_on_stderr_by_outcome_and_keeps_its_table_on_stdout(
    tmp_path: Path,
) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "\n".join(f"- {{scraper: nbac_scoreboard_v2, gamedate: '2024-01-{day}'}}" for day in (15, 16, 17, 18))
    )

    async def scenario() -> tuple[int, str, str]:
        async with Upstream({"/stats/scoreboardV2": ScoreboardByDate()}) as upstream:
            env = _environment(
                CLOUD_RUN_JOB="nightly", COURTSIDE_UPSTREAMS=f"https://stats.nba.com={upstream.url}"
            )
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scrapers",
                "run-many",
                "--file",
                str(jobs),
                "--out",
                str(tmp_path / "out"),
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await process.communicate()
            assert process.returncode is not None
            return process.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(scenario())
    assert code == 16, err  # the worst failure's exit code (structural), as in text mode
    table = out.splitlines()
    assert table[0].split() == ["scraper", "status", "records", "landed", "/", "reason"]
    assert len(table) == 2 + 4
    entries = [json.loads(line) for line in err.splitlines()]  # every stderr line is one JSON object
    finished = {
        entry["run_id"]: entry for entry in entries if str(entry["message"]).startswith("run finished")
    }
    by_day = {
        started["options"]["game_date"]: finished[started["run_id"]]
        for started in entries
        if started["message"] == "run started"
    }
    assert {day: entry["severity"] for day, entry in by_day.items()} == {
        "2024-01-15": "INFO",
        "2024-01-16": "NOTICE",
        "2024-01-17": "ERROR",  # structural: the parser needs someone
        "2024-01-18": "WARNING",  # not_found: the upstream may have it later
    }
    assert by_day["2024-01-16"]["status"] == "no_data"
    assert by_day["2024-01-17"]["failure_class"] == "structural"
    assert "resultSets" in by_day["2024-01-17"]["error_message"]
    assert by_day["2024-01-18"]["error_message"].startswith("HTTP 404")


def _set_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """The command reads os.environ: exactly the test's platform variables, none of the machine's."""
    wanted = _environment(**variables)
    for name in list(os.environ):
        if name not in wanted:
            monkeypatch.delenv(name)
    for name, value in wanted.items():
        monkeypatch.setenv(name, value)


def test_text_logs_when_asked_even_on_the_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_environment(monkeypatch, CLOUD_RUN_JOB="nightly", COURTSIDE_LOG_FORMAT="text")
    argv = ["run", "nbac_scoreboard_v2", "--game_date", "2024-01-15", "--replay", "--out", str(tmp_path)]

    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "success" in captured.out
    # Text is for a person, whose table says how the run ended: no run lines, nothing in JSON.
    assert captured.err == ""


# --- one file over many tasks ---------------------------------------------------------------------

SHARDED_JOBS = [
    {"scraper": "nbac_scoreboard_v2", "game_date": "2024-01-15"},
    {"scraper": "bdl_games", "start_date": "2024-01-15", "end_date": "2024-01-15"},
    {"scraper": "espn_scoreboard", "game_date": "2024-01-15"},
    {"scraper": "bp_events", "game_date": "2024-01-15"},
    {"scraper": "oddsa_events", "game_date": "2024-01-15"},
]


def _sharded(
    tmp_path: Path,
    task: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **variables: str,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The scrapers one task ran (from its --json output) and its stderr log lines."""
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps(SHARDED_JOBS))
    _set_environment(monkeypatch, **variables)
    out = str(tmp_path / task)
    code = main(["run-many", "--file", str(jobs), "--replay", "--at", REPLAYED_AT, "--json", "--out", out])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    ran = [run["scraper"] for run in json.loads(captured.out)]
    return ran, [json.loads(line) for line in captured.err.splitlines()]


def test_the_tasks_of_a_cloud_run_job_run_each_job_of_the_file_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []
    for index in (0, 1):
        scrapers, lines = _sharded(
            tmp_path,
            f"task{index}",
            monkeypatch,
            capsys,
            CLOUD_RUN_JOB="nightly",
            CLOUD_RUN_TASK_INDEX=str(index),
            CLOUD_RUN_TASK_COUNT="2",
        )
        positions = [at for at in range(len(SHARDED_JOBS)) if at % 2 == index]
        assert scrapers == [SHARDED_JOBS[at]["scraper"] for at in positions]
        (shard,) = [line for line in lines if "shard" in line]
        assert shard["shard"] == {"index": index, "count": 2, "jobs": [at + 1 for at in positions]}
        assert shard["message"].startswith(
            f"task {index} of 2 (CLOUD_RUN_TASK_INDEX={index}, CLOUD_RUN_TASK_COUNT=2)"
        )
        ran += scrapers
    assert sorted(ran) == sorted(job["scraper"] for job in SHARDED_JOBS)


def test_a_kubernetes_indexed_job_pod_runs_its_share_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scrapers, lines = _sharded(
        tmp_path,
        "pod",
        monkeypatch,
        capsys,
        KUBERNETES_SERVICE_HOST="10.96.0.1",
        JOB_COMPLETION_INDEX="2",
        COURTSIDE_TASK_COUNT="3",
    )

    assert scrapers == ["espn_scoreboard"]  # job #3 of 5 is the only one with position % 3 == 2
    (shard,) = [line for line in lines if "shard" in line]
    assert shard["message"] == (
        "task 2 of 3 (JOB_COMPLETION_INDEX=2, COURTSIDE_TASK_COUNT=3) runs 1 of the file's 5 jobs: #3"
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"JOB_COMPLETION_INDEX": "1"}, "COURTSIDE_TASK_COUNT"),  # Kubernetes does not pass completions
        ({"CLOUD_RUN_TASK_INDEX": "4", "CLOUD_RUN_TASK_COUNT": "4"}, "CLOUD_RUN_TASK_INDEX=4"),
        ({"CLOUD_RUN_TASK_INDEX": "first", "CLOUD_RUN_TASK_COUNT": "4"}, "CLOUD_RUN_TASK_INDEX='first'"),
    ],
)
def test_a_shard_that_cannot_be_is_exit_2_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    named: str,
) -> None:
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps(SHARDED_JOBS))
    _set_environment(monkeypatch, **variables)
    out = tmp_path / "out"

    code = main(["run-many", "--file", str(jobs), "--replay", "--at", REPLAYED_AT, "--out", str(out)])

    err = capsys.readouterr().err
    assert code == 2
    assert named in err
    assert "example:" in err
    assert not out.exists()  # nothing ran
