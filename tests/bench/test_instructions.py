"""bench.instructions: instruction counts per request under real callgrind (slow), and its usage
errors."""

from __future__ import annotations

import shutil

import pytest

from bench.instructions import main, per_request


def test_a_non_positive_request_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--requests", "0"]) == 2
    assert "--requests must be positive" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_the_core_costs_more_instructions_per_request_than_raw_httpx() -> None:
    counts = per_request(50, ["raw", "core"])
    assert counts["core"] > counts["raw"] > 0
