"""Every attempt, a response or an exception, maps to exactly one Outcome.

The rules are data (`SourceRules`) declared with each source, so the table tests can cover every
row and a new upstream quirk is a setting, not a branch in the fetch loop.

**Whose fault: the proxy's or the origin's.** Through a proxy the verdict depends on which hop
failed (`Leg`), because a proxy fault (`proxy`) moves the request to the next proxy of the tier and
feeds that proxy's breaker, while an origin fault (`transient`) is retried on the same route:

* A CONNECT tunnel (https targets) splits cleanly. Until the proxy has answered CONNECT
  (`Leg.CONNECT`: connecting to it, sending CONNECT, waiting for its answer) everything is the
  proxy's: its refusals (httpx.ProxyError, e.g. 407), its hangs and its resets. Once the tunnel is
  up (`Leg.TUNNEL`) TLS runs end to end, so every HTTP answer is the origin's: the proxy cannot
  write one. `TunnelTrace` follows httpcore's trace events to tell the two apart.
* Forward mode (absolute-form requests for http targets, `Leg.FORWARD`) passes every answer
  through the proxy's own HTTP layer, so its own error answers look like the origin's. An answer
  is the proxy's when it says so (`proxy_error`): RFC 9209 `Proxy-Status` whose nearest member (the
  last: the hop closest to us, our proxy) carries `error=`, or a provider's error header (Squid's
  `X-Squid-Error` on its ERR_* pages, Bright Data's `x-brd-error` / `x-luminati-error`, or what the
  proxies file names for a proxy: `error_headers`). A `received-status=` there says it relayed the
  origin's answer. A bare 502 with no such sign stays the origin's `transient`: guessing "proxy"
  would send every origin 502 (1 in 60 answers of the benchmark's hosts) to the next proxy and,
  when that proxy's tier has no other working proxy, to the expensive tier at ten times the cost,
  while the opposite mistake costs at most `transient_retries` retries on the same proxy.
* No answer at all through a proxy (a connection refused or reset, a timeout) is the proxy's in
  either mode: the proxy is the hop we talk to, a refused or reset connection is its doing (a
  forward proxy turns an origin's reset into a 502 of its own), and when the origin hangs behind it
  the next proxy costs the same as a retry here. The exception is a host that blocks by hanging
  (`hang_means_blocked`): once the request is past the proxy, a hang there is the host's block.
  Misplacing a rare origin timeout costs little: the breaker needs `fail_max` consecutive faults,
  and a clean answer resets the count.
"""

from __future__ import annotations

import email.utils
import enum
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
_UTF8_BOM = b"\xef\xbb\xbf"  # sniffing looks past it: a marked page is a page, marked JSON is JSON
# Headers with which proxies mark the error answers they write themselves (see the module
# docstring): Squid's ERR_* pages, Bright Data's error fields (current and from its Luminati days).
PROXY_ERROR_HEADERS = ("x-squid-error", "x-brd-error", "x-brd-err-code", "x-luminati-error")
# RFC 9209 error types that no retry through the same proxy cures: its circuit opens at once.
_STANDING_PROXY_ERRORS = frozenset(
    {"http_request_denied", "proxy_configuration_error", "proxy_loop_detected"}
)


class Leg(enum.Enum):
    """Where an attempt through a proxy was when it ended (module docstring); direct is None."""

    CONNECT = "connect"  # reaching the proxy and asking it for a tunnel: all the proxy's
    TUNNEL = "tunnel"  # inside an established CONNECT tunnel: TLS end to end with the origin
    FORWARD = "forward"  # absolute-form through the proxy's HTTP layer


class TunnelTrace:
    """httpcore's `trace` extension for one attempt through a CONNECT tunnel: its `leg` is
    CONNECT until the proxy has accepted the tunnel (httpcore starts TLS to the origin through it,
    or sends the request on a tunnel kept alive from an earlier one), TUNNEL from then on."""

    __slots__ = ("leg",)

    def __init__(self) -> None:
        self.leg = Leg.CONNECT

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "proxy.start_tls.started":
            self.leg = Leg.TUNNEL
        elif event == "http11.send_request_headers.started":
            request = info.get("request")
            # A CONNECT of its own (a redirect to another host opens a new tunnel) or our request.
            self.leg = Leg.CONNECT if getattr(request, "method", b"") == b"CONNECT" else Leg.TUNNEL


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


# Not frozen: a frozen dataclass pays an object.__setattr__ call per field, and one verdict is
# built per attempt. Nothing changes a verdict once built; a new outcome is a new Classified.
@dataclass(slots=True)
class Classified:
    outcome: Outcome
    reason: str
    retry_after: float | None = None
    status: int | None = None  # the HTTP status behind the verdict; None for exceptions
    # A proxy fault no retry cures (credentials refused): the proxy's circuit opens at once.
    opens_circuit: bool = False
    # No answer within the time allowed: trying the same route again risks a whole timeout again.
    hung: bool = False
    # Cut before the time allowed, having waited well past the host's usual answer time through
    # this proxy (`classify_presumed_hung`): a second try here costs as little, and no breaker
    # learns from it (the origin may merely be slow).
    presumed_hung: bool = False


def classify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    expect: BodyKind,
    rules: SourceRules = DEFAULT_RULES,
    leg: Leg | None = None,
    proxy_marks: Collection[str] = (),
    now: datetime | None = None,
    *,
    lowered: bool = False,
) -> Classified:
    """`leg`: how the answer came (None: direct); `proxy_marks`: the proxy's own error headers;
    `lowered`: every header name in `headers` is lower-case already (httpx's items() are), so
    they are not copied again."""
    if leg is Leg.FORWARD and not 200 <= status < 300:
        own = proxy_error(headers, proxy_marks)
        if own is not None:
            reason, standing = own
            return Classified(
                Outcome.PROXY,
                f"HTTP {status} written by the proxy ({reason})",
                status=status,
                opens_circuit=standing or status == 407,
            )
    return _classify_response(
        status, headers if lowered else {k.lower(): v for k, v in headers.items()}, body, expect, rules, now
    )


def proxy_error(headers: Mapping[str, str], marks: Collection[str] = ()) -> tuple[str, bool] | None:
    """Why an answer in forward mode is the proxy's own, and whether no retry through it can
    help; None when nothing says the proxy wrote it (then it is the origin's)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    status = lowered.get("proxy-status")
    if status:
        params = _nearest_proxy_status(status)
        error = params.get("error")
        if error:
            return f"Proxy-Status error={error}", error in _STANDING_PROXY_ERRORS
        if "received-status" in params:
            return None  # our proxy says it relayed this answer from the next hop
    for name in (*PROXY_ERROR_HEADERS, *marks):
        value = lowered.get(name.lower())
        if value:
            return f"{name}: {value.strip()[:80]}", False
    return None


def _nearest_proxy_status(value: str) -> dict[str, str]:
    """The parameters of the last member of a Proxy-Status list (RFC 9209: the intermediary
    closest to the client), from a Structured Field list; quoted strings may hold , ; and =."""
    members = _split_outside_quotes(value, ",")
    parts = _split_outside_quotes(members[-1], ";") if members else []
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, _, raw = part.partition("=")
        text = raw.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = text or "?1"  # a bare parameter is Boolean true
    return params


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    pieces.append("".join(current).strip())
    return [piece for piece in pieces if piece]


def _classify_response(
    status: int,
    lowered: Mapping[str, str],
    body: bytes,
    expect: BodyKind,
    rules: SourceRules,
    now: datetime | None,
) -> Classified:
    """`lowered`: the headers, every name lower-case."""
    retry_after = parse_retry_after(lowered.get("retry-after"), now)
    if rules.quota_remaining_header and status in (401, 403, 429):
        remaining = lowered.get(rules.quota_remaining_header.lower())
        if remaining is not None and remaining.strip() in ("0", "0.0"):
            return Classified(Outcome.AUTH, f"HTTP {status} with quota exhausted", status=status)
    if status in rules.status_overrides:
        return Classified(rules.status_overrides[status], f"HTTP {status} (source rule)", retry_after, status)
    if status == 204:
        return Classified(Outcome.NO_DATA, "HTTP 204 No Content", status=status)
    if 200 <= status < 300:
        return _classify_body(lowered, body, expect, status)
    if status == 429:
        return Classified(Outcome.RATE_LIMITED, "HTTP 429", retry_after, status)
    if status == 407:
        return Classified(
            Outcome.PROXY, "HTTP 407 proxy authentication required", status=status, opens_circuit=True
        )
    if status == 401:
        return Classified(Outcome.AUTH, "HTTP 401", status=status)
    if status == 403:
        return Classified(Outcome.BLOCKED, "HTTP 403", status=status)
    if status in (404, 410):
        return Classified(Outcome.NOT_FOUND, f"HTTP {status}", status=status)
    if status >= 500:
        return Classified(Outcome.TRANSIENT, f"HTTP {status}", retry_after, status)
    return Classified(Outcome.STRUCTURAL, f"unexpected HTTP {status}", status=status)


def _classify_body(headers: Mapping[str, str], body: bytes, expect: BodyKind, status: int) -> Classified:
    """The verdict on a 2xx answer's body; `status` goes into it (built once, per attempt)."""
    if not body or body.isspace():  # (body.strip() would copy the whole body, megabytes at times)
        return Classified(Outcome.TRANSIENT, "empty body", status=status)
    head = body[:SNIFF_BYTES]
    # Where JSON is expected the body decides, not its label: upstreams serve JSON as text/html or
    # text/plain, and no page starts with "{" or "[". Decoding then decides whether it is valid.
    looks_html = _looks_html(headers, head) and not (expect is BodyKind.JSON and _starts_like_json(head))
    if expect is BodyKind.PDF and head.lstrip()[:5] == b"%PDF-":
        return Classified(Outcome.OK, "PDF document", status=status)
    # Any HTML is sniffed for challenge pages, also where HTML is expected (a roster or box-score
    # page): a block page must move the request to the next proxy, not reach the parser. Where a
    # PDF is expected, any non-PDF body is sniffed, HTML-labelled or not: the old platform met
    # region-block bodies ("not accessible in this region") on the injury-report PDF host, and
    # nothing promises such a body is served as text/html.
    if looks_html or expect is BodyKind.PDF:
        text = head.decode("utf-8", errors="replace").lower()
        marker = next((m for m in BLOCK_MARKERS if m in text), None)
        if marker:
            return Classified(Outcome.BLOCKED, f"challenge or block page ('{marker}')", status=status)
    if expect is BodyKind.HTML:
        return (
            Classified(Outcome.OK, "HTML page", status=status)
            if looks_html
            else Classified(Outcome.STRUCTURAL, "expected an HTML page", status=status)
        )
    if looks_html:
        return Classified(Outcome.STRUCTURAL, f"expected {expect.value}, got an HTML page", status=status)
    if expect is BodyKind.PDF:
        return Classified(Outcome.STRUCTURAL, "expected a PDF, the body has no %PDF header", status=status)
    return Classified(Outcome.OK, "JSON body", status=status)


def _looks_html(headers: Mapping[str, str], head: bytes) -> bool:
    if "html" in headers.get("content-type", "").lower():
        return True
    start = head.removeprefix(_UTF8_BOM).lstrip()[:15].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _starts_like_json(head: bytes) -> bool:
    """Past a UTF-8 byte-order mark and whitespace, the body opens an object or an array."""
    return head.removeprefix(_UTF8_BOM).lstrip()[:1] in (b"{", b"[")


def classify_exception(
    exc: BaseException, rules: SourceRules = DEFAULT_RULES, leg: Leg | None = None
) -> Classified:
    """`leg`: where the attempt through a proxy was when it failed (None: direct)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ProxyError):
        # httpcore's message is the CONNECT answer's status line, e.g. "407 Proxy Authentication
        # Required": a refused tunnel. 407 means our credentials: no retry through it can help.
        return Classified(
            Outcome.PROXY, f"proxy refused the tunnel ({exc})", opens_circuit=str(exc).startswith("407")
        )
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        if leg is not None:
            return Classified(Outcome.PROXY, f"cannot reach the proxy ({name})")
        return Classified(Outcome.TRANSIENT, f"connection failed ({name})")
    if isinstance(exc, httpx.ReadTimeout):
        return _no_answer("read timeout", rules, leg)
    if (
        isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError | httpx.WriteTimeout)
        and leg is not None
    ):
        where = "while asking the proxy for a tunnel" if leg is Leg.CONNECT else "through the proxy"
        return Classified(Outcome.PROXY, f"connection reset or closed {where} ({name})")
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


def classify_overrun(
    seconds: float, rules: SourceRules = DEFAULT_RULES, leg: Leg | None = None
) -> Classified:
    """The attempt's total time ran out before the whole response arrived.

    httpx's read timeout restarts at every byte, so an upstream dripping a byte a second never
    trips it; this verdict is the total deadline's, and it means what a hang means on that leg.
    """
    return _no_answer(f"no complete answer within {seconds:.3g}s", rules, leg)


def _no_answer(what: str, rules: SourceRules, leg: Leg | None) -> Classified:
    """A hang: the proxy's while it has not given us a tunnel, else the host's block where the
    host blocks by hanging, else the proxy's through a proxy and `transient` direct."""
    if leg is Leg.CONNECT:
        return Classified(Outcome.PROXY, f"{what}: the proxy did not answer CONNECT", hung=True)
    if rules.hang_means_blocked:
        return Classified(Outcome.BLOCKED, f"{what}: this host blocks by hanging", hung=True)
    if leg is not None:
        return Classified(Outcome.PROXY, f"{what} through the proxy", hung=True)
    return Classified(Outcome.TRANSIENT, what, hung=True)


def classify_presumed_hung(seconds: float, leg: Leg) -> Classified:
    """A proxied attempt cut after `seconds` without an answer, well short of its timeout, because
    the host answers through this tier much sooner (proxy/answer_times.py). The proxy's fault like
    any hang through it (this never applies where a hang is the host's block), but cheap."""
    where = "the proxy did not answer CONNECT" if leg is Leg.CONNECT else "through the proxy"
    return Classified(
        Outcome.PROXY, f"no answer within {seconds:.3g}s {where}, presumed hung", presumed_hung=True
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
