"""Where a run lands and how its completion travels, chosen by the output location.

`./data` (any local folder): the file sink, the outbox in `<out>/_outbox/`, completions appended
to `<out>/_events/completions.jsonl` — the embedded default, no cloud needed.
`gs://bucket/prefix`: the GCS sink, the outbox under `<prefix>/_outbox/` in the same bucket, and
completions published to Pub/Sub (project `GOOGLE_CLOUD_PROJECT` or `GCP_PROJECT`, topic
`COURTSIDE_TOPIC`, default `nba-phase1-scrapers-complete`). Downstream only acts on `gs://` paths,
so a local run never publishes to Pub/Sub.

Missing Google credentials are the operator's bad input (exit 2), found before anything runs: with
neither Application Default Credentials nor both emulators, a gs:// run would fetch, then fail to
land or publish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scrapers.core.errors import MissingCredentialsError, OptionError
from scrapers.events.delivery import EVENTS_FILE, CompletionDelivery, local_delivery
from scrapers.events.gcs_outbox import GcsOutbox
from scrapers.events.publishers import (
    DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_TOPIC,
    PROJECT_ENVS,
    TOPIC_ENV,
    PubSubPublisher,
)
from scrapers.sinks.base import Sink
from scrapers.sinks.file import FileSink
from scrapers.sinks.gcs import SCHEME, GcsBucket, GcsLocation, GcsSink

PUBLISH_TIMEOUT_ENV = "COURTSIDE_PUBLISH_TIMEOUT"
# The libraries' own variables: with both set, no credentials are needed.
EMULATOR_ENVS = ("STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")


@dataclass
class Output:
    sink: Sink
    delivery: CompletionDelivery
    where: str  # for messages: the folder or gs:// URL
    events_note: str  # where completions go, for messages

    def close(self) -> None:
        publisher = self.delivery.publisher
        if isinstance(publisher, PubSubPublisher):
            publisher.close()


def open_output(out: str, environ: Mapping[str, str]) -> Output:
    if not out.startswith(SCHEME):
        root = Path(out)
        delivery = local_delivery(root)
        return Output(FileSink(root), delivery, str(root), str(root / EVENTS_FILE))
    try:
        location = GcsLocation.parse(out)
    except ValueError as exc:
        raise OptionError("--out", str(exc), "gs://nba-scraped-data") from None
    project = next((environ[name].strip() for name in PROJECT_ENVS if environ.get(name, "").strip()), "")
    if not project:
        raise MissingCredentialsError(
            f"{' or '.join(PROJECT_ENVS)} is required to publish completions for gs:// output",
            "export GOOGLE_CLOUD_PROJECT=nba-props-platform",
        )
    _require_google_credentials(environ)
    publisher = PubSubPublisher(project, environ.get(TOPIC_ENV) or DEFAULT_TOPIC, _timeout(environ))
    bucket = GcsBucket(location)
    delivery = CompletionDelivery(GcsOutbox(bucket), publisher)
    return Output(GcsSink(bucket), delivery, out, publisher.description)


def _require_google_credentials(environ: Mapping[str, str]) -> None:
    if all(environ.get(name) for name in EMULATOR_ENVS):
        return
    import google.auth  # imported here: local runs never load it
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default()
    except DefaultCredentialsError:
        emulators = " and ".join(EMULATOR_ENVS)
        raise MissingCredentialsError(
            "gs:// output needs Google credentials: no Application Default Credentials were found "
            "(run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
            f"service-account key file), and {emulators} are not both set for emulators",
            "gcloud auth application-default login",
        ) from None


def _timeout(environ: Mapping[str, str]) -> float:
    raw = environ.get(PUBLISH_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_PUBLISH_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise OptionError(PUBLISH_TIMEOUT_ENV, f"'{raw}' is not a positive number of seconds", "30")
    return value
