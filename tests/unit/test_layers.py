"""The layers contract (pyproject.toml, `lint-imports` in make test) holds, and it really bites.

The second test copies the packages into a scratch folder, adds one import that points up (the
kernel importing the pipeline), and runs the same contract there: it must be reported broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_committed_tree_keeps_the_layers() -> None:
    done = _lint(PROJECT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_an_import_that_points_up_breaks_the_contract(tmp_path: Path) -> None:
    for package in ("scrapers", "proxy"):
        shutil.copytree(
            PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    clock = tmp_path / "scrapers" / "core" / "clock.py"
    clock.write_text(clock.read_text() + "\nfrom scrapers.pipeline import runner  # noqa: E402\n")

    done = _lint(tmp_path)
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout
    assert "scrapers.core.clock -> scrapers.pipeline.runner" in done.stdout
