"""Turning project fixtures into Pages exactly as the core hands them to a parser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.http.decode import to_page

# Every parse test uses the same frozen fetch moment: the night after the demo game day.
TEST_CTX = ParseContext(fetched_at=datetime(2024, 1, 16, 3, 0, tzinfo=UTC), run_id="test0001")


def load_exchange(directory: Path, slug: str) -> dict[str, Any]:
    exchange: dict[str, Any] = json.loads((directory / f"{slug}.exchange.json").read_text(encoding="utf-8"))
    return exchange


def replayed_page(request: Request, directory: Path, slug: str) -> Page:
    """The fixture's response for `request`, checking the recording was made for exactly this URL."""
    exchange = load_exchange(directory, slug)
    assert exchange["request"]["url"] == request.full_url
    response = exchange["response"]
    body = (directory / response["body_file"]).read_bytes()
    return to_page(request, response["status"], response["headers"], body)


@dataclass(frozen=True)
class ParseCase:
    """A one-request scraper with fixed options, as its unit tests need it: the request, the
    project fixture's page and body, and a parse of any body through `to_page` as the core does."""

    scraper: Scraper[Any]
    opts: Any
    directory: str  # the fixture folder under tests/fixtures, e.g. "nbac"
    slug: str
    content_type: str = "application/json; charset=utf-8"

    def request(self) -> Request:
        (request,) = self.scraper.requests(self.opts)
        return request

    def fixture_page(self, fixtures: Path) -> Page:
        return replayed_page(self.request(), fixtures / self.directory, self.slug)

    def fixture_json(self, fixtures: Path) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.fixture_page(fixtures).body)
        return body

    def parse(
        self, body: bytes | str, status: int = 200, head: dict[str, str] | None = None, opts: Any = None
    ) -> Parsed:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"content-type": self.content_type} if head is None else head
        page = to_page(self.request(), status, headers, raw)
        return self.scraper.parse(self.opts if opts is None else opts, [page], TEST_CTX)
