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

from dataclasses import dataclass
from pathlib import Path

from scrapers.core.errors import MissingCredentialsError, OptionError
from scrapers.core.settings import Settings
from scrapers.events.delivery import EVENTS_FILE, CompletionDelivery, local_delivery
from scrapers.events.gcs_outbox import GcsOutbox
from scrapers.events.publishers import PubSubPublisher
from scrapers.sinks.base import Sink
from scrapers.sinks.file import FileSink
from scrapers.sinks.gcs import SCHEME, GcsBucket, GcsLocation, GcsSink

RUNS_FOLDER = "_runs"  # run summaries, beside the landed documents


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


def open_output(out: str, settings: Settings) -> Output:
    if not out.startswith(SCHEME):
        root = Path(out)
        delivery = local_delivery(root)
        delivery.retention_seconds = settings.outbox_retention
        delivery.retained_folders = (RUNS_FOLDER,)
        return Output(FileSink(root), delivery, str(root), str(root / EVENTS_FILE))
    try:
        location = GcsLocation.parse(out)
    except ValueError as exc:
        raise OptionError("--out", str(exc), "gs://nba-scraped-data") from None
    project = (settings.project or "").strip()
    if not project:
        names = " or ".join(Settings.variables("project"))
        raise MissingCredentialsError(
            f"{names} is required to publish completions for gs:// output",
            f"export {Settings.variable('project')}=nba-props-platform",
        )
    _require_google_credentials(settings)
    publisher = PubSubPublisher(project, settings.topic, settings.publish_timeout)
    bucket = GcsBucket(location)
    sink = GcsSink(bucket)
    delivery = CompletionDelivery(
        GcsOutbox(bucket), publisher, sink, retention_seconds=settings.outbox_retention
    )
    delivery.retained_folders = (RUNS_FOLDER,)
    return Output(sink, delivery, out, publisher.description)


def _require_google_credentials(settings: Settings) -> None:
    # The libraries read the emulator variables themselves: with both set, no credentials are needed.
    if settings.storage_emulator_host and settings.pubsub_emulator_host:
        return
    import google.auth  # imported here: local runs never load it
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default()
    except DefaultCredentialsError:
        emulators = " and ".join(
            Settings.variable(name) for name in ("storage_emulator_host", "pubsub_emulator_host")
        )
        raise MissingCredentialsError(
            "gs:// output needs Google credentials: no Application Default Credentials were found "
            "(run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
            f"service-account key file), and {emulators} are not both set for emulators",
            "gcloud auth application-default login",
        ) from None
