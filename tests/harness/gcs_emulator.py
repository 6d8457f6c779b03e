"""gcp-storage-emulator in its own process, with the generation preconditions it lacks.

The emulator ignores `ifGenerationMatch`, so create-only uploads would silently overwrite. The
guard below wraps its upload and delete handlers: `ifGenerationMatch=0` on an existing object and
`ifGenerationMatch=N` on an object of another generation answer 412, as GCS does. One lock makes
check-and-write atomic across the emulator's request threads.

    with running_gcs_emulator(tmp_path) as endpoint:   # "http://127.0.0.1:<port>"
        os.environ["STORAGE_EMULATOR_HOST"] = endpoint

Run directly: `python -m tests.harness.gcs_emulator --port 9023`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from tests.harness.ports import free_port

STARTUP_SECONDS = 30.0
Handler = Callable[..., Any]


def _object_name(request: Any) -> str | None:
    if "name" in request.query:
        return str(request.query["name"][0])
    if request.params.get("object_id"):
        return str(request.params["object_id"])
    data = request.data
    if isinstance(data, dict) and isinstance(data.get("meta"), dict):
        name = data["meta"].get("name")
        return str(name) if name else None
    return None


def _guarded(handler: Handler, storage_lock: threading.Lock) -> Handler:
    from gcp_storage_emulator.exceptions import NotFound

    def guarded(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
        wanted = request.query.get("ifGenerationMatch")
        if not wanted:
            return handler(request, response, storage, *args, **kwargs)
        with storage_lock:
            name = _object_name(request)
            try:
                current = storage.get_file_obj(request.params["bucket_name"], name)
                generation = str(current.get("generation"))
            except NotFound:
                generation = "0"
            if generation != wanted[0]:
                response.status = HTTPStatus.PRECONDITION_FAILED
                response.json({"error": {"code": 412, "message": "Precondition Failed"}})
                return None
            return handler(request, response, storage, *args, **kwargs)

    return guarded


def install_guard() -> None:
    from gcp_storage_emulator import server
    from gcp_storage_emulator.handlers import objects

    lock = threading.Lock()
    guards = {objects.insert: _guarded(objects.insert, lock), objects.delete: _guarded(objects.delete, lock)}
    for _regex, handlers in server.HANDLERS:
        for method, handler in list(handlers.items()):
            if handler in guards:
                handlers[method] = guards[handler]
    # The router also calls objects.insert by name for one upload route.
    objects.insert = guards[objects.insert]


def serve(port: int) -> None:
    from gcp_storage_emulator.server import create_server

    install_guard()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    print(f"ready {port}", flush=True)
    stopped.wait()
    server.stop()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gcs emulator exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)  # waiting for a child process to listen, not a test delay
    raise RuntimeError(f"gcs emulator did not listen on {port} within {STARTUP_SECONDS}s")


@contextlib.contextmanager
def running_gcs_emulator(log_dir: Path) -> Iterator[str]:
    port = free_port()
    log = (log_dir / "gcs-emulator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.gcs_emulator", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
