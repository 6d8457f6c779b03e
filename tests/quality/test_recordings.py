"""Every real recording in ../shared/fixtures/recorded/ passes the validators of the scraper that lands it.

None of the landed recordings is faulty by its checks; the folders no registered scraper lands are
listed with their one-line reason in tests/quality/recordings.py (NOT_LANDED).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scrapers.core.verdict import Status
from scrapers.quality.verdict import evaluate
from tests.quality.recordings import GAMEBOOK, NOT_LANDED, RECORDINGS, Recording, landed

ALL = (*RECORDINGS, GAMEBOOK)


@pytest.mark.parametrize("recording", ALL, ids=[f"{r.label}-{r.options.get('skipJson', '')}" for r in ALL])
def test_the_recording_passes_its_validators(shared_fixtures: Path, recording: Recording) -> None:
    cls, parsed, options = landed(shared_fixtures, recording)
    verdict = evaluate(cls, parsed.document, options)
    assert verdict.status is Status.OK, [check.to_dict() for check in verdict.failed_checks]
    assert len(verdict.checks) >= 6


def test_every_recorded_folder_is_validated_or_explained(shared_fixtures: Path) -> None:
    folders = {path.name for path in (shared_fixtures / "recorded").iterdir() if path.is_dir()}
    validated = {recording.folder for recording in ALL}
    assert validated.isdisjoint(NOT_LANDED)
    assert folders == validated | set(NOT_LANDED)


def test_every_raw_body_of_a_validated_folder_is_validated(shared_fixtures: Path) -> None:
    validated = {(recording.folder, recording.raw) for recording in RECORDINGS}
    for folder in {recording.folder for recording in RECORDINGS}:
        for raw in (shared_fixtures / "recorded" / folder).glob("raw_*"):
            assert (folder, raw.name) in validated, f"{folder}/{raw.name} is not validated"
