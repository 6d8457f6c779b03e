"""Local folder sink. Create-only and atomic: a reader never sees a half-written file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path, PurePosixPath

from scrapers.core.errors import AlreadyLandedError


class FileSink:
    def __init__(self, root: Path) -> None:
        self.root = root

    def uri(self, path: str) -> str:
        return str(self._resolve(path))

    async def create(self, path: str, data: bytes, content_type: str) -> str:
        return await asyncio.to_thread(self._create, path, data)

    async def write(self, path: str, data: bytes, content_type: str) -> str:
        return await asyncio.to_thread(self._write, path, data)

    async def read(self, path: str) -> bytes | None:
        target = self._resolve(path)
        return await asyncio.to_thread(lambda: target.read_bytes() if target.exists() else None)

    async def prune(self, folder: str, older_than: float) -> int:
        return await asyncio.to_thread(self._prune, self._resolve(folder), time.time() - older_than)

    @staticmethod
    def _prune(root: Path, cutoff: float) -> int:
        removed = 0
        for path in root.rglob("*") if root.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):  # another sweep removed it first
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def _create(self, path: str, data: bytes) -> str:
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".landing-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # link() fails if the name exists: create-only without a check-then-write race.
            os.link(temp_name, target)
        except FileExistsError:
            raise AlreadyLandedError(str(target)) from None
        finally:
            os.unlink(temp_name)
        return str(target)

    def _write(self, path: str, data: bytes) -> str:
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".writing-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            # rename() replaces atomically: a reader sees the old object or the new one, never half.
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        return str(target)

    def _resolve(self, path: str) -> Path:
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"object path must be relative and stay inside the output: {path}")
        return self.root / relative
