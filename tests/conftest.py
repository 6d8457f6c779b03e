"""Shared test fixtures. Reference recordings are read from ../shared and never copied here."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
SHARED_FIXTURES = PROJECT_ROOT.parent / "shared" / "fixtures"


@pytest.fixture
def shared_fixtures() -> Path:
    """The real recordings beside the repo; tests that need them skip cleanly when absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent: conformance against real recordings skipped")
    return SHARED_FIXTURES


@pytest.fixture
def project_fixtures() -> Path:
    return PROJECT_FIXTURES
