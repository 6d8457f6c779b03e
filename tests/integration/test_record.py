"""`scrapers record` reads what it records the way a live run reads: a body past the source's
`max_body_bytes` (plain, or a gzip bomb) is `structural`, never held whole in memory and never
written as a fixture; a compressed body within the limit is recorded decoded, and replays.

Real `scrapers record` processes against a loopback upstream (COURTSIDE_UPSTREAMS), with a copied
registry (COURTSIDE_REGISTRY) whose small limits keep the tests fast; each child's peak RSS comes
from wait4.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from scrapers.core.outcome import Outcome
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import Behaviour, Upstream, respond
from tests.harness.upstream import gzip_bomb, stream

pytestmark = pytest.mark.integration

LIMIT = 256 * 1024
HUGE = 1_500_000_000
BOMB = 256 * 1024 * 1024
STATS, PATH = "https://stats.nba.com", "/stats/scoreboardV2"
SCOREBOARD = (PROJECT_FIXTURES / "nbac" / "nbac_scoreboard_v2-2024-01-15.body.json").read_bytes()
JSON_TYPE = {"Content-Type": "application/json"}
SMALL = {
    "max_body_bytes": LIMIT,
    "timeouts": {"direct": 10.0},
    "timeout_seconds": 10.0,
    "transient_retries": 0,
    "retry_budget": 0,
}


@dataclass(frozen=True)
class Recorded:
    returncode: int
    result: dict[str, Any]
    printed: str
    stderr: str
    fixtures: Path
    peak_rss_mib: float

    def files(self) -> list[Path]:
        return sorted(path for path in self.fixtures.rglob("*") if path.is_file())


def _environment(tmp_path: Path, upstream_url: str) -> dict[str, str]:
    data = yaml.safe_load((PROJECT_ROOT / "registry.yaml").read_text())
    data["sources"]["nbac"].update(SMALL)
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(data))
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_") and not k.endswith("_API_KEY")
    }
    return {
        **base,
        "COURTSIDE_STATE": "memory",
        "COURTSIDE_REGISTRY": str(registry),
        "COURTSIDE_UPSTREAMS": f"{STATS}={upstream_url}",
    }


def _record(tmp_path: Path, env: dict[str, str]) -> Recorded:
    """`scrapers record nbac_scoreboard_v2 ... --json`, reaped with wait4 for its peak RSS."""
    fixtures = tmp_path / "fixtures"
    args = ["nbac_scoreboard_v2", "--game_date", "2024-01-15", "--into", str(fixtures)]
    args += ["--out", str(tmp_path / "out"), "--json"]
    with (tmp_path / "stdout").open("w+") as stdout, (tmp_path / "stderr").open("w+") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "scrapers", "record", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        watchdog = threading.Timer(120, child.kill)  # a hung child fails the test, never the suite
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        stdout.seek(0)
        stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    # The typed result, then one "recorded PATH" line per fixture written.
    result = json.JSONDecoder().raw_decode(printed)[0] if printed.strip() else {}
    code = os.waitstatus_to_exitcode(status)
    return Recorded(code, result, printed, errors, fixtures, usage.ru_maxrss / 1024)  # KiB -> MiB


def _against(tmp_path: Path, behaviour: Behaviour) -> Recorded:
    async def scenario() -> Recorded:
        async with Upstream({PATH: behaviour}) as upstream:
            recorded = await asyncio.to_thread(_record, tmp_path, _environment(tmp_path, upstream.url))
            assert upstream.count(PATH) == 1, "one attempt: the failure is not retried"
            return recorded

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    "behaviour", [stream(HUGE), gzip_bomb(BOMB)], ids=["1.5-GB-body", "gzip-bomb-256-MiB"]
)
def test_a_body_past_the_source_limit_is_structural_and_never_recorded(
    tmp_path: Path, behaviour: Behaviour, record_property: Any
) -> None:
    recorded = _against(tmp_path, behaviour)
    record_property("peak_rss_mib", round(recorded.peak_rss_mib))

    assert recorded.returncode == Outcome.STRUCTURAL.exit_code, recorded.stderr
    assert recorded.result["failure_class"] == "structural"
    assert f"body larger than {LIMIT} bytes" in recorded.result["error_message"]
    assert recorded.files() == [], "a body the fetch refused must not become a fixture"
    assert "recorded " not in recorded.printed
    # Peak RSS is reported (`-s`, junit properties), never asserted: memory targets live in bench/.
    print(f"peak RSS {recorded.peak_rss_mib:.0f} MiB")


def test_a_compressed_body_is_recorded_decoded_and_replays(tmp_path: Path) -> None:
    headers = {**JSON_TYPE, "Content-Encoding": "gzip"}

    async def scenario() -> tuple[Recorded, subprocess.CompletedProcess[str]]:
        async with Upstream({PATH: respond(200, gzip.compress(SCOREBOARD), headers)}) as upstream:
            env = _environment(tmp_path, upstream.url)
            recorded = await asyncio.to_thread(_record, tmp_path, env)
        # The upstream is gone: the replay can only be served from the recording.
        args = ["nbac_scoreboard_v2", "--game_date", "2024-01-15", "--replay", str(recorded.fixtures)]
        replayed = subprocess.run(
            [sys.executable, "-m", "scrapers", "run", *args, "--out", str(tmp_path / "replayed"), "--json"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return recorded, replayed

    recorded, replayed = asyncio.run(scenario())

    assert recorded.returncode == 0, recorded.stderr
    (exchange_file,) = recorded.fixtures.rglob("*.exchange.json")
    (body_file,) = recorded.fixtures.rglob("*.body.json")
    assert f"recorded {exchange_file}" in recorded.printed
    assert body_file.read_bytes() == SCOREBOARD, "the fixture holds the decoded body"
    exchange = json.loads(exchange_file.read_text())
    # Replay serves the body as stored: no coding, and no length of the compressed bytes.
    stored = {name.lower() for name in exchange["response"]["headers"]}
    assert "content-type" in stored
    assert not stored & {"content-encoding", "content-length"}
    assert replayed.returncode == 0, replayed.stderr
    (live,) = recorded.result["landed"]
    (again,) = json.loads(replayed.stdout)["landed"]
    documents = [json.loads(Path(path).read_text()) for path in (live, again)]
    for document in documents:
        document.pop("timestamp")  # when each run landed
    assert documents[0] == documents[1]
    assert documents[0]["gameCount"] > 0
