"""COURTSIDE_JOB_DEADLINE bounds a run in every mode, not only in the service: a one-job container
(`scrapers run`) whose upstream is slower than the deadline fails `transient` at the deadline
instead of waiting on it. COURTSIDE_SERVICE_JOB_DEADLINE, the old name, still works.

A real `scrapers run` process against a loopback upstream that answers after SLOW seconds, far past
the 1 s deadline and well within the source's own limits (20 s per attempt, 300 s per job): without
the job deadline the run would wait and succeed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scrapers.core.outcome import Outcome
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Upstream, respond, slow

pytestmark = pytest.mark.integration

ESPN, PATH = "https://site.api.espn.com", "/apis/site/v2/sports/basketball/nba/scoreboard"
BODY = (PROJECT_FIXTURES / "espn" / "espn_scoreboard-2024-01-15.body.json").read_bytes()
SLOW = 10.0
DEADLINE = "1"


@pytest.mark.parametrize("variable", ["COURTSIDE_JOB_DEADLINE", "COURTSIDE_SERVICE_JOB_DEADLINE"])
def test_the_job_deadline_ends_a_cli_run_whose_upstream_is_slower(tmp_path: Path, variable: str) -> None:
    out = tmp_path / "out"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }

    async def scenario() -> tuple[subprocess.CompletedProcess[str], int]:
        answer = slow(SLOW, respond(200, BODY, {"Content-Type": "application/json"}))
        async with Upstream({PATH: answer}) as upstream:
            env = {
                **base,
                "COURTSIDE_STATE": "memory",
                "COURTSIDE_UPSTREAMS": f"{ESPN}={upstream.url}",
                variable: DEADLINE,
            }
            args = ["espn_scoreboard", "--game_date", "2024-01-15", "--out", str(out), "--json"]
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "scrapers", "run", *args],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            return done, upstream.count(PATH)

    done, asked = asyncio.run(scenario())

    assert done.returncode == Outcome.TRANSIENT.exit_code, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["failure_class"] == "transient"
    assert result["landed"] == []
    assert asked == 1, "no retry once the job's time is spent"
    completions = (out / "_events" / "completions.jsonl").read_text().splitlines()
    assert [(c["status"], c["error_type"]) for c in map(json.loads, completions)] == [("failed", "transient")]
