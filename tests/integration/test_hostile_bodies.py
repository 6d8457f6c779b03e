"""Bodies and redirects a hostile or broken upstream sends: each a classified failure with its
completion, never a crash, never invalid JSON landed, never a key handed to another host.

Real `scrapers run` processes against loopback upstreams (COURTSIDE_UPSTREAMS).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scrapers.core.outcome import Outcome
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Behaviour, Upstream, respond

pytestmark = pytest.mark.integration

STATS = "https://stats.nba.com"
SCOREBOARD_PATH = "/stats/scoreboardV2"
SCOREBOARD = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
JSON_TYPE = {"Content-Type": "application/json"}
BETTINGPROS = "https://api.bettingpros.com"
BP_KEY = "bp-key-canary-3f9a7c21d5"


def _run(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "scrapers", "run", *args, "--out", str(out), "--json"],
        cwd=PROJECT_ROOT,
        env={**base, "COURTSIDE_STATE": "memory", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = out / "_events" / "completions.jsonl"
    completions = [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    return done, completions


def _scoreboard_run(tmp_path: Path, behaviour: Behaviour) -> tuple[subprocess.CompletedProcess[str], Any]:
    async def scenario() -> tuple[subprocess.CompletedProcess[str], Any]:
        async with Upstream({SCOREBOARD_PATH: behaviour}) as upstream:
            env = {"COURTSIDE_UPSTREAMS": f"{STATS}={upstream.url}"}
            return await asyncio.to_thread(
                _run, tmp_path, env, "nbac_scoreboard_v2", "--game_date", "2024-01-15"
            )

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (respond(302, b"", {"Location": SCOREBOARD_PATH}), "redirect loop"),
        (respond(200, b"[" * 200_000 + b"]" * 200_000, JSON_TYPE), "nested too deeply"),
        (respond(200, b'{"resource": "scoreboardV2", "resultSets": NaN}', JSON_TYPE), "number NaN"),
        (respond(200, b'{"resultSets": [], "weight": Infinity}', JSON_TYPE), "number Infinity"),
    ],
    ids=["redirect-loop", "deep-json", "nan", "infinity"],
)
def test_a_broken_body_is_a_structural_failure_with_one_completion_and_nothing_landed(
    tmp_path: Path, behaviour: Behaviour, reason: str
) -> None:
    done, completions = _scoreboard_run(tmp_path, behaviour)
    assert done.returncode == Outcome.STRUCTURAL.exit_code, done.stderr
    result = json.loads(done.stdout)
    assert result["failure_class"] == "structural"
    assert reason in result["error_message"]
    assert result["landed"] == []
    assert [(c["status"], c["error_type"]) for c in completions] == [("failed", "structural")]


def test_valid_json_behind_a_byte_order_mark_lands(tmp_path: Path) -> None:
    done, completions = _scoreboard_run(tmp_path, respond(200, b"\xef\xbb\xbf" + SCOREBOARD, JSON_TYPE))
    assert done.returncode == 0, done.stderr
    assert [c["status"] for c in completions] == ["success"]
    (landed,) = json.loads(done.stdout)["landed"]
    assert json.loads(Path(landed).read_text())["gameCount"] > 0


def test_a_keyed_request_never_follows_a_redirect_to_another_host(tmp_path: Path) -> None:
    async def scenario() -> tuple[subprocess.CompletedProcess[str], Any, int, int]:
        async with Upstream() as elsewhere, Upstream() as bettingpros:
            bettingpros.route("/v3/events", respond(302, b"", {"Location": elsewhere.url_for("/collect")}))
            elsewhere.route("/collect", respond(200, b'{"events": []}', JSON_TYPE))
            env = {"COURTSIDE_UPSTREAMS": f"{BETTINGPROS}={bettingpros.url}", "BETTINGPROS_API_KEY": BP_KEY}
            done, completions = await asyncio.to_thread(
                _run, tmp_path, env, "bp_events", "--game_date", "2024-01-15"
            )
            return done, completions, bettingpros.count("/v3/events"), elsewhere.count()

    done, completions, asked, leaked = asyncio.run(scenario())
    assert asked >= 1, "the key went to BettingPros itself"
    assert leaked == 0, "nothing may reach the redirect's target"
    assert done.returncode == Outcome.STRUCTURAL.exit_code, done.stderr
    assert "unexpected HTTP 302" in json.loads(done.stdout)["error_message"]
    assert [c["status"] for c in completions] == ["failed"]
    assert BP_KEY not in done.stdout + done.stderr
