"""Valid JSON is accepted whatever its label or byte-order mark says; what is not JSON stays
`structural` (a page where JSON was expected) or `blocked` (a challenge page).

A real Fetcher against a loopback Upstream that serves each body with its headers, one route per
case, all through the core's classification and decoding.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from typing import Any

import pytest

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from tests.harness import Behaviour, Upstream, respond
from tests.integration.test_core_scenarios import BASE, policy

pytestmark = pytest.mark.integration

PAYLOAD = {"games": [{"id": 1, "arena": "Crypto.com Arena", "city": "Montréal"}]}
TEXT = json.dumps(PAYLOAD, ensure_ascii=False)
UTF8 = TEXT.encode()
BOM = codecs.BOM_UTF8
PAGE = b"<!DOCTYPE html><html><head><title>Scores</title></head><body>Tonight's games</body></html>"
CHALLENGE = b"<html><body>Checking your browser before accessing the site. Ray ID: 81f2</body></html>"

# (name, Content-Type, body): each must decode to PAYLOAD.
ACCEPTED: list[tuple[str, str | None, bytes]] = [
    ("bom-json", "application/json", BOM + UTF8),
    ("bom-json-labelled-latin-1", "application/json; charset=iso-8859-1", BOM + UTF8),
    ("bom-no-label", None, BOM + UTF8),
    ("labelled-html", "text/html", UTF8),
    ("labelled-html-utf-8", "text/html; charset=utf-8", b"\n  " + UTF8),
    ("labelled-plain", "text/plain", UTF8),
    ("bom-labelled-html", "text/html", BOM + UTF8),
    ("utf-16-bom", "application/json", codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")),
    ("array-labelled-html", "text/html", b'[{"id": 1}]'),
]
# (name, Content-Type, body, outcome): never data.
REFUSED: list[tuple[str, str, bytes, Outcome]] = [
    ("page-labelled-html", "text/html", PAGE, Outcome.STRUCTURAL),
    ("page-labelled-json", "application/json", PAGE, Outcome.STRUCTURAL),
    ("bom-page-labelled-json", "application/json", BOM + PAGE, Outcome.STRUCTURAL),
    ("broken-json-labelled-html", "text/html", b'{"games": [', Outcome.STRUCTURAL),
    ("challenge-labelled-html", "text/html", CHALLENGE, Outcome.BLOCKED),
]


NAMES = [case[0] for case in ACCEPTED] + [case[0] for case in REFUSED]


def _routes() -> dict[str, Behaviour]:
    served = [(name, label, body) for name, label, body in ACCEPTED]
    served += [(name, label, body) for name, label, body, _ in REFUSED]
    return {
        f"/{name}": respond(200, body, {} if label is None else {"Content-Type": label})
        for name, label, body in served
    }


Fetched = tuple[Any, list[Outcome]]  # the page's data or the ScrapeError, and the attempts' outcomes


@pytest.fixture(scope="module")
def fetched() -> dict[str, Fetched]:
    """Every case fetched once, through one upstream and one Fetcher."""

    async def fetch_all() -> dict[str, Fetched]:
        results: dict[str, Fetched] = {}
        async with Upstream(_routes()) as upstream:
            fetcher = Fetcher(upstream_overrides={BASE: upstream.url})
            pol = policy(retry_budget=0, transient_retries=0)
            try:
                for name in NAMES:
                    log = AttemptLog()
                    try:
                        page = await fetcher.fetch(Request(f"{BASE}/{name}"), pol, log, fetcher.budget(pol))
                        result: Any = page.data
                    except ScrapeError as error:
                        result = error
                    results[name] = (result, [attempt.outcome for attempt in log.attempts])
            finally:
                await fetcher.aclose()
        return results

    return asyncio.run(fetch_all())


@pytest.mark.parametrize("name", [case[0] for case in ACCEPTED])
def test_valid_json_is_accepted_whatever_its_label_or_byte_order_mark(
    name: str, fetched: dict[str, Fetched]
) -> None:
    data, outcomes = fetched[name]

    expected = [{"id": 1}] if name.startswith("array") else PAYLOAD
    assert data == expected
    assert outcomes == [Outcome.OK]


@pytest.mark.parametrize(("name", "outcome"), [(case[0], case[3]) for case in REFUSED])
def test_what_is_not_json_is_never_data(name: str, outcome: Outcome, fetched: dict[str, Fetched]) -> None:
    error, outcomes = fetched[name]

    assert isinstance(error, ScrapeError)
    assert error.outcome is outcome
    assert outcomes == [outcome]
