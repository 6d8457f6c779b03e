"""What every BettingPros scraper shares: the API's requests and the checks of its JSON envelope."""

from __future__ import annotations

from typing import Any

from scrapers.core.errors import ParseError
from scrapers.core.request import BodyKind, Page, Request
from scrapers.sources.bettingpros.headers import API_KEY, bettingpros_headers

API_BASE = "https://api.bettingpros.com/v3"
SOURCE_LABEL = "bettingpros_api"


def api_request(endpoint: str, params: tuple[tuple[str, str], ...]) -> Request:
    """A GET of `API_BASE/<endpoint>` with the site's header profile and the key as a SecretRef."""
    return Request(
        url=f"{API_BASE}/{endpoint}",
        params=params,
        headers=bettingpros_headers(),
        expect=BodyKind.JSON,
        secrets=(API_KEY,),
    )


def json_object(page: Page) -> dict[str, Any]:
    if not isinstance(page.data, dict):
        raise ParseError(f"BettingPros body is not a JSON object (got {type(page.data).__name__})")
    return page.data


def echoed_parameters(body: dict[str, Any]) -> dict[str, Any]:
    """`_parameters`, the API's echo of the query (absent on some answers, then empty)."""
    params = body.get("_parameters", {})
    if not isinstance(params, dict):
        raise ParseError(f"BettingPros '_parameters' is not an object (got {type(params).__name__})")
    return params
