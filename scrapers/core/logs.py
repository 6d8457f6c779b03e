"""How every mode logs: one JSON object a line (the fields Cloud Logging reads), or text for a person.

`scrapers serve` writes its lines to stdout, in JSON unless COURTSIDE_LOG_FORMAT=text. The job
commands (`run`, `record`, `demo`, `run-many`, ...) write theirs to stderr, since stdout carries the
results table or `--json`: JSON on Cloud Run and Kubernetes (K_SERVICE, CLOUD_RUN_JOB or
KUBERNETES_SERVICE_HOST set) or with COURTSIDE_LOG_FORMAT=json, text otherwise.

A JSON line: `severity`, `message` and `time` are what Cloud Logging maps to the entry's own fields;
an access line carries `httpRequest`. Every line logged while a run is in progress carries its
`run_id`, and every line of a request that came with a trace header (`X-Cloud-Trace-Context` or
`traceparent`) carries `logging.googleapis.com/trace` (`projects/PROJECT/traces/ID` when the
project is known, the bare id otherwise), `logging.googleapis.com/spanId` and
`logging.googleapis.com/trace_sampled`. Both are context variables, so library lines (httpx) and
the lines of the runs a request started get them too. Every string value passes the Redactor
before it is written, and values are redacted before JSON escaping, so a secret with a quote or a
backslash in it is masked as well.

The severity of a run's outcome line (`run_level`): success INFO; no_data and partial NOTICE (normal,
but worth a look when they pile up); a failure WARNING when the upstream or a later attempt may
clear it (not_found and the false-positive classes: blocked, proxy, rate_limited, transient) or when
the caller's job does not fit its deadline (infeasible), ERROR when someone has to act (auth,
structural, landing).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from scrapers.core.outcome import Outcome, RunStatus
from scrapers.core.redact import RedactingFormatter, Redactor

# Cloud Logging's NOTICE (between INFO and WARNING); Python's logging has no name for it.
NOTICE = 25
# The run a log line belongs to (set by the run manager around each run).
RUN_ID: ContextVar[str | None] = ContextVar("courtside_run_id", default=None)
# The lines of a run: its start and its outcome. A job command in text mode leaves them out (its
# results table says the same); every other mode writes them.
OUTCOME_LOGGER = "scrapers.runs.outcome"

TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
SAMPLED_FIELD = "logging.googleapis.com/trace_sampled"


@dataclass(frozen=True)
class Trace:
    """The trace a request belongs to, from its `X-Cloud-Trace-Context` or `traceparent` header."""

    trace_id: str  # 32 lower-case hex digits
    span_id: str | None = None  # 16 lower-case hex digits
    sampled: bool | None = None


# The trace of the request being handled (set by the service's trace middleware).
TRACE: ContextVar[Trace | None] = ContextVar("courtside_trace", default=None)


class LogFormat(StrEnum):
    AUTO = "auto"  # JSON on a container platform (and for `serve`), text otherwise
    JSON = "json"
    TEXT = "text"


def choose_format(setting: LogFormat, *, platform: str | None, default: LogFormat) -> LogFormat:
    """JSON or text: the setting when it names one; on a container platform JSON; else `default`."""
    if setting is not LogFormat.AUTO:
        return setting
    return LogFormat.JSON if platform is not None else default


_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    NOTICE: "NOTICE",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
# Attributes every LogRecord has; anything else passed through `extra=` is a structured field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Failures that need someone to act: a key, a parser, our own storage.
_ERROR_CLASSES = frozenset({Outcome.AUTH, Outcome.STRUCTURAL, Outcome.LANDING})


def run_level(status: RunStatus, failure: Outcome | None) -> int:
    """The level of a run's outcome line (see the module docstring)."""
    if status is RunStatus.SUCCESS:
        return logging.INFO
    if status in (RunStatus.NO_DATA, RunStatus.PARTIAL):
        return NOTICE
    return logging.ERROR if failure in _ERROR_CLASSES else logging.WARNING


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, project: str | None = None) -> None:
        super().__init__()
        self.redactor = redactor
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, record.levelname),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "logger": record.name,
        }
        run_id = getattr(record, "run_id", None) or RUN_ID.get()
        if run_id:
            entry["run_id"] = run_id
        trace = TRACE.get()
        if trace is not None:
            entry.update(self._trace_fields(trace))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(_redacted(entry, self.redactor), ensure_ascii=False, default=str)

    def _trace_fields(self, trace: Trace) -> dict[str, Any]:
        name = f"projects/{self.project}/traces/{trace.trace_id}" if self.project else trace.trace_id
        fields: dict[str, Any] = {TRACE_FIELD: name}
        if trace.span_id is not None:
            fields[SPAN_FIELD] = trace.span_id
        if trace.sampled is not None:
            fields[SAMPLED_FIELD] = trace.sampled
        return fields


def _redacted(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return _writable(redactor(value))
    if isinstance(value, Mapping):
        return {str(key): _redacted(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, redactor) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redactor(str(value))


def _writable(text: str) -> str:
    """Header bytes that are not UTF-8 (a user agent, a path) reach us as lone surrogates, which no
    UTF-8 stream can write: the handler would drop the whole line. They become U+FFFD instead."""
    if text.isascii():
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes that came in
    except UnicodeEncodeError:  # a surrogate that stands for no byte (a JSON "\ud800")
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


class _CurrentStream(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the process's stderr or stdout of the moment, not the one it had when logging was
    set up (a test harness swaps them; a handler must not keep writing to a closed one)."""

    def __init__(self, stream_of: Callable[[], TextIO]) -> None:
        super().__init__(stream_of())
        self._stream_of = stream_of

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._stream_of()  # under the handler's lock (Handler.handle)
        super().emit(record)


def configure_logging(
    redactor: Redactor,
    fmt: LogFormat,
    *,
    level: int,
    stdout: bool = False,
    project: str | None = None,
    outcomes: bool = True,
) -> None:
    """Route every logger of the process through one handler, JSON or text, on stderr (or stdout),
    replacing any earlier one; `outcomes=False` leaves the run lines out (a job command in text mode
    prints a table that says the same)."""
    logging.addLevelName(NOTICE, "NOTICE")
    handler = _CurrentStream((lambda: sys.stdout) if stdout else (lambda: sys.stderr))
    if fmt is LogFormat.JSON:
        handler.setFormatter(JsonFormatter(redactor, project))
    else:
        # Every line, ours or a library's (httpx logs request URLs with their API keys), is masked.
        handler.setFormatter(RedactingFormatter(redactor, "%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request line at INFO: the run's own lines already say what was fetched, and
    # at the service's request rate it is noise. DEBUG (--verbose) brings it back.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    logging.getLogger(OUTCOME_LOGGER).setLevel(logging.NOTSET if outcomes else logging.CRITICAL + 1)


def structured() -> bool:
    """Whether this process writes JSON log lines (so a command logs what it would print to stderr)."""
    return any(isinstance(handler.formatter, JsonFormatter) for handler in logging.getLogger().handlers)
