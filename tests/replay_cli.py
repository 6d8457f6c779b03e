"""Run the CLI in replay mode in a fresh interpreter, as a user runs it.

`python -m scrapers run <scraper> <options> --replay --out <tmp> --json`, from the project root.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_ROOT

TIMEOUT = 60  # seconds; a replay reads local fixtures and takes about one


def replay_command(out: Path, scraper: str, *options: str) -> list[str]:
    """The command line of one replay run landing under `out`."""
    return [
        sys.executable,
        "-m",
        "scrapers",
        "run",
        scraper,
        *options,
        "--replay",
        "--out",
        str(out),
        "--json",
    ]


def replay(
    out: Path, scraper: str, *options: str, without_env: Collection[str] = ()
) -> subprocess.CompletedProcess[str]:
    """One replay run, whatever its exit code; the variables in `without_env` are left out of its env."""
    env = {name: value for name, value in os.environ.items() if name not in without_env}
    return subprocess.run(
        replay_command(out, scraper, *options),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        check=False,
        timeout=TIMEOUT,
    )


def replay_json(out: Path, scraper: str, *options: str, without_env: Collection[str] = ()) -> dict[str, Any]:
    """One replay run that must exit 0: its `--json` result."""
    completed = replay(out, scraper, *options, without_env=without_env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def landed_files(result: dict[str, Any]) -> list[Path]:
    """The files a run landed, in the order its result lists them."""
    return [Path(path) for path in result["landed"]]
