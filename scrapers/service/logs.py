"""Structured logs: one JSON object per line, in the fields Cloud Logging reads from stdout.

`severity`, `message` and `time` are what Cloud Logging maps to the entry's own fields; an access
line carries `httpRequest`. Every line logged while a run is in progress carries its `run_id`
(a context variable, so library lines such as httpx's get it too). Every string value passes the
Redactor before it is written, and values are redacted before JSON escaping, so a secret with a
quote or a backslash in it is masked as well.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from scrapers.core.redact import Redactor
from scrapers.pipeline.runs import RUN_ID

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
# Attributes every LogRecord has; anything else passed through `extra=` is a structured field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

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
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(_redacted(entry, self.redactor), ensure_ascii=False, default=str)


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


def configure_json_logging(redactor: Redactor, *, verbose: bool, stream: TextIO | None = None) -> None:
    """Route every logger of the process through one JSON handler (replacing the CLI's text one)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request line at INFO: at the service's request rate that is noise, and the
    # run's own lines already say what was fetched. --verbose brings it back.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)
