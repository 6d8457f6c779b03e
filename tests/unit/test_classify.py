"""The outcome taxonomy (DESIGN.md) as tables: one row per signal and per source rule."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpcore
import httpx
import pytest

from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind
from scrapers.http.classify import (
    DEFAULT_RULES,
    SNIFF_BYTES,
    Leg,
    SourceRules,
    TunnelTrace,
    classify_exception,
    classify_overrun,
    classify_response,
    parse_retry_after,
    proxy_error,
)

NOW = datetime(2024, 1, 15, 12, 0, 0, tzinfo=UTC)
IN_30S = email.utils.format_datetime(
    NOW + timedelta(seconds=30), usegmt=True
)  # Mon, 15 Jan 2024 12:00:30 GMT

JSON_CT = {"Content-Type": "application/json; charset=utf-8"}
HTML_CT = {"Content-Type": "text/html; charset=UTF-8"}
PDF_CT = {"Content-Type": "application/pdf"}
JSON = BodyKind.JSON
HTML = BodyKind.HTML
PDF = BodyKind.PDF

PDF_BODY = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
CLOUDFLARE_CHALLENGE = (
    b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title>"
    b"<meta http-equiv='refresh' content='390'></head><body><div class='main-wrapper'>"
    b"<noscript>Enable JavaScript and cookies to continue</noscript>"
    b"<script>(function(){window._cf_chl_opt={cvId:'3'};var a=document.createElement('script');"
    b"a.src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=84f1&__cf_chl_tk=abc';"
    b"})();</script></div></body></html>"
)
AKAMAI_DENIED = (
    b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
    b'You don\'t have permission to access "http&#58;&#47;&#47;stats&#46;nba&#46;com&#47;" on this server.'
    b"<P>\nReference&#32;&#35;18&#46;5d3e1402&#46;1705320000&#46;1a2b3c\n</BODY>\n</HTML>\n"
)
REGION_PAGE = (
    b"<html><head><title>NBA.com</title></head><body>"
    b"<p>This content is not accessible in this region.</p></body></html>"
)
PLAIN_HTML = b"<!doctype html><html><head><title>NBA Stats</title></head><body><h1>Stats</h1></body></html>"

QUOTA = SourceRules(quota_remaining_header="x-requests-remaining")
CDN_BURST = SourceRules(status_overrides={403: Outcome.RATE_LIMITED, 400: Outcome.NOT_FOUND})
HANGS = SourceRules(hang_means_blocked=True)


def _row(
    case_id: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    expect: BodyKind,
    outcome: Outcome,
    retry_after: float | None = None,
    rules: SourceRules = DEFAULT_RULES,
) -> object:
    return pytest.param(status, headers, body, expect, rules, outcome, retry_after, id=case_id)


RESPONSE_ROWS = [
    # ok / no_data
    _row("200 json object ok", 200, JSON_CT, b'{"games": []}', JSON, Outcome.OK),
    _row("200 json list ok", 200, JSON_CT, b"[]", JSON, Outcome.OK),
    _row("200 json, no content-type ok", 200, {}, b' \n{"resultSets": []}', JSON, Outcome.OK),
    _row("201 json ok", 201, JSON_CT, b'{"id": 1}', JSON, Outcome.OK),
    _row("204 no_data", 204, {}, b"", JSON, Outcome.NO_DATA),
    _row("204 no_data where a PDF was expected", 204, {}, b"", PDF, Outcome.NO_DATA),
    # an empty 200 is not a positive sign of no data: retry it
    _row("200 empty body", 200, JSON_CT, b"", JSON, Outcome.TRANSIENT),
    _row("200 whitespace body", 200, JSON_CT, b" \r\n\t", JSON, Outcome.TRANSIENT),
    _row("200 zero-byte PDF", 200, PDF_CT, b"", PDF, Outcome.TRANSIENT),
    # challenge / WAF / region pages where JSON was expected
    _row("cloudflare challenge", 200, HTML_CT, CLOUDFLARE_CHALLENGE, JSON, Outcome.BLOCKED),
    _row(
        "__cf_chl marker alone",
        200,
        HTML_CT,
        b"<html><script>__cf_chl_rt_tk</script></html>",
        JSON,
        Outcome.BLOCKED,
    ),
    _row(
        "checking your browser",
        200,
        HTML_CT,
        b"<html><h1>Checking your browser before accessing</h1>",
        JSON,
        Outcome.BLOCKED,
    ),
    _row(
        "please enable javascript",
        200,
        HTML_CT,
        b"<html>Please enable JavaScript to view the page",
        JSON,
        Outcome.BLOCKED,
    ),
    _row(
        "challenge-form", 200, HTML_CT, b'<html><form id="challenge-form" action="/">', JSON, Outcome.BLOCKED
    ),
    _row("captcha", 200, HTML_CT, b"<html><div class='g-recaptcha'></div></html>", JSON, Outcome.BLOCKED),
    _row(
        "cloudflare ray id",
        200,
        HTML_CT,
        b"<html><p>Cloudflare Ray ID: 84f1c2d3e4</p></html>",
        JSON,
        Outcome.BLOCKED,
    ),
    _row(
        "akamai access denied, upper case",
        200,
        {"Content-Type": "text/html"},
        AKAMAI_DENIED,
        JSON,
        Outcome.BLOCKED,
    ),
    _row("region page", 200, HTML_CT, REGION_PAGE, JSON, Outcome.BLOCKED),
    _row(
        "html sniffed without content-type",
        200,
        {},
        b"\n  <!DOCTYPE HTML><p>Access denied</p>",
        JSON,
        Outcome.BLOCKED,
    ),
    _row(
        "lower-case content-type header",
        200,
        {"content-type": "text/html"},
        b"<p>DDoS protection by</p>",
        JSON,
        Outcome.BLOCKED,
    ),
    # challenge pages where a PDF was expected
    _row("region page for a PDF", 200, HTML_CT, REGION_PAGE, PDF, Outcome.BLOCKED),
    _row("cloudflare challenge for a PDF", 200, HTML_CT, CLOUDFLARE_CHALLENGE, PDF, Outcome.BLOCKED),
    _row(
        "plain-text region block for a PDF",
        200,
        {"Content-Type": "text/plain"},
        b"Sorry, this content is not accessible in this region.",
        PDF,
        Outcome.BLOCKED,
    ),
    # HTML that is not a challenge: the endpoint changed
    _row("plain HTML where JSON expected", 200, HTML_CT, PLAIN_HTML, JSON, Outcome.STRUCTURAL),
    _row("plain HTML where a PDF expected", 200, HTML_CT, PLAIN_HTML, PDF, Outcome.STRUCTURAL),
    _row(
        "marker past the sniff window",
        200,
        HTML_CT,
        b"<html>" + b" " * SNIFF_BYTES + b"captcha",
        JSON,
        Outcome.STRUCTURAL,
    ),
    # PDFs
    _row("PDF ok", 200, PDF_CT, PDF_BODY, PDF, Outcome.OK),
    _row(
        "PDF ok with a generic content-type",
        200,
        {"Content-Type": "application/octet-stream"},
        PDF_BODY,
        PDF,
        Outcome.OK,
    ),
    _row("PDF ok after leading whitespace", 200, PDF_CT, b"\r\n" + PDF_BODY, PDF, Outcome.OK),
    _row("JSON error where a PDF expected", 200, JSON_CT, b'{"error": "not found"}', PDF, Outcome.STRUCTURAL),
    _row(
        "zip where a PDF expected",
        200,
        {"Content-Type": "application/zip"},
        b"PK\x03\x04\x14\x00",
        PDF,
        Outcome.STRUCTURAL,
    ),
    _row("'%PDF' without the dash", 200, PDF_CT, b"%PDF1.7 broken", PDF, Outcome.STRUCTURAL),
    # HTML expected
    _row("HTML ok", 200, HTML_CT, PLAIN_HTML, HTML, Outcome.OK),
    _row(
        "HTML ok sniffed without content-type",
        200,
        {},
        b"<html><body>box score</body></html>",
        HTML,
        Outcome.OK,
    ),
    _row("JSON where HTML expected", 200, JSON_CT, b'{"error": "moved"}', HTML, Outcome.STRUCTURAL),
    # A challenge page where a page is expected must move on to the next proxy, not reach the parser.
    _row(
        "challenge page where HTML expected",
        200,
        HTML_CT,
        b"<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
        HTML,
        Outcome.BLOCKED,
    ),
    # status codes
    _row("401 auth", 401, JSON_CT, b'{"message": "Invalid API key"}', JSON, Outcome.AUTH),
    _row("403 blocked", 403, HTML_CT, AKAMAI_DENIED, JSON, Outcome.BLOCKED),
    _row("403 blocked, empty body", 403, {}, b"", PDF, Outcome.BLOCKED),
    _row("404 not_found", 404, JSON_CT, b'{"message": "not found"}', JSON, Outcome.NOT_FOUND),
    _row("410 not_found", 410, {}, b"", JSON, Outcome.NOT_FOUND),
    _row("407 proxy", 407, {"Proxy-Authenticate": 'Basic realm="proxy"'}, b"", JSON, Outcome.PROXY),
    _row("429 without Retry-After", 429, {}, b"", JSON, Outcome.RATE_LIMITED, None),
    _row("429 Retry-After seconds", 429, {"Retry-After": "5"}, b"", JSON, Outcome.RATE_LIMITED, 5.0),
    _row("429 retry-after lower-case", 429, {"retry-after": "7"}, b"", JSON, Outcome.RATE_LIMITED, 7.0),
    _row("429 Retry-After HTTP-date", 429, {"Retry-After": IN_30S}, b"", JSON, Outcome.RATE_LIMITED, 30.0),
    _row("429 Retry-After 0", 429, {"Retry-After": "0"}, b"", JSON, Outcome.RATE_LIMITED, None),
    _row("500 transient", 500, HTML_CT, PLAIN_HTML, JSON, Outcome.TRANSIENT),
    _row("502 transient", 502, {}, b"Bad Gateway", JSON, Outcome.TRANSIENT),
    _row("503 transient keeps Retry-After", 503, {"Retry-After": "120"}, b"", JSON, Outcome.TRANSIENT, 120.0),
    _row("504 transient", 504, {}, b"", PDF, Outcome.TRANSIENT),
    _row("400 structural", 400, JSON_CT, b'{"message": "GameDate is required"}', JSON, Outcome.STRUCTURAL),
    _row("422 structural", 422, JSON_CT, b'{"detail": "bad"}', JSON, Outcome.STRUCTURAL),
    _row(
        "301 structural: the endpoint moved",
        301,
        {"Location": "https://x.invalid/"},
        b"",
        JSON,
        Outcome.STRUCTURAL,
    ),
    # source rules: status overrides
    _row("override 403 -> rate_limited", 403, {}, b"", JSON, Outcome.RATE_LIMITED, rules=CDN_BURST),
    _row(
        "override keeps Retry-After",
        403,
        {"Retry-After": "10"},
        b"",
        JSON,
        Outcome.RATE_LIMITED,
        10.0,
        rules=CDN_BURST,
    ),
    _row("override 400 -> not_found", 400, {}, b"", JSON, Outcome.NOT_FOUND, rules=CDN_BURST),
    _row("override leaves other statuses alone", 404, {}, b"", JSON, Outcome.NOT_FOUND, rules=CDN_BURST),
    _row("override leaves 2xx alone", 200, JSON_CT, b"{}", JSON, Outcome.OK, rules=CDN_BURST),
    # source rules: quota header
    _row("401 quota spent -> auth", 401, {"x-requests-remaining": "0"}, b"", JSON, Outcome.AUTH, rules=QUOTA),
    _row("429 quota spent -> auth", 429, {"X-Requests-Remaining": "0"}, b"", JSON, Outcome.AUTH, rules=QUOTA),
    _row(
        "429 quota '0.0' -> auth",
        429,
        {"x-requests-remaining": " 0.0 "},
        b"",
        JSON,
        Outcome.AUTH,
        rules=QUOTA,
    ),
    _row(
        "429 quota left -> rate_limited",
        429,
        {"x-requests-remaining": "12"},
        b"",
        JSON,
        Outcome.RATE_LIMITED,
        rules=QUOTA,
    ),
    _row("429 no quota header -> rate_limited", 429, {}, b"", JSON, Outcome.RATE_LIMITED, rules=QUOTA),
    _row(
        "200 spending the last unit is ok",
        200,
        {"x-requests-remaining": "0", **JSON_CT},
        b"[]",
        JSON,
        Outcome.OK,
        rules=QUOTA,
    ),
    _row(
        "500 with quota 0 stays transient",
        500,
        {"x-requests-remaining": "0"},
        b"",
        JSON,
        Outcome.TRANSIENT,
        rules=QUOTA,
    ),
    _row(
        "quota header ignored without the rule",
        429,
        {"x-requests-remaining": "0"},
        b"",
        JSON,
        Outcome.RATE_LIMITED,
    ),
    _row(
        "quota beats a status override",
        429,
        {"x-requests-remaining": "0"},
        b"",
        JSON,
        Outcome.AUTH,
        rules=SourceRules(
            quota_remaining_header="x-requests-remaining", status_overrides={429: Outcome.TRANSIENT}
        ),
    ),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "expect", "rules", "outcome", "retry_after"), RESPONSE_ROWS
)
def test_classify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    expect: BodyKind,
    rules: SourceRules,
    outcome: Outcome,
    retry_after: float | None,
) -> None:
    verdict = classify_response(status, headers, body, expect, rules, now=NOW)

    assert verdict.outcome is outcome, verdict.reason
    assert verdict.retry_after == retry_after
    assert verdict.reason


@pytest.mark.parametrize(
    ("body", "marker"),
    [
        pytest.param(CLOUDFLARE_CHALLENGE, "__cf_chl", id="cloudflare"),
        pytest.param(AKAMAI_DENIED, "access denied", id="akamai"),
        pytest.param(REGION_PAGE, "not accessible in this region", id="region"),
    ],
)
def test_block_reason_names_the_marker(body: bytes, marker: str) -> None:
    verdict = classify_response(200, HTML_CT, body, JSON)

    assert verdict.outcome is Outcome.BLOCKED
    assert marker in verdict.reason


def _request() -> httpx.Request:
    return httpx.Request("GET", "https://stats.nba.com/stats/scoreboardV2")


FORWARD, CONNECT, TUNNEL = Leg.FORWARD, Leg.CONNECT, Leg.TUNNEL

EXCEPTION_ROWS = [
    # (exception, rules, leg: None direct, else where the attempt through a proxy was; outcome)
    pytest.param(
        httpx.ProxyError("407 Proxy Authentication Required"),
        DEFAULT_RULES,
        CONNECT,
        Outcome.PROXY,
        id="proxy error",
    ),
    pytest.param(
        httpx.ProxyError("tunnel failed"), DEFAULT_RULES, None, Outcome.PROXY, id="proxy error, no leg"
    ),
    pytest.param(
        httpx.ConnectError("refused", request=_request()),
        DEFAULT_RULES,
        None,
        Outcome.TRANSIENT,
        id="connect error direct",
    ),
    pytest.param(
        httpx.ConnectError("refused"), DEFAULT_RULES, FORWARD, Outcome.PROXY, id="connect error via proxy"
    ),
    pytest.param(
        httpx.ConnectTimeout("timed out"), DEFAULT_RULES, None, Outcome.TRANSIENT, id="connect timeout direct"
    ),
    pytest.param(
        httpx.ConnectTimeout("timed out"),
        DEFAULT_RULES,
        CONNECT,
        Outcome.PROXY,
        id="connect timeout via proxy",
    ),
    pytest.param(
        httpx.ConnectTimeout("timed out"), HANGS, None, Outcome.TRANSIENT, id="hang rule is about reads only"
    ),
    pytest.param(httpx.ReadTimeout("timed out"), DEFAULT_RULES, None, Outcome.TRANSIENT, id="read timeout"),
    # The issue-20 fault: a proxy that hangs was `transient`, retried on the same proxy.
    pytest.param(
        httpx.ReadTimeout("timed out"), DEFAULT_RULES, FORWARD, Outcome.PROXY, id="read timeout via proxy"
    ),
    pytest.param(
        httpx.ReadTimeout("timed out"),
        DEFAULT_RULES,
        CONNECT,
        Outcome.PROXY,
        id="proxy never answers CONNECT",
    ),
    pytest.param(
        httpx.ReadTimeout("timed out"), DEFAULT_RULES, TUNNEL, Outcome.PROXY, id="read timeout in the tunnel"
    ),
    pytest.param(
        httpx.ReadTimeout("timed out"), HANGS, None, Outcome.BLOCKED, id="read timeout on a hanging host"
    ),
    pytest.param(
        httpx.ReadTimeout("timed out"),
        HANGS,
        FORWARD,
        Outcome.BLOCKED,
        id="read timeout on a hanging host via proxy",
    ),
    pytest.param(
        httpx.ReadTimeout("timed out"),
        HANGS,
        TUNNEL,
        Outcome.BLOCKED,
        id="hanging host behind an open tunnel",
    ),
    pytest.param(
        httpx.ReadTimeout("timed out"),
        HANGS,
        CONNECT,
        Outcome.PROXY,
        id="a hang before the tunnel is the proxy's",
    ),
    pytest.param(
        httpx.RemoteProtocolError("peer closed"),
        DEFAULT_RULES,
        None,
        Outcome.TRANSIENT,
        id="remote protocol error",
    ),
    pytest.param(
        httpx.RemoteProtocolError("peer closed"),
        DEFAULT_RULES,
        FORWARD,
        Outcome.PROXY,
        id="closed by the proxy",
    ),
    pytest.param(
        httpx.ReadError("connection reset"), DEFAULT_RULES, None, Outcome.TRANSIENT, id="read error"
    ),
    pytest.param(
        httpx.ReadError("connection reset"), DEFAULT_RULES, FORWARD, Outcome.PROXY, id="reset by the proxy"
    ),
    pytest.param(
        httpx.ReadError("connection reset"),
        HANGS,
        TUNNEL,
        Outcome.PROXY,
        id="a reset is not a hang, via proxy",
    ),
    pytest.param(
        httpx.ReadError("connection reset"), HANGS, None, Outcome.TRANSIENT, id="reset is not a hang"
    ),
    pytest.param(httpx.WriteTimeout("timed out"), DEFAULT_RULES, None, Outcome.TRANSIENT, id="write timeout"),
    pytest.param(
        httpx.WriteTimeout("timed out"),
        DEFAULT_RULES,
        CONNECT,
        Outcome.PROXY,
        id="write timeout to the proxy",
    ),
    pytest.param(httpx.PoolTimeout("timed out"), DEFAULT_RULES, None, Outcome.TRANSIENT, id="pool timeout"),
    pytest.param(
        httpx.PoolTimeout("timed out"), DEFAULT_RULES, FORWARD, Outcome.TRANSIENT, id="pool timeout is ours"
    ),
    pytest.param(
        httpx.DecodingError("bad gzip"), DEFAULT_RULES, None, Outcome.TRANSIENT, id="decoding error"
    ),
]


@pytest.mark.parametrize(("exc", "rules", "leg", "outcome"), EXCEPTION_ROWS)
def test_classify_exception(
    exc: BaseException, rules: SourceRules, leg: Leg | None, outcome: Outcome
) -> None:
    verdict = classify_exception(exc, rules, leg=leg)

    assert verdict.outcome is outcome, verdict.reason
    assert verdict.reason
    assert verdict.retry_after is None


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(KeyError("gameId"), id="KeyError"),
        pytest.param(ValueError("bad"), id="ValueError"),
        pytest.param(TimeoutError(), id="builtin TimeoutError"),
        pytest.param(
            httpx.HTTPStatusError(
                "500", request=_request(), response=httpx.Response(500, request=_request())
            ),
            id="HTTPStatusError: statuses go through classify_response",
        ),
    ],
)
def test_classify_exception_refuses_non_http_failures(exc: BaseException) -> None:
    with pytest.raises(TypeError, match=type(exc).__name__) as caught:
        classify_exception(exc)

    assert caught.value.__cause__ is exc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("5", 5.0, id="seconds"),
        pytest.param(" 5 ", 5.0, id="padded seconds"),
        pytest.param("1.5", 1.5, id="fractional seconds"),
        pytest.param("0", None, id="zero"),
        pytest.param("-3", None, id="negative"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
        pytest.param("inf", None, id="infinity"),
        pytest.param("nan", None, id="nan"),
        pytest.param(IN_30S, 30.0, id="HTTP-date 30 s ahead"),
        pytest.param("Mon, 15 Jan 2024 12:00:30 -0000", 30.0, id="HTTP-date with -0000 (naive) is UTC"),
        pytest.param("Mon, 15 Jan 2024 07:00:30 -0500", 30.0, id="HTTP-date with an offset"),
        pytest.param("Mon, 15 Jan 2024 11:59:00 GMT", None, id="HTTP-date in the past"),
        pytest.param("Mon, 15 Jan 2024 12:00:00 GMT", None, id="HTTP-date now"),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_defaults_to_the_wall_clock() -> None:
    ahead = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)

    seconds = parse_retry_after(ahead)

    assert seconds is not None
    assert 3500 < seconds <= 3600


# --- whose fault: the proxy's or the origin's (module docstring of scrapers/http/classify.py) ----------


def test_only_a_407_on_connect_opens_the_circuit_at_once() -> None:
    assert classify_exception(
        httpx.ProxyError("407 Proxy Authentication Required"), leg=CONNECT
    ).opens_circuit
    assert not classify_exception(httpx.ProxyError("502 Bad Gateway"), leg=CONNECT).opens_circuit
    assert not classify_exception(httpx.ReadTimeout("timed out"), leg=FORWARD).opens_circuit
    assert classify_response(407, {}, b"", JSON, leg=FORWARD).opens_circuit


@pytest.mark.parametrize(
    ("rules", "leg", "outcome"),
    [
        pytest.param(DEFAULT_RULES, None, Outcome.TRANSIENT, id="direct"),
        pytest.param(DEFAULT_RULES, FORWARD, Outcome.PROXY, id="through a forward proxy"),
        pytest.param(DEFAULT_RULES, CONNECT, Outcome.PROXY, id="CONNECT never answered"),
        pytest.param(HANGS, TUNNEL, Outcome.BLOCKED, id="hanging host behind the tunnel"),
        pytest.param(HANGS, CONNECT, Outcome.PROXY, id="hanging proxy before the tunnel"),
    ],
)
def test_an_overrun_is_judged_like_a_hang_on_its_leg(
    rules: SourceRules, leg: Leg | None, outcome: Outcome
) -> None:
    assert classify_overrun(2.0, rules, leg=leg).outcome is outcome


OWN_502_ROWS = [
    # (headers of a 502 in forward mode, extra marks, outcome)
    pytest.param({}, (), Outcome.TRANSIENT, id="bare 502: the origin's"),
    pytest.param(
        {"Proxy-Status": "dc-1; error=destination_unavailable"}, (), Outcome.PROXY, id="RFC 9209 error"
    ),
    pytest.param({"Proxy-Status": "dc-1; received-status=502"}, (), Outcome.TRANSIENT, id="RFC 9209 relayed"),
    pytest.param(
        # The origin's CDN wrote the error (first member); our proxy (last) relayed it.
        {"Proxy-Status": 'cdn.example; error=connection_timeout, "dc-1"; received-status=502'},
        (),
        Outcome.TRANSIENT,
        id="the nearest member decides",
    ),
    pytest.param(
        {"Proxy-Status": 'dc-1; details="a, b; c=d"; error=dns_timeout'},
        (),
        Outcome.PROXY,
        id="quoted details with separators",
    ),
    pytest.param({"X-Squid-Error": "ERR_CONNECT_FAIL 111"}, (), Outcome.PROXY, id="squid error page"),
    pytest.param({"x-brd-error": "Remote host not reachable"}, (), Outcome.PROXY, id="bright data"),
    pytest.param({"X-Proxy-Error": "pool empty"}, (), Outcome.TRANSIENT, id="unknown header, not configured"),
    pytest.param({"X-Proxy-Error": "pool empty"}, ("x-proxy-error",), Outcome.PROXY, id="configured header"),
]


@pytest.mark.parametrize(("headers", "marks", "outcome"), OWN_502_ROWS)
def test_a_forward_proxy_s_own_502_is_told_from_the_origin_s(
    headers: dict[str, str], marks: tuple[str, ...], outcome: Outcome
) -> None:
    verdict = classify_response(502, headers, b"Bad Gateway", JSON, leg=FORWARD, proxy_marks=marks)

    assert verdict.outcome is outcome, verdict.reason
    assert verdict.status == 502


def test_proxy_marks_count_only_where_the_proxy_could_have_written_the_answer() -> None:
    marked = {"Proxy-Status": "dc-1; error=destination_unavailable", **JSON_CT}
    # Behind a CONNECT tunnel TLS runs end to end: such a header is the origin's own.
    assert classify_response(502, marked, b"", JSON, leg=TUNNEL).outcome is Outcome.TRANSIENT
    assert classify_response(502, marked, b"", JSON).outcome is Outcome.TRANSIENT
    # A clean answer is a clean answer, whatever a proxy added to it.
    assert classify_response(200, marked, b'{"ok": 1}', JSON, leg=FORWARD).outcome is Outcome.OK
    # The proxy's own 403 (it refuses the destination) is no block by the host.
    denied = {"Proxy-Status": "dc-1; error=http_request_denied"}
    verdict = classify_response(403, denied, b"", JSON, leg=FORWARD)
    assert verdict.outcome is Outcome.PROXY
    assert verdict.opens_circuit  # a policy refusal: no retry through this proxy can help


def test_proxy_error_reason_names_the_evidence() -> None:
    assert proxy_error({"Proxy-Status": "p; error=connection_refused"}) == (
        "Proxy-Status error=connection_refused",
        False,
    )
    assert proxy_error({"X-Squid-Error": "ERR_DNS_FAIL 0"}) == ("x-squid-error: ERR_DNS_FAIL 0", False)
    assert proxy_error({"Server": "nginx"}) is None


def test_tunnel_trace_follows_httpcore_from_connect_to_the_tunnel() -> None:
    async def events() -> list[Leg]:
        trace = TunnelTrace()
        seen = [trace.leg]
        # What httpcore hands the trace: its own Request, whose method is bytes.
        connect = httpcore.Request(b"CONNECT", b"http://127.0.0.1:1")
        await trace("connection.connect_tcp.started", {})
        await trace("http11.send_request_headers.started", {"request": connect})
        seen.append(trace.leg)
        await trace("proxy.start_tls.started", {})
        seen.append(trace.leg)
        await trace(
            "http11.send_request_headers.started", {"request": httpcore.Request(b"GET", b"https://h/")}
        )
        seen.append(trace.leg)
        return seen

    assert asyncio.run(events()) == [CONNECT, CONNECT, TUNNEL, TUNNEL]
