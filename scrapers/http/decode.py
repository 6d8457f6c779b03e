"""Bodies to values. Runs only on responses classified clean; a failure here is `structural`."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import Any

from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.http.classify import Classified, SourceRules, classify_response

# A byte-order mark names the encoding whatever the Content-Type says (the WHATWG encoding
# sniffing order; RFC 8259 lets a JSON parser ignore the mark). UTF-32 marks are not listed: their
# UTF-16 prefix would match first, and no upstream sends UTF-32.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MARK_STARTS = frozenset(mark[:1] for mark, _ in _BYTE_ORDER_MARKS)


def decode_body(body: bytes, headers: Mapping[str, str], expect: BodyKind) -> Any:
    if expect is BodyKind.PDF:
        return body
    if expect is BodyKind.HTML:
        return _text(body, headers)
    text = _text(body, headers)
    try:
        return _JSON.decode(text)
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


# One decoder for every body: json.loads with a keyword argument builds a new one per call.
_JSON = json.JSONDecoder(parse_constant=_non_finite)


def _text(body: bytes, headers: Mapping[str, str]) -> str:
    """The body as text: by its byte-order mark (dropped) if it has one, else by its charset."""
    if body[:1] in _MARK_STARTS:
        for mark, encoding in _BYTE_ORDER_MARKS:
            if body.startswith(mark):
                try:
                    return body[len(mark) :].decode(encoding)
                except UnicodeDecodeError:
                    break  # not what the mark says after all: the label and the fallback decide
    content_type = headers.get("content-type")  # the core's headers are lower-cased already
    if content_type is None:
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
