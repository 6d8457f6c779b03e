"""Settings and the `sources:` policies through the console script, as an operator meets them.

Every command reads the environment once when it starts: a bad variable is exit 2 naming it, with an
example, before anything runs. `scrapers check` reports every problem of the environment beside the
registry's, and a misspelled policy key of a registry named by COURTSIDE_REGISTRY.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scrapers.core.errors import EXIT_USAGE
from tests.conftest import PROJECT_ROOT

TIMEOUT = 60  # seconds; none of these runs anything


def scrapers(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m scrapers ARGV` with the test environment minus our own variables, plus `env`."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COURTSIDE_", "CLOUD_RUN_"))
        and not name.endswith("_API_KEY")
        and name != "PORT"
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapers", *argv],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**base, **env},
        check=False,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["demo", "--out", "{out}"],
        ["run", "nbac_schedule_cdn", "--replay", "--out", "{out}"],
        ["run-many", "nbac_schedule_cdn", "--replay", "--out", "{out}"],
        ["serve", "--port", "0", "--replay", "--out", "{out}"],
        ["republish", "--out", "{out}"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_bad_setting_stops_every_command_before_it_runs(argv: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out"

    done = scrapers(*(arg.format(out=out) for arg in argv), COURTSIDE_PUBLISH_TIMEOUT="soon")

    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert (
        "error: COURTSIDE_PUBLISH_TIMEOUT='soon': input should be a valid number, unable to parse string "
        "as a number (example: COURTSIDE_PUBLISH_TIMEOUT=30)"
    ) in done.stderr
    assert not out.exists()  # nothing ran, nothing landed


def test_check_lists_every_bad_setting_and_never_a_secret() -> None:
    done = scrapers(
        "check",
        ODDS_API_KEY="odds-secret-1234",
        COURTSIDE_SERVICE_TOKEN="token-secret-5678",
        PORT="http",
        COURTSIDE_SERVICE_SCRAPER_CONCURRENCY="4,bdl_games=0",
    )

    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("problem: ")]
    assert problems == [
        "problem: PORT='http': input should be a valid integer, unable to parse string as an integer "
        "(example: PORT=8080)",
        "problem: COURTSIDE_SERVICE_SCRAPER_CONCURRENCY='4,bdl_games=0': 'bdl_games=0' is not N or "
        "SCRAPER=N with N > 0 (example: COURTSIDE_SERVICE_SCRAPER_CONCURRENCY=4,bdl_games=1)",
    ]
    assert "odds-secret-1234" not in done.stdout + done.stderr
    assert "token-secret-5678" not in done.stdout + done.stderr


def test_check_rejects_a_misspelled_sources_key_of_the_named_registry(tmp_path: Path) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "registry.yaml").read_text(encoding="utf-8"))
    document["sources"]["bdl"]["retry_budgt"] = document["sources"]["bdl"].pop("retry_budget")
    copy = tmp_path / "registry.yaml"
    copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    done = scrapers("check", COURTSIDE_REGISTRY=str(copy))

    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "problem: source bdl: unknown key 'retry_budgt' (did you mean 'retry_budget'?); known: "
        "backoff_initial, backoff_max, deadline_seconds, description, hosts, max_body_bytes, quota, rate, "
        "retry_budget, rules, start_tier, tiers, timeout_seconds, timeouts, transient_retries"
    ]
    # The same registry stops a run as well: the key would otherwise be ignored without a word.
    run = scrapers(
        "run", "nbac_schedule_cdn", "--replay", "--out", str(tmp_path / "out"), COURTSIDE_REGISTRY=str(copy)
    )
    assert run.returncode == EXIT_USAGE
    assert "source bdl: unknown key 'retry_budgt'" in run.stderr


def test_check_finds_what_a_run_would_trip_over_in_valid_looking_settings(tmp_path: Path) -> None:
    proxies = tmp_path / "proxies.yaml"
    proxies.write_text(
        "tiers:\n  - name: direct\n  - name: datacenter\n    proxies:\n"
        "      - {name: dc1, url: 'http://127.0.0.1:9', credentials_env: DC_CREDENTIALS}\n",
        encoding="utf-8",
    )
    state = tmp_path / "state.sqlite"
    broken = {
        "COURTSIDE_PROXIES_FILE": str(proxies),
        "COURTSIDE_STATE": str(state),  # a path without `sqlite:`
        "COURTSIDE_SERVICE_SCRAPER_CONCURRENCY": "4,bdl_gmaes=1",
    }

    done = scrapers("check", **broken)

    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    problems = [line.removeprefix("problem: ") for line in done.stdout.splitlines()]
    assert len(problems) == 3, problems
    assert problems[0].startswith("COURTSIDE_SERVICE_SCRAPER_CONCURRENCY: unknown scraper(s) bdl_gmaes")
    assert problems[1].startswith(f"COURTSIDE_STATE='{state}' is not a valid state store: unknown scheme")
    assert problems[2].startswith("DC_CREDENTIALS: proxy 'dc1' needs credentials as user:password")

    fixed = {
        **broken,
        "COURTSIDE_STATE": f"sqlite:{state}",
        "COURTSIDE_SERVICE_SCRAPER_CONCURRENCY": "4,bdl_games=1",
        "DC_CREDENTIALS": "user:proxy-secret-91",
    }
    done = scrapers("check", **fixed)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: ")
    assert not state.exists()  # checking opened nothing
