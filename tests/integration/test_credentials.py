"""Missing credentials are the operator's bad input: exit 2, named, before anything is sent.

Real CLI processes. An API key that is not set must not reach the upstream as a request, nor
downstream as a failed `auth` completion; gs:// output without Google credentials must not fetch
and then fail to land. The Google auth library never probes the metadata server here (the
session's NO_GCE_CHECK and closed-port GCE_METADATA_HOST, see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scrapers.cli import EXIT_OK, EXIT_USAGE
from tests.conftest import PROJECT_ROOT
from tests.harness import Upstream, respond_json

pytestmark = pytest.mark.integration

KEYS = ("ODDS_API_KEY", "BDL_API_KEY", "BETTINGPROS_API_KEY")
GOOGLE = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GCP_PROJECT",
    "STORAGE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "CLOUDSDK_CONFIG",
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test session's environment without keys or Google settings; HOME is empty, so there is
    no gcloud Application Default Credentials file either."""
    env = {k: v for k, v in os.environ.items() if k not in KEYS + GOOGLE and not k.startswith("COURTSIDE_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), COURTSIDE_STATE=f"sqlite:///{tmp_path / 'state.sqlite'}", **extra)
    return env


def _scrapers(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("scraper", "options", "key", "base"),
    [
        ("oddsa_events", ["--game_date", "2024-01-15"], "ODDS_API_KEY", "https://api.the-odds-api.com"),
        ("bdl_teams", [], "BDL_API_KEY", "https://api.balldontlie.io"),
        ("bp_events", ["--date", "2024-01-15"], "BETTINGPROS_API_KEY", "https://api.bettingpros.com"),
    ],
)
def test_a_missing_api_key_exits_2_before_any_request_and_sends_no_completion(
    tmp_path: Path, scraper: str, options: list[str], key: str, base: str
) -> None:
    async def scenario() -> tuple[subprocess.CompletedProcess[str], int]:
        async with Upstream({}) as upstream:
            upstream.route("/", respond_json([]))
            env = _env(tmp_path, COURTSIDE_UPSTREAMS=f"{base}={upstream.url}")
            done = await asyncio.to_thread(
                _scrapers, tmp_path, env, "run", scraper, *options, "--out", str(tmp_path / "out")
            )
            return done, upstream.count()

    done, requests = asyncio.run(scenario())
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert key in done.stderr
    assert "example: export" in done.stderr
    assert "internal error" not in done.stderr
    assert requests == 0
    assert not (tmp_path / "out" / "_events").exists(), "no completion may go downstream"


def test_run_many_refuses_every_job_up_front_when_a_key_is_missing(tmp_path: Path) -> None:
    done = _scrapers(tmp_path, _env(tmp_path), "run-many", "bdl_teams", "--out", str(tmp_path / "out"))
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "BDL_API_KEY" in done.stderr
    assert not (tmp_path / "out" / "_events").exists()


def test_replay_needs_no_key(tmp_path: Path) -> None:
    done = _scrapers(
        tmp_path, _env(tmp_path), "run", "oddsa_events", "--game_date", "2024-01-15", "--replay",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == EXIT_OK, done.stdout + done.stderr


def test_gs_output_without_credentials_exits_2_naming_what_is_missing(tmp_path: Path) -> None:
    env = _env(tmp_path, GOOGLE_CLOUD_PROJECT="courtside-test")
    done = _scrapers(
        tmp_path, env, "run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--replay",
        "--out", "gs://nba-scraped-data",
    )  # fmt: skip
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    for named in ("Application Default Credentials", "STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
        assert named in done.stderr
    assert "internal error" not in done.stderr


def test_gs_output_without_a_project_names_both_variables(tmp_path: Path) -> None:
    env = _env(tmp_path, STORAGE_EMULATOR_HOST="http://127.0.0.1:1", PUBSUB_EMULATOR_HOST="127.0.0.1:1")
    done = _scrapers(
        tmp_path, env, "run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--replay",
        "--out", "gs://nba-scraped-data",
    )  # fmt: skip
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "GOOGLE_CLOUD_PROJECT or GCP_PROJECT" in done.stderr


@pytest.mark.parametrize("variable", ["GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"])
def test_either_project_variable_names_the_topic(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from scrapers.core.settings import Settings
    from scrapers.pipeline.outputs import open_output

    for name in GOOGLE:
        monkeypatch.delenv(name, raising=False)
    # Emulator addresses only: building the clients opens no connection.
    env = {variable: "courtside-test", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:1"}
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1")
    env["PUBSUB_EMULATOR_HOST"] = "127.0.0.1:1"
    output = open_output("gs://nba-scraped-data", Settings.from_env(env))
    try:
        assert "projects/courtside-test/topics/" in output.events_note
    finally:
        output.close()
