"""The built wheel is a whole installation: registry.yaml (and the service's openapi.yaml) ship
inside the package, and the installed package finds its registry without the project around it.

The wheel is built offline (--no-build-isolation, the dev environment's setuptools and wheel) from
a copy of the sources, so no earlier build in the work tree can leak a file into it. In a checkout,
scrapers/registry.yaml is a symbolic link to the project's registry.yaml, the one copy; the wheel
must hold the file itself, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration
SOURCES = ("pyproject.toml", "README.md", "registry.yaml", "workflows.yaml", "scrapers", "proxy")


def _build(tmp_path: Path) -> Path:
    tree = tmp_path / "src"
    tree.mkdir()
    for name in SOURCES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source, tree / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    assert (tree / "scrapers" / "registry.yaml").is_symlink()  # as in the checkout
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", ".", "-w", "dist", "-q"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tree / "dist").glob("courtside-*.whl")
    return wheel


def test_the_wheel_ships_registry_yaml_and_the_installed_package_loads_it(tmp_path: Path) -> None:
    wheel = _build(tmp_path)

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "scrapers/registry.yaml" in names
        assert "scrapers/service/openapi.yaml" in names
        assert archive.read("scrapers/registry.yaml") == (PROJECT_ROOT / "registry.yaml").read_bytes()
        assert archive.read("scrapers/workflows.yaml") == (PROJECT_ROOT / "workflows.yaml").read_bytes()

    # Installed on its own (dependencies come from this environment), away from the project.
    target = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import json, sys, scrapers\n"
        "from scrapers.core.registry import default_registry_path\n"
        "from scrapers.cli import main\n"
        "print(json.dumps([scrapers.__file__, str(default_registry_path())]))\n"
        "sys.exit(main(['list', '--json']))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COURTSIDE_")}
    environ["PYTHONPATH"] = str(target)
    listed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=elsewhere,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    where, rows = listed.stdout.split("\n", 1)
    package, registry = json.loads(where)
    assert Path(package).is_relative_to(target)  # the installed copy, not the checkout
    assert Path(registry) == target / "scrapers" / "registry.yaml"
    assert not Path(registry).is_symlink()
    assert "nbac_scoreboard_v2" in {row["name"] for row in json.loads(rows)}
