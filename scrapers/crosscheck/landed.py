"""Reading what landed, from a local output folder or a `gs://bucket/prefix`, under the path contract.

`<dataset>/<YYYY-MM-DD>/[<entity>/]<YYYYMMDD_HHMMSS>.json`: the newest document per entity folder
(one per game for per-game scrapers, one per date otherwise) is the one that counts; the landing
timestamps sort as text. Nothing here writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from scrapers.sinks.gcs import SCHEME, GcsBucket, GcsLocation

DATE_PLACEHOLDER = "{date}"


class LandedReader(Protocol):
    where: str

    async def names(self, prefix: str) -> list[str]:
        """Object paths (relative to the output root) of the JSON documents under `prefix`."""
        ...

    async def read(self, path: str) -> bytes | None: ...


class FolderReader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    async def names(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._names, prefix)

    def _names(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(
            path.relative_to(self.root).as_posix()
            for path in base.rglob("*.json")
            if path.is_file() and not path.name.startswith(".")  # skip the file sink's temp files
        )

    async def read(self, path: str) -> bytes | None:
        target = self.root / PurePosixPath(path)
        return await asyncio.to_thread(lambda: target.read_bytes() if target.is_file() else None)


class GcsReader:
    def __init__(self, bucket: GcsBucket) -> None:
        self.bucket = bucket
        self.where = bucket.location.uri("").rstrip("/")

    async def names(self, prefix: str) -> list[str]:
        location = self.bucket.location
        strip = f"{location.prefix}/" if location.prefix else ""
        listed = await self.bucket.list(location.name(prefix))
        return [name.removeprefix(strip) for name in listed if name.endswith(".json")]

    async def read(self, path: str) -> bytes | None:
        return await self.bucket.read(self.bucket.location.name(path))


def open_reader(out: str) -> LandedReader:
    """A reader for `--out`: a folder, or `gs://bucket[/prefix]` (Google credentials as for runs)."""
    if out.startswith(SCHEME):
        return GcsReader(GcsBucket(GcsLocation.parse(out)))
    return FolderReader(Path(out))


@dataclass(frozen=True)
class Landed:
    path: str
    document: Mapping[str, Any]


def dated_prefix(template: str, day: str) -> str:
    """`espn/boxscores/{date}/game-{game_id}/...` and a day -> `espn/boxscores/2024-01-15/`."""
    head, found, _ = template.partition(DATE_PLACEHOLDER)
    if not found:
        raise ValueError(f"path {template} has no {DATE_PLACEHOLDER} folder")
    return f"{head}{day}/"


def newest_per_entity(names: list[str]) -> list[str]:
    """The newest document of each folder (entity) among `names`."""
    newest: dict[PurePosixPath, str] = {}
    for name in names:
        path = PurePosixPath(name)
        if path.parent not in newest or path.name > PurePosixPath(newest[path.parent]).name:
            newest[path.parent] = name
    return sorted(newest.values())


async def latest_documents(reader: LandedReader, template: str, day: str) -> tuple[list[Landed], list[str]]:
    """The newest documents landed under a scraper's path for `day`, and the paths that did not read."""
    documents: list[Landed] = []
    unreadable: list[str] = []
    for path in newest_per_entity(await reader.names(dated_prefix(template, day))):
        data = await reader.read(path)
        try:
            document = json.loads(data or b"")
        except ValueError:
            document = None
        if isinstance(document, dict):
            documents.append(Landed(path, document))
        else:
            unreadable.append(path)
    return documents, unreadable
