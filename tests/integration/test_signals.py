"""SIGTERM (Cloud Run at a task's timeout) and SIGINT stop `scrapers run` and `run-many` gracefully:
runs in flight get the grace period, then each admitted run ends with exactly one `failed` /
`transient` completion saying it was interrupted, a run summary, and a metrics push (a one-job
container's after the run, run-many's once every run has ended); the command prints its results and
exits 15.

Real `scrapers` processes against a loopback Upstream that never answers (COURTSIDE_UPSTREAMS). The
signal is sent once the upstream has received the request: the run is then really in flight.
The time from the signal to the exit is printed (`-s`), never asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from scrapers.core.outcome import Outcome
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.delivery.test_gcs_pubsub import socket_that_never_answers
from tests.harness import Behaviour, Upstream, hang, respond, sequence
from tests.harness._server import LoopbackServer

pytestmark = pytest.mark.integration

STATS = "https://stats.nba.com"
SCOREBOARD = "nbac_scoreboard_v2"
SCOREBOARD_PATH = "/stats/scoreboardV2"
SCOREBOARD_BODY = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
JSON_TYPE = {"Content-Type": "application/json"}
TRANSIENT_EXIT = Outcome.TRANSIENT.exit_code
# Bounds a wait that takes a second or two when the code works; only a hung process reaches it.
STUCK_SECONDS = 60.0
POLL_SECONDS = 0.02
# The default grace where the exit time is the point; a short one where only the outcome is.
SHORT_GRACE = {"COURTSIDE_SHUTDOWN_GRACE_SECONDS": "1"}


@dataclass(frozen=True)
class Stopped:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # from the first signal to the exit
    completions: list[dict[str, Any]]
    summaries: list[dict[str, Any]]


def _env(upstream: Upstream, extra: dict[str, str]) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    return {
        **base,
        "COURTSIDE_STATE": "memory",
        "COURTSIDE_UPSTREAMS": f"{STATS}={upstream.url}",
        **extra,
    }


async def _until(condition: Callable[[], bool], proc: asyncio.subprocess.Process, what: str) -> None:
    """Poll an observable condition; fail at once if the process ended first."""
    deadline = time.monotonic() + STUCK_SECONDS
    while not condition():
        if proc.returncode is not None:
            assert proc.stderr is not None
            said = (await proc.stderr.read()).decode(errors="replace")
            raise AssertionError(f"the process exited {proc.returncode} before {what}: {said}")
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {what}")
        await asyncio.sleep(POLL_SECONDS)


async def _stop_when(
    upstream: Upstream,
    out: Path,
    argv: list[str],
    *,
    requests: int,
    signals: tuple[signal.Signals, ...],
    env: dict[str, str] | None = None,
    on_handled: Callable[[], None] | None = None,
) -> Stopped:
    """Start `scrapers ARGV`, wait for `requests` to reach the upstream, send `signals` (each once the
    process said it handled the one before; then `on_handled`), and collect what it left behind."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        *argv,
        "--out",
        str(out),
        cwd=PROJECT_ROOT,
        env=_env(upstream, env or {}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _until(lambda: upstream.count(SCOREBOARD_PATH) >= requests, proc, f"{requests} request(s)")
        assert proc.stderr is not None
        started = time.monotonic()
        said: list[bytes] = []
        for number in signals:
            proc.send_signal(number)
            while not said or number.name.encode() not in said[-1]:
                said.append(await asyncio.wait_for(proc.stderr.readline(), STUCK_SECONDS))
                assert said[-1], f"stderr closed before {number.name} was handled: {b''.join(said)!r}"
            if on_handled is not None:
                on_handled()
        stdout, stderr = await asyncio.wait_for(proc.communicate(), STUCK_SECONDS)
        seconds = time.monotonic() - started
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    events = out / "_events" / "completions.jsonl"
    completions = [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    summaries = [json.loads(path.read_text()) for path in sorted((out / "_runs").glob("*/*.json"))]
    sent = "+".join(number.name for number in signals)
    print(f"\n{argv[0]} {sent}: exit {proc.returncode} {seconds:.2f}s after the signal")
    return Stopped(
        proc.returncode,
        stdout.decode(),
        b"".join(said).decode() + stderr.decode(),
        seconds,
        completions,
        summaries,
    )


def _one_interrupted_run(stopped: Stopped, signal_name: str) -> dict[str, Any]:
    assert stopped.returncode == TRANSIENT_EXIT, stopped.stderr
    (completion,) = stopped.completions
    assert (completion["status"], completion["error_type"]) == ("failed", "transient")
    assert f"interrupted by {signal_name} while running" in completion["error_message"]
    result = json.loads(stopped.stdout)
    assert result["run_id"] == completion["execution_id"]
    assert result["failure_class"] == "transient"
    (summary,) = stopped.summaries
    assert (summary["run_id"], summary["status"]) == (completion["execution_id"], "failed")
    return completion


def _run_scoreboard(tmp_path: Path, behaviour: Behaviour, **kwargs: Any) -> Stopped:
    async def scenario() -> Stopped:
        async with Upstream({SCOREBOARD_PATH: behaviour}) as upstream:
            argv = ["run", SCOREBOARD, "--game_date", "2024-01-15", "--json"]
            return await _stop_when(upstream, tmp_path / "out", argv, requests=1, **kwargs)

    return asyncio.run(scenario())


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_signal_cuts_a_hung_run_off_with_one_transient_completion_and_its_summary(
    tmp_path: Path, number: signal.Signals
) -> None:
    grace = SHORT_GRACE if number is signal.SIGINT else {}
    stopped = _run_scoreboard(tmp_path, hang(), signals=(number,), env=grace)
    _one_interrupted_run(stopped, number.name)
    assert f"{number.name}: no new runs" in stopped.stderr


def test_a_second_signal_cuts_off_at_once_instead_of_waiting_for_the_grace(tmp_path: Path) -> None:
    # A grace far longer than the wait for the exit: only the second signal can end it in time.
    grace = {"COURTSIDE_SHUTDOWN_GRACE_SECONDS": str(STUCK_SECONDS * 10)}
    stopped = _run_scoreboard(tmp_path, hang(), signals=(signal.SIGTERM, signal.SIGTERM), env=grace)
    _one_interrupted_run(stopped, "SIGTERM")
    assert "SIGTERM again: cutting the runs off now" in stopped.stderr


def test_a_run_that_ends_within_the_grace_keeps_its_own_completion(tmp_path: Path) -> None:
    answer = asyncio.Event()  # the upstream answers once the process has handled the signal

    class AfterSignal(Behaviour):
        async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
            await answer.wait()
            return await respond(200, SCOREBOARD_BODY, JSON_TYPE).handle(request, server)

    stopped = _run_scoreboard(
        tmp_path,
        AfterSignal(),
        signals=(signal.SIGTERM,),
        env={"COURTSIDE_SHUTDOWN_GRACE_SECONDS": str(STUCK_SECONDS * 10)},
        on_handled=answer.set,
    )
    assert stopped.returncode == 0, stopped.stderr
    (completion,) = stopped.completions
    assert completion["status"] == "success"
    assert [s["status"] for s in stopped.summaries] == ["success"]


def test_run_many_ends_every_admitted_job_once_running_queued_or_done(tmp_path: Path) -> None:
    dates = ["2024-01-15", "2024-01-16", "2024-01-17", "2024-01-18"]
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"scraper": SCOREBOARD, "options": {"game_date": d}} for d in dates]))
    # One run at a time: the first lands, the second hangs in flight, the other two wait queued.
    behaviour = sequence([respond(200, SCOREBOARD_BODY, JSON_TYPE), hang()])

    async def scenario() -> Stopped:
        async with Upstream({SCOREBOARD_PATH: behaviour}) as upstream:
            argv = ["run-many", "--file", str(jobs), "--concurrency", "1", "--json"]
            return await _stop_when(
                upstream, tmp_path / "out", argv, requests=2, signals=(signal.SIGTERM,), env=SHORT_GRACE
            )

    stopped = asyncio.run(scenario())
    assert stopped.returncode == TRANSIENT_EXIT, stopped.stderr
    views = json.loads(stopped.stdout)
    assert len(views) == len(dates)
    run_ids = [view["run_id"] for view in views]
    by_run: dict[str, list[dict[str, Any]]] = {}
    for completion in stopped.completions:
        by_run.setdefault(completion["execution_id"], []).append(completion)
    assert sorted(by_run) == sorted(run_ids), "every admitted job has a completion, and only they"
    assert all(len(found) == 1 for found in by_run.values()), "no job completed twice"
    outcomes = [(by_run[r][0]["status"], by_run[r][0].get("error_message")) for r in run_ids]
    assert outcomes[0] == ("success", None)
    assert outcomes[1][0] == "failed"
    assert "interrupted by SIGTERM while running" in (outcomes[1][1] or "")
    for status, message in outcomes[2:]:
        assert status == "failed"
        assert "interrupted by SIGTERM before it started" in (message or "")
    assert sorted(s["run_id"] for s in stopped.summaries) == sorted(run_ids)


def test_the_cut_off_run_pushes_its_metrics(tmp_path: Path, pushgateway: str) -> None:
    stopped = _run_scoreboard(
        tmp_path, hang(), signals=(signal.SIGTERM,), env={**SHORT_GRACE, "COURTSIDE_PUSHGATEWAY": pushgateway}
    )
    _one_interrupted_run(stopped, "SIGTERM")
    response = httpx.get(f"{pushgateway}/metrics", timeout=10.0)
    response.raise_for_status()
    runs = {
        (sample.labels.get("scraper"), sample.labels.get("status")): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "scraper_runs_total"
    }
    assert runs.get((SCOREBOARD, "failed")) == 1.0, (runs, stopped.stderr, response.text[-3000:])


def test_run_many_cut_off_by_sigterm_pushes_every_run_s_counters(tmp_path: Path, pushgateway: str) -> None:
    """A run-many task pushes once its runs have ended, after a signal too: the run that landed and
    the two cut off (one running, one queued) are all in the scraper's group on the gateway."""
    dates = ["2024-01-15", "2024-01-16", "2024-01-17"]
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"scraper": SCOREBOARD, "options": {"game_date": d}} for d in dates]))
    behaviour = sequence([respond(200, SCOREBOARD_BODY, JSON_TYPE), hang()])

    async def scenario() -> Stopped:
        async with Upstream({SCOREBOARD_PATH: behaviour}) as upstream:
            argv = ["run-many", "--file", str(jobs), "--concurrency", "1"]
            return await _stop_when(
                upstream,
                tmp_path / "out",
                argv,
                requests=2,
                signals=(signal.SIGTERM,),
                env={**SHORT_GRACE, "COURTSIDE_PUSHGATEWAY": pushgateway},
            )

    stopped = asyncio.run(scenario())
    assert stopped.returncode == TRANSIENT_EXIT, stopped.stderr
    assert "metrics not pushed" not in stopped.stderr, stopped.stderr
    response = httpx.get(f"{pushgateway}/metrics", timeout=10.0)
    response.raise_for_status()
    samples = [
        sample for family in text_string_to_metric_families(response.text) for sample in family.samples
    ]
    runs = {
        (sample.labels["scraper"], sample.labels["status"]): sample.value
        for sample in samples
        if sample.name == "scraper_runs_total" and sample.value
    }
    assert runs == {(SCOREBOARD, "success"): 1.0, (SCOREBOARD, "failed"): 2.0}, stopped.stderr
    failed = {
        sample.labels["failure_class"]: sample.value
        for sample in samples
        if sample.name == "scraper_failed_runs_total" and sample.value
    }
    assert failed == {"transient": 2.0}
    # The task's own group is there too, with the attempt that was answered.
    answered = [
        sample
        for sample in samples
        if sample.name == "scraper_attempts_total" and sample.labels.get("outcome") == "ok" and sample.value
    ]
    assert [(s.labels["instance"], s.value) for s in answered] == [("run-many", 1.0)]


def test_a_cut_off_run_whose_gateway_never_answers_still_exits_with_its_completion(tmp_path: Path) -> None:
    """After SIGTERM the push gets what is left of Cloud Run's 10 s (`push_budget`), not its own
    timeouts: the run's completion is out, the push gives up with a warning, the command exits."""
    with socket_that_never_answers() as gateway:
        stopped = _run_scoreboard(
            tmp_path,
            hang(),
            signals=(signal.SIGTERM,),
            env={**SHORT_GRACE, "COURTSIDE_PUSHGATEWAY": f"http://{gateway}"},
        )
    _one_interrupted_run(stopped, "SIGTERM")
    assert "metrics not pushed" in stopped.stderr, stopped.stderr
