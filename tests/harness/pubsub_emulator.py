"""The Pub/Sub emulator that ships with google-cloud-cli, on a free loopback port.

Found at `<sdk>/platform/pubsub-emulator/bin/cloud-pubsub-emulator` (the SDK located through
`gcloud` on PATH or the usual install folders), or at `$COURTSIDE_PUBSUB_EMULATOR`. It needs Java.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.harness.ports import free_port

EMULATOR_ENV = "COURTSIDE_PUBSUB_EMULATOR"
RELATIVE = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
KNOWN_SDKS = (
    Path("/usr/lib/google-cloud-sdk"),
    Path("/usr/share/google-cloud-sdk"),
    Path("/opt/google-cloud-sdk"),
)
STARTUP_SECONDS = 90.0  # the JVM start dominates; a loaded 2-core CI machine needs the margin


def find_emulator() -> tuple[Path | None, str]:
    """The emulator script, or None and the reason it cannot be used."""
    configured = os.environ.get(EMULATOR_ENV)
    candidates = [Path(configured)] if configured else []
    gcloud = shutil.which("gcloud")
    if gcloud:
        candidates.append(Path(gcloud).resolve().parents[1] / RELATIVE)
    candidates.extend(sdk / RELATIVE for sdk in KNOWN_SDKS)
    script = next((c for c in candidates if c.is_file()), None)
    if script is None:
        return None, "the google-cloud-cli Pub/Sub emulator is not installed (cloud-pubsub-emulator)"
    if shutil.which("java") is None:
        return None, "Java is not installed; the Pub/Sub emulator needs it"
    return script, ""


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def running_pubsub_emulator(script: Path, log_dir: Path) -> Iterator[str]:
    """Yields the `host:port` for PUBSUB_EMULATOR_HOST; always stops the JVM."""
    port = free_port()
    log = (log_dir / "pubsub-emulator.log").open("wb")
    process = subprocess.Popen(
        [str(script), "--host=127.0.0.1", f"--port={port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the JVM and its wrapper stop together
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(port):
            if process.poll() is not None:
                raise RuntimeError(f"Pub/Sub emulator exited with {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Pub/Sub emulator did not listen within {STARTUP_SECONDS}s")
            time.sleep(0.1)  # waiting for the JVM to listen, not a test delay
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()
        log.close()
