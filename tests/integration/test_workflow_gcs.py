"""The schedule on gs:// output (GCS and Pub/Sub emulators): the calendar is read from the bucket
the runs land in, and each workflow's record is mirrored there as `_workflows/<workflow>.json`."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1, storage

from scrapers.cli import main
from tests.workflows.season import WORKFLOWS, A, build, eastern

pytestmark = pytest.mark.integration

PROJECT = "courtside-test"


def _cli(*argv: str) -> list[dict[str, Any]]:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main([*argv, "--json"])
    assert code == 0, captured.getvalue()
    decisions: list[dict[str, Any]] = json.loads(captured.getvalue())
    return decisions


def test_ticks_on_gs_output_read_the_calendar_from_the_bucket_and_mirror_their_records_there(
    gcs_endpoint: str, pubsub_host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suffix = uuid.uuid4().hex[:8]
    bucket, topic = f"landing-{suffix}", f"completions-{suffix}"
    for key, value in {
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "PUBSUB_EMULATOR_HOST": pubsub_host,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "COURTSIDE_TOPIC": topic,
        "COURTSIDE_STATE": f"sqlite:{tmp_path / 'state.sqlite'}",
        "COURTSIDE_WORKFLOWS": str(WORKFLOWS),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COURTSIDE_JOBS_TOPIC", raising=False)
    storage.Client(project=PROJECT).create_bucket(bucket)
    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(request={"name": publisher.topic_path(PROJECT, topic)})
    folder = build(tmp_path / "recordings")["a_day"]
    out = f"gs://{bucket}/landing"

    morning = _cli("tick", "--replay", str(folder), "--out", out, "--at", eastern(A, 7, 5))
    lines = _cli("tick", "--replay", str(folder), "--out", out, "--at", eastern(A, 11, 35))
    planned = _cli("plan", "--out", out, "--at", eastern(A, 11, 40), "--workflow", "betting_lines")

    assert [(d["workflow"], d["decision"]) for d in morning][:2] == [
        ("morning_operations", "run"),
        ("injury_reports", "skip"),
    ]
    # The schedule the morning landed in the bucket is the calendar of the later decisions.
    [betting] = [d for d in lines if d["workflow"] == "betting_lines"]
    assert (betting["decision"], betting["outcome"]) == ("run", "6 success, 1 no_data")
    assert "the 2024-01-15 first tip at 14:30" in betting["reason"]
    assert [(d["decision"], d["window"]) for d in planned] == [("nothing_due", None)]
    assert "ran at 11:35" in planned[0]["reason"]

    blob = storage.Client(project=PROJECT).bucket(bucket).blob("landing/_workflows/betting_lines.json")
    record = json.loads(blob.download_as_bytes())
    assert record["output"] == out
    assert record["windows"]["2024-01-15"]["state"] == "done"
    assert [d["decision"] for d in record["decisions"]] == ["skip", "run"]
