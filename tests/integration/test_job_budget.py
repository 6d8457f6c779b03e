"""One retry budget per job: every page of a paginated job draws on the same budget.

Three pages on a loopback upstream, each answering one 503 before its 200, and a retry budget of 2:
pages 1 and 2 spend one retry each, so page 3's 503 finds the budget empty and the job fails
`transient`. A budget rebuilt per request would hand every page a fresh 2 and fetch all three.
"""

from __future__ import annotations

import asyncio

import pytest

from proxy.state import MemoryStore
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import Request
from scrapers.http.attempts import AttemptLog
from scrapers.http.fetch import Fetcher
from tests.harness import Upstream, respond, respond_json, sequence
from tests.integration.test_core_scenarios import BASE, policy

pytestmark = pytest.mark.integration

PAGES = ("/page1", "/page2", "/page3")


def test_a_multi_page_job_spends_one_budget_across_its_pages() -> None:
    async def scenario() -> tuple[list[str], ScrapeError | None, int, dict[str, int]]:
        async with Upstream() as up:
            for path in PAGES:
                up.route(path, sequence([respond(503, "busy"), respond_json({"page": path})]))
            fetcher = Fetcher(store=MemoryStore(), upstream_overrides={BASE: up.url})
            pol = policy(retry_budget=2, transient_retries=3)
            budget = fetcher.budget(pol)  # what the runner builds once per job
            log = AttemptLog()
            fetched: list[str] = []
            failure: ScrapeError | None = None
            try:
                for path in PAGES:
                    page = await fetcher.fetch(Request(BASE + path), pol, log, budget)
                    fetched.append(page.data["page"])
            except ScrapeError as exc:
                failure = exc
            finally:
                await fetcher.aclose()
            return fetched, failure, budget.retries_left, {path: up.count(path) for path in PAGES}

    fetched, failure, retries_left, requests = asyncio.run(scenario())
    assert fetched == ["/page1", "/page2"]
    assert failure is not None
    assert failure.outcome is Outcome.TRANSIENT
    assert retries_left == 0
    assert requests == {"/page1": 2, "/page2": 2, "/page3": 1}
