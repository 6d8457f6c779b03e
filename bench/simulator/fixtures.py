"""The project's recorded exchanges (tests/fixtures), indexed by host, path and query.

Matching follows the replay transport (scrapers/http/replay.py): the query as a sorted multiset,
secret parameters (apiKey, ...) ignored, the scheme ignored (the simulator is plain HTTP). A
request with no recording is a real 404, which is how scenarios model data that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from scrapers.http.replay import SECRET_QUERY_PARAMS

NOT_FOUND_BODY = b'{"error": "not found"}'


@dataclass(frozen=True)
class Fixture:
    status: int
    headers: Mapping[str, str]
    body: bytes


def request_key(host: str, path: str, query: str) -> str:
    pairs = sorted(
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if name.lower() not in SECRET_QUERY_PARAMS
    )
    return f"{host}{path}?{urlencode(pairs)}"


class FixtureIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fixtures: dict[str, Fixture] = {}
        self.hosts: set[str] = set()
        for exchange_file in sorted(directory.rglob("*.exchange.json")):
            exchange = json.loads(exchange_file.read_text(encoding="utf-8"))
            request, response = exchange["request"], exchange["response"]
            if request.get("method", "GET").upper() != "GET" or request.get("body_sha256"):
                continue  # the scrapers only GET; nothing to serve for anything else
            parts = urlsplit(request["url"])
            host = parts.hostname or ""
            self.hosts.add(host)
            self._fixtures[request_key(host, parts.path, parts.query)] = Fixture(
                status=int(response["status"]),
                headers={k.lower(): str(v) for k, v in response.get("headers", {}).items()},
                body=(exchange_file.parent / response["body_file"]).read_bytes(),
            )

    def lookup(self, host: str, path: str, query: str) -> Fixture | None:
        return self._fixtures.get(request_key(host, path, query))

    def answer(self, host: str, path: str, query: str) -> Fixture:
        found = self.lookup(host, path, query)
        if found is not None:
            return found
        return Fixture(404, {"content-type": "application/json"}, NOT_FOUND_BODY)


class FixtureTransport(httpx.AsyncBaseTransport):
    """The fault-free upstream, in process: what the simulator would answer with no faults at all."""

    def __init__(self, index: FixtureIndex) -> None:
        self.index = index
        self.hosts: list[str] = []  # hosts asked, in order (the oracle reads which hosts a job uses)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.hosts.append(host)
        fixture = self.index.answer(host, request.url.path, request.url.query.decode("ascii"))
        return httpx.Response(fixture.status, headers=dict(fixture.headers), content=fixture.body)
