"""What one log line says: its severity by the run's outcome, and the trace of the request behind it.

The processes in test_platform.py show these on real lines end to end; this is the full table.
"""

from __future__ import annotations

import json
import logging

import pytest
from multidict import CIMultiDict

from scrapers.core.logs import RUN_ID, TRACE, JsonFormatter, Trace, run_level
from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.redact import Redactor
from scrapers.service.middleware import trace_of

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Cloud-Trace-Context": f"{TRACE_ID}/1;o=1"}, Trace(TRACE_ID, "0000000000000001", True)),
        (
            {"X-Cloud-Trace-Context": f"{TRACE_ID.upper()}/18446744073709551615;o=0"},
            Trace(TRACE_ID, "f" * 16, False),
        ),
        ({"X-Cloud-Trace-Context": TRACE_ID}, Trace(TRACE_ID)),  # the span and the option are optional
        ({"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}, Trace(TRACE_ID, "b7ad6b7169203331", True)),
        ({"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-00"}, Trace(TRACE_ID, "b7ad6b7169203331", False)),
        # Both: Cloud Run's own request log is keyed on X-Cloud-Trace-Context, so it wins.
        (
            {"X-Cloud-Trace-Context": f"{TRACE_ID}/2", "traceparent": f"00-{'1' * 32}-{'2' * 16}-01"},
            Trace(TRACE_ID, "0000000000000002"),
        ),
        # A span beyond 64 bits is no span; the trace still counts.
        ({"X-Cloud-Trace-Context": f"{TRACE_ID}/18446744073709551616"}, Trace(TRACE_ID)),
        # Never a guess: no header, all-zero ids, another version or shape.
        ({}, None),
        ({"X-Cloud-Trace-Context": f"{'0' * 32}/1;o=1"}, None),
        ({"X-Cloud-Trace-Context": "not-a-trace"}, None),
        ({"traceparent": f"00-{'0' * 32}-b7ad6b7169203331-01"}, None),
        ({"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"}, None),
        ({"traceparent": f"ff-{TRACE_ID}-b7ad6b7169203331-01"}, None),
        ({"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01-extra"}, None),
    ],
)
def test_the_trace_of_a_request(headers: dict[str, str], expected: Trace | None) -> None:
    assert trace_of(CIMultiDict(headers)) == expected


@pytest.mark.parametrize(
    ("status", "failure", "severity"),
    [
        (RunStatus.SUCCESS, None, "INFO"),
        (RunStatus.NO_DATA, None, "NOTICE"),
        (RunStatus.PARTIAL, None, "NOTICE"),
        *[
            (
                RunStatus.FAILED,
                failure,
                "ERROR" if failure in ("auth", "structural", "landing") else "WARNING",
            )
            for failure in Outcome
            if not failure.is_clean
        ],
    ],
)
def test_a_run_s_outcome_line_has_the_severity_of_its_outcome(
    status: RunStatus, failure: Outcome | None, severity: str
) -> None:
    record = logging.makeLogRecord({"levelno": run_level(status, failure), "msg": "run finished"})
    assert json.loads(JsonFormatter(Redactor()).format(record))["severity"] == severity


def test_a_line_carries_its_run_its_trace_and_no_secret() -> None:
    formatter = JsonFormatter(Redactor(["secret-key-123"]))
    record = logging.makeLogRecord(
        {
            "levelno": logging.WARNING,
            "msg": "run finished: %s",
            "args": ("failed",),
            "error_message": "key secret-key-123",
        }
    )
    run, trace = RUN_ID.set("0123456789abcdef"), TRACE.set(Trace(TRACE_ID, "00000000000004d2", True))
    try:
        entry = json.loads(formatter.format(record))
    finally:
        RUN_ID.reset(run)
        TRACE.reset(trace)

    assert entry["message"] == "run finished: failed"
    assert entry["run_id"] == "0123456789abcdef"
    # No project configured: the bare trace id, which Cloud Logging cannot link but a reader can.
    assert entry["logging.googleapis.com/trace"] == TRACE_ID
    assert entry["logging.googleapis.com/spanId"] == "00000000000004d2"
    assert entry["error_message"] == "key ***"
