"""What a scraper asks for and what it gets back. Both cross the scraper/core boundary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any
from urllib.parse import urlencode, urlsplit

from scrapers.core.outcome import Outcome


class BodyKind(StrEnum):
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


@dataclass(frozen=True)
class SecretRef:
    """A credential the core injects at send time from the environment.

    The Request never holds the secret itself, so requests can be logged, recorded and put in
    error messages without leaking it.
    """

    env: str
    header: str | None = None
    query: str | None = None
    template: str = "{}"

    def __post_init__(self) -> None:
        if (self.header is None) == (self.query is None):
            raise ValueError("a SecretRef goes in exactly one of a header or a query parameter")


@dataclass(frozen=True)
class Request:
    url: str
    params: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    expect: BodyKind = BodyKind.JSON
    secrets: tuple[SecretRef, ...] = ()

    @property
    def full_url(self) -> str:
        """The URL as sent, minus secrets."""
        return f"{self.url}?{urlencode(self.params)}" if self.params else self.url

    @cached_property
    def host(self) -> str:
        # Asked several times per attempt (rules, limiter, pool, log); the URL never changes.
        return urlsplit(self.url).hostname or ""

    def describe(self) -> str:
        return f"{self.method} {self.full_url}"


@dataclass(frozen=True)
class Page:
    """A decoded response. `outcome` is `ok` or `no_data`: failures never become pages."""

    request: Request
    status: int
    headers: Mapping[str, str]
    body: bytes
    data: Any
    outcome: Outcome = Outcome.OK
