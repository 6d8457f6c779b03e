"""Bodies to values. Runs only on responses classified clean; a failure here is `structural`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.http.classify import Classified, SourceRules, classify_response


def decode_body(body: bytes, headers: Mapping[str, str], expect: BodyKind) -> Any:
    if expect is BodyKind.PDF:
        return body
    if expect is BodyKind.HTML:
        return _text(body, headers)
    # A byte-order mark is no reason to reject valid JSON.
    text = _text(body, headers).removeprefix("\ufeff")
    try:
        return json.loads(text, parse_constant=_non_finite)
    except json.JSONDecodeError as exc:
        raise ScrapeError(Outcome.STRUCTURAL, f"body is not valid JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        # Hostile or broken: nesting no real payload has. Classified, never a crash of the run.
        raise ScrapeError(Outcome.STRUCTURAL, "body is JSON nested too deeply to parse") from None


def _non_finite(constant: str) -> Any:
    # Python's json reads NaN/Infinity, but they are not JSON: landing them would hand downstream
    # a file its parsers reject. The upstream sent something it does not promise: structural.
    raise ScrapeError(
        Outcome.STRUCTURAL, f"body is not valid JSON: it holds the non-finite number {constant}"
    )


def _text(body: bytes, headers: Mapping[str, str]) -> str:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip().strip('"') or "utf-8"
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        # Some upstreams label latin-1 bodies as UTF-8; latin-1 decodes every byte sequence.
        return body.decode("latin-1")


def to_page(
    request: Request,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    rules: SourceRules | None = None,
    verdict: Classified | None = None,
) -> Page:
    """Classify (unless already classified) and decode one response.

    Raises ScrapeError with the outcome class unless the response is clean.
    """
    verdict = verdict or classify_response(status, headers, body, request.expect, rules or SourceRules())
    if not verdict.outcome.is_clean:
        raise ScrapeError(verdict.outcome, f"{verdict.reason} from {request.host}")
    data = None if verdict.outcome is Outcome.NO_DATA else decode_body(body, headers, request.expect)
    return Page(
        request=request, status=status, headers=dict(headers), body=body, data=data, outcome=verdict.outcome
    )
