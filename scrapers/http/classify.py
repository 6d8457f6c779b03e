"""Every attempt, a response or an exception, maps to exactly one Outcome.

The rules are data (`SourceRules`) declared with each source, so the table tests can cover every
row and a new upstream quirk is a setting, not a branch in the fetch loop.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind

# Markers of challenge / WAF / region-block pages, checked in the first bytes of an HTML body
# that arrived where JSON or a PDF was expected.
BLOCK_MARKERS = (
    "checking your browser",
    "please enable javascript",
    "please enable cookies",
    "access denied",
    "ray id:",
    "__cf_chl",
    "challenge-form",
    "captcha",
    "security check",
    "ddos protection",
    "request blocked",
    "not accessible in this region",
    "not available in your region",
)
SNIFF_BYTES = 4096


@dataclass(frozen=True)
class SourceRules:
    """Per-source facts about how an upstream signals trouble."""

    # stats.nba.com blocks by never answering: a read timeout there means blocked, not transient.
    hang_means_blocked: bool = False
    # Status codes with a source-specific meaning, checked before the generic table.
    status_overrides: Mapping[int, Outcome] = field(default_factory=dict)
    # A response header whose value 0 means the account's quota is spent (The Odds API).
    quota_remaining_header: str | None = None


DEFAULT_RULES = SourceRules()


@dataclass(frozen=True)
class Classified:
    outcome: Outcome
    reason: str
    retry_after: float | None = None
    status: int | None = None  # the HTTP status behind the verdict; None for exceptions


def classify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    expect: BodyKind,
    rules: SourceRules = DEFAULT_RULES,
    now: datetime | None = None,
) -> Classified:
    return dataclasses.replace(_classify_response(status, headers, body, expect, rules, now), status=status)


def _classify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    expect: BodyKind,
    rules: SourceRules,
    now: datetime | None,
) -> Classified:
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = parse_retry_after(lowered.get("retry-after"), now)
    if rules.quota_remaining_header and status in (401, 403, 429):
        remaining = lowered.get(rules.quota_remaining_header.lower())
        if remaining is not None and remaining.strip() in ("0", "0.0"):
            return Classified(Outcome.AUTH, f"HTTP {status} with quota exhausted")
    if status in rules.status_overrides:
        return Classified(rules.status_overrides[status], f"HTTP {status} (source rule)", retry_after)
    if status == 204:
        return Classified(Outcome.NO_DATA, "HTTP 204 No Content")
    if 200 <= status < 300:
        return _classify_body(lowered, body, expect)
    if status == 429:
        return Classified(Outcome.RATE_LIMITED, "HTTP 429", retry_after)
    if status == 407:
        return Classified(Outcome.PROXY, "HTTP 407 proxy authentication required")
    if status == 401:
        return Classified(Outcome.AUTH, "HTTP 401")
    if status == 403:
        return Classified(Outcome.BLOCKED, "HTTP 403")
    if status in (404, 410):
        return Classified(Outcome.NOT_FOUND, f"HTTP {status}")
    if status >= 500:
        return Classified(Outcome.TRANSIENT, f"HTTP {status}", retry_after)
    return Classified(Outcome.STRUCTURAL, f"unexpected HTTP {status}")


def _classify_body(headers: Mapping[str, str], body: bytes, expect: BodyKind) -> Classified:
    if not body.strip():
        return Classified(Outcome.TRANSIENT, "empty body")
    head = body[:SNIFF_BYTES]
    looks_html = _looks_html(headers, head)
    if expect is BodyKind.PDF and head.lstrip()[:5] == b"%PDF-":
        return Classified(Outcome.OK, "PDF document")
    # Any HTML is sniffed for challenge pages, also where HTML is expected (a roster or box-score
    # page): a block page must move the request to the next proxy, not reach the parser. Where a
    # PDF is expected, any non-PDF body is sniffed, HTML-labelled or not: the old platform met
    # region-block bodies ("not accessible in this region") on the injury-report PDF host, and
    # nothing promises such a body is served as text/html.
    if looks_html or expect is BodyKind.PDF:
        text = head.decode("utf-8", errors="replace").lower()
        marker = next((m for m in BLOCK_MARKERS if m in text), None)
        if marker:
            return Classified(Outcome.BLOCKED, f"challenge or block page ('{marker}')")
    if expect is BodyKind.HTML:
        return (
            Classified(Outcome.OK, "HTML page")
            if looks_html
            else Classified(Outcome.STRUCTURAL, "expected an HTML page")
        )
    if looks_html:
        return Classified(Outcome.STRUCTURAL, f"expected {expect.value}, got an HTML page")
    if expect is BodyKind.PDF:
        return Classified(Outcome.STRUCTURAL, "expected a PDF, the body has no %PDF header")
    return Classified(Outcome.OK, "JSON body")


def _looks_html(headers: Mapping[str, str], head: bytes) -> bool:
    if "html" in headers.get("content-type", "").lower():
        return True
    start = head.lstrip()[:15].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def classify_exception(
    exc: BaseException, rules: SourceRules = DEFAULT_RULES, via_proxy: bool = False
) -> Classified:
    name = type(exc).__name__
    if isinstance(exc, httpx.ProxyError):
        return Classified(Outcome.PROXY, f"proxy error ({name})")
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        if via_proxy:
            return Classified(Outcome.PROXY, f"cannot reach the proxy ({name})")
        return Classified(Outcome.TRANSIENT, f"connection failed ({name})")
    if isinstance(exc, httpx.ReadTimeout):
        if rules.hang_means_blocked:
            return Classified(Outcome.BLOCKED, "no answer: this host blocks by hanging")
        return Classified(Outcome.TRANSIENT, "read timeout")
    if isinstance(exc, httpx.TransportError | httpx.DecodingError):
        return Classified(Outcome.TRANSIENT, f"transport error ({name})")
    if isinstance(exc, httpx.TooManyRedirects):
        # A redirect loop does not end by asking again: the endpoint moved or broke.
        return Classified(Outcome.STRUCTURAL, "redirect loop (too many redirects)")
    if isinstance(exc, httpx.RequestError):
        # Everything else httpx raises about one request (a redirect to an unsupported scheme, an
        # unusable URL): asking the same thing again gives the same answer.
        return Classified(Outcome.STRUCTURAL, f"request failed ({name})")
    raise TypeError(f"{name} is not an HTTP failure; refusing to classify it") from exc


def classify_overrun(seconds: float, rules: SourceRules = DEFAULT_RULES) -> Classified:
    """The attempt's total time ran out before the whole response arrived.

    httpx's read timeout restarts at every byte, so an upstream dripping a byte a second never
    trips it; this verdict is the total deadline's, and it means what a hang means at that host.
    """
    if rules.hang_means_blocked:
        return Classified(
            Outcome.BLOCKED, f"no complete answer within {seconds:.3g}s: this host blocks by hanging"
        )
    return Classified(
        Outcome.TRANSIENT, f"no complete response within {seconds:.3g}s (the attempt's deadline)"
    )


def classify_oversize(limit: int, status: int) -> Classified:
    """A body past the source's max_body_bytes: no real payload of it is that large, and asking
    again would send the same bytes."""
    return Classified(Outcome.STRUCTURAL, f"body larger than {limit} bytes (max_body_bytes)", status=status)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    # float() also accepts 'inf' and 'nan'; neither is a wait anyone can honour.
    return seconds if math.isfinite(seconds) and seconds > 0 else None
