"""The demo game day landed once for the whole quality suite (about a second, in process)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from scrapers import cli
from scrapers.core.registry import load_registry
from scrapers.sources.oddsapi.common import as_document


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["demo", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def demo_events(demo_out: Path) -> dict[str, dict[str, Any]]:
    """The demo's completion messages by scraper."""
    lines = (demo_out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
    return {event["processor_name"]: event for event in map(json.loads, lines)}


@pytest.fixture(scope="session")
def demo_documents(demo_out: Path, demo_events: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every demo scraper's landed document: the bases the break tests mutate."""
    documents = {}
    for name in load_registry().names():
        landed: Any = json.loads(Path(demo_events[name]["metadata"]["gcs_path"]).read_text("utf-8"))
        assert "quality" not in landed, f"{name}: the verdict travels in the completion, not the document"
        # A landed upstream body that is a bare list (oddsa_events, oddsa_team_players) is what the
        # validators read wrapped as {"data": [...]}: the parse's document is a mapping.
        documents[name] = dict(as_document(landed))
    return documents
