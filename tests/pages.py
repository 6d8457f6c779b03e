"""Turning project fixtures into Pages exactly as the core hands them to a parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers.core.scraper import ParseContext
from scrapers.http.decode import to_page
from scrapers.http.request import Page, Request

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
