"""Shared test fixtures. Reference recordings are read from ../shared and never copied here."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
SHARED_FIXTURES = PROJECT_ROOT.parent / "shared" / "fixtures"


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pytest_configure(config: pytest.Config) -> None:
    """No test may let the Google auth library probe the GCE metadata server (169.254.169.254).

    Set before any test imports google.auth (it reads NO_GCE_CHECK at import) and inherited by every
    subprocess a test starts. The library only honours the lower-case "true", so the metadata host
    also points at a closed loopback port: a probe, if one happens, is refused on 127.0.0.1.
    """
    port = closed_loopback_port()
    os.environ["NO_GCE_CHECK"] = "true"
    os.environ["GCE_METADATA_HOST"] = f"127.0.0.1:{port}"
    os.environ["GCE_METADATA_IP"] = f"127.0.0.1:{port}"


@pytest.fixture
def shared_fixtures() -> Path:
    """The real recordings beside the repo; tests that need them skip cleanly when absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent: conformance against real recordings skipped")
    return SHARED_FIXTURES


@pytest.fixture
def project_fixtures() -> Path:
    return PROJECT_FIXTURES
