"""One logical request through the core: secrets, upstream override, classification, attempts."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from scrapers.core.errors import ReplayMissError, ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.redact import Redactor
from scrapers.http.attempts import Attempt, AttemptLog
from scrapers.http.classify import classify_exception, classify_response
from scrapers.http.decode import to_page
from scrapers.http.policy import SourcePolicy
from scrapers.http.request import Page, Request

DIRECT_TIER = "direct"


class Fetcher:
    """Owns the HTTP client for a process; scrapers never see it."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        redactor: Redactor | None = None,
        upstream_overrides: Mapping[str, str] | None = None,
        require_secrets: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.overrides = {k.rstrip("/"): v.rstrip("/") for k, v in (upstream_overrides or {}).items()}
        self.require_secrets = require_secrets
        self.environ = os.environ if environ is None else environ
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=True)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, request: Request, policy: SourcePolicy, log: AttemptLog, deadline: float) -> Page:
        """Fetch, classify and decode; raise ScrapeError carrying the outcome class on failure."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ScrapeError(Outcome.TRANSIENT, f"job deadline reached before {request.describe()}")
        outgoing = self._build(request, min(policy.timeout_seconds, remaining))
        started = time.monotonic()
        try:
            response = await self._client.send(outgoing)
        except ReplayMissError:
            raise
        except httpx.HTTPError as exc:
            verdict = classify_exception(exc, policy.rules, via_proxy=False)
            log.add(
                Attempt(
                    request.host,
                    DIRECT_TIER,
                    verdict.outcome,
                    None,
                    verdict.reason,
                    time.monotonic() - started,
                )
            )
            raise ScrapeError(verdict.outcome, f"{verdict.reason} for {request.describe()}") from None
        verdict = classify_response(
            response.status_code, response.headers, response.content, request.expect, policy.rules
        )
        log.add(
            Attempt(
                request.host,
                DIRECT_TIER,
                verdict.outcome,
                response.status_code,
                verdict.reason,
                time.monotonic() - started,
            )
        )
        return to_page(request, response.status_code, response.headers, response.content, verdict=verdict)

    def _build(self, request: Request, timeout: float) -> httpx.Request:
        headers = dict(request.headers)
        params = list(request.params)
        for secret in request.secrets:
            value = self.environ.get(secret.env)
            if not value:
                if self.require_secrets:
                    raise ScrapeError(Outcome.AUTH, f"environment variable {secret.env} is not set")
                continue
            self.redactor.add(value)
            filled = secret.template.format(value)
            if secret.header:
                headers[secret.header] = filled
            elif secret.query:
                params.append((secret.query, filled))
        outgoing = self._client.build_request(
            request.method, self._override(request.url), params=params, headers=headers, content=request.body
        )
        outgoing.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        return outgoing

    def _override(self, url: str) -> str:
        """Point an upstream base URL elsewhere (a simulator, a staging mirror) without code changes."""
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        replacement = self.overrides.get(base)
        if replacement is None:
            return url
        new = urlsplit(replacement)
        return urlunsplit(
            (new.scheme, new.netloc, new.path.rstrip("/") + parts.path, parts.query, parts.fragment)
        )
