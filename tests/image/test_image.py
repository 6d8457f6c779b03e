"""The container image is built from the Dockerfile and run: the demo, one replayed job, the service.

Opt-in (`make test-image`, README "Container"): it needs a Docker engine and a base image, and
building takes about a minute, so the default `make test` skips it. COURTSIDE_IMAGE_BASE names the
base image passed as the Dockerfile's BASE_IMAGE build argument; `make test-image` builds a local
Debian one with debootstrap (tests/image/prepare.sh), since Docker Hub cannot be reached here.

Every run is as the image's own user (no `--user`), on a read-only root filesystem with only /data
(a host folder) and /tmp writable, so nothing the code writes can go anywhere else. The one-job runs
have no network at all: replay needs none.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

BASE_VARIABLE = "COURTSIDE_IMAGE_BASE"
IMAGE_USER = "10001"  # the Dockerfile's USER; the landed files must belong to it
DEMO_JOBS = 40  # tests/fixtures/demo.yaml
BUILD_TIMEOUT = 900  # seconds: pip downloads every dependency on a cold build
REVISION = "image-test"  # the COURTSIDE_GIT_COMMIT build argument, shown by scraper_build_info


def _docker() -> str:
    base = os.environ.get(BASE_VARIABLE)
    if not base:
        pytest.skip(f"{BASE_VARIABLE} is unset: the image test is opt-in (make test-image)")
    # Asked for, so a missing engine is a failure, not a quiet skip.
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail(f"{BASE_VARIABLE} is set but there is no docker client (make test-image installs one)")
    if subprocess.run([docker, "info"], capture_output=True, check=False).returncode != 0:
        pytest.fail(
            f"{BASE_VARIABLE} is set but the Docker engine does not answer (make test-image starts it)"
        )
    if subprocess.run([docker, "image", "inspect", base], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"{BASE_VARIABLE}={base}: no such image (make test-image builds it)")
    return docker


@pytest.fixture(scope="module")
def docker() -> str:
    return _docker()


@pytest.fixture(scope="module")
def image(docker: str) -> Iterator[str]:
    """The project's image built on COURTSIDE_IMAGE_BASE; removed afterwards with its layers."""
    tag = f"courtside-image-test:{uuid.uuid4().hex[:12]}"
    build = subprocess.run(
        [
            docker,
            "build",
            "--force-rm",  # a failed step leaves no stopped container behind
            "--build-arg",
            f"BASE_IMAGE={os.environ[BASE_VARIABLE]}",
            "--build-arg",
            f"COURTSIDE_GIT_COMMIT={REVISION}",
            "--tag",
            tag,
            str(PROJECT_ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    try:
        yield tag
    finally:
        subprocess.run([docker, "rmi", "--force", tag], capture_output=True, check=False)


def _data_folder(tmp_path: Path) -> Path:
    """A host folder the image's non-root user can write to, mounted as /data."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    return data


def _run(docker: str, image: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            docker,
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--volume",
            f"{data}:/data",
            image,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _completions(data: Path) -> list[dict[str, object]]:
    lines = (data / "_events" / "completions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _owners(data: Path) -> set[int]:
    return {path.stat().st_uid for path in data.rglob("*")}


def test_the_image_runs_the_cli_as_its_non_root_user(docker: str, image: str) -> None:
    inspected = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .Config}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    config = json.loads(inspected.stdout)
    assert config["User"] == IMAGE_USER
    assert config["Entrypoint"] == ["scrapers"]


def test_the_demo_runs_in_the_container(docker: str, image: str, tmp_path: Path) -> None:
    data = _data_folder(tmp_path)
    completed = _run(docker, image, data, "demo")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    completions = _completions(data)
    assert len(completions) == DEMO_JOBS
    assert {completion["status"] for completion in completions} == {"success"}
    # Every landed path is inside /data, and every file there is the image user's.
    for completion in completions:
        metadata = completion["metadata"]
        assert isinstance(metadata, dict)
        for landed in metadata["landed_paths"]:
            assert landed.startswith("/data/")
            assert (data / landed.removeprefix("/data/")).is_file()
    assert _owners(data) == {int(IMAGE_USER)}


def test_one_replayed_job_runs_in_the_container(docker: str, image: str, tmp_path: Path) -> None:
    data = _data_folder(tmp_path)
    completed = _run(
        docker, image, data, "run", "nbac_scoreboard_v2", "--game_date", "2024-01-15", "--replay"
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    [completion] = _completions(data)
    assert completion["processor_name"] == "nbac_scoreboard_v2"
    assert completion["status"] == "success"
    assert completion["game_date"] == "2024-01-15"
    landed = sorted((data / "nba-com" / "scoreboard-v2" / "2024-01-15").glob("*.json"))
    assert len(landed) == 1
    assert json.loads(landed[0].read_text())
    assert _owners(data) == {int(IMAGE_USER)}


def test_the_service_answers_and_stops_on_sigterm(docker: str, image: str, tmp_path: Path) -> None:
    """`docker stop` sends SIGTERM to PID 1, which is `scrapers` itself (no shell in between): the
    service must drain and exit 0, as Cloud Run and Kubernetes expect. The host's network namespace
    is shared so the service listens on the host's loopback only, on a port it picks itself."""
    data = _data_folder(tmp_path)
    name = f"courtside-image-test-{uuid.uuid4().hex[:12]}"
    command = [
        docker,
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--volume",
        f"{data}:/data",
        # As tests/conftest.py does for every process: the Google auth library never probes GCE.
        "--env",
        "NO_GCE_CHECK=true",
        "--env",
        f"GCE_METADATA_HOST={os.environ['GCE_METADATA_HOST']}",
        image,
        *("serve", "--host", "127.0.0.1", "--port", "0", "--replay", "--at", "2024-01-16T03:00:00Z"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
    reader.start()
    try:
        url = _listening_url(lines, deadline=time.monotonic() + 60)
        with urllib.request.urlopen(f"{url}/health", timeout=10) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"{url}/scrapers", timeout=10) as answer:
            assert "nbac_scoreboard_v2" in answer.read().decode()
        # The build argument reached the running process: the image says which commit it is.
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
            exposition = answer.read().decode()
        [build_info] = [line for line in exposition.splitlines() if line.startswith("scraper_build_info{")]
        assert f'revision="{REVISION}"' in build_info
        stopped = subprocess.run([docker, "stop", "--time", "30", name], capture_output=True, check=False)
        assert stopped.returncode == 0, stopped.stderr
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            subprocess.run([docker, "rm", "--force", name], capture_output=True, check=False)
            process.wait(timeout=30)
        reader.join(timeout=10)


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for line in process.stdout or ():
        lines.put(line)


def _listening_url(lines: queue.Queue[str], deadline: float) -> str:
    """The URL of the service's "listening on" log line (a JSON object per line)."""
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and str(record.get("message", "")).startswith("listening on"):
            return str(record["url"])
    raise AssertionError("the service never logged 'listening on':\n" + "".join(seen[-40:]))
