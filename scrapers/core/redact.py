"""Redaction at the boundary: every text that leaves a run (logs, errors, events) passes here."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
# Credentials that have a recognisable shape even when we do not know their value.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
_SECRET_QUERY = re.compile(r"(?i)\b(apikey|api_key|access_token|token|password|key)=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
MIN_SECRET_LENGTH = 4


class Redactor:
    """Masks known secret values and anything shaped like a credential."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        # Very short values would mask ordinary text and prove nothing; real keys are long.
        if len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        # Longest first, so a secret containing another secret is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
        text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}={MASK}", text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


class RedactingFormatter(logging.Formatter):
    """Masks secrets in whole formatted log records: messages, their arguments and tracebacks.

    Libraries log what they send and receive: httpx logs every request URL at INFO (query-string API
    keys included) and httpcore logs response headers at DEBUG (where an upstream may echo the key).
    """

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))
