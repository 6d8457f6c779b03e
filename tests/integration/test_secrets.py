"""Secrets never leave a run: canary API keys and a canary proxy password through real CLI runs.

Every scenario runs `python -m scrapers --verbose run <scraper> ... --json` as a subprocess against
loopback harness servers: the Upstream stands in for the Odds API, BallDontLie and BettingPros (via
COURTSIDE_UPSTREAMS), a ForwardProxy that demands the canary credentials is the `datacenter` tier.
The canaries exist only in the child's environment. After the run every sink must hold none of them
in any encoding (raw, URL-encoded, base64, and the base64 `user:password` of a Proxy-Authorization
header): stdout, stderr (debug logs of every library, error text, tracebacks), the completion events
file and outbox entries, landed documents, the SQLite state store (with its WAL), and every other byte
the run wrote: the child's working directory, --out and the state store all live in the scenario's
tmp dir, so the whole dir is read. There is no metrics module yet, so there is no metrics output.

The harness proves each secret really was used before it was not leaked: the upstream received the
key where its source sends it, and the proxy received the credentials.

A copy of registry.yaml (COURTSIDE_REGISTRY) changes timing knobs only (timeouts, back-off, rates,
transient retries), so a hang costs 0.3 s instead of 20 s and BDL's 5 requests a minute do not
apply; tiers, start tiers and classification rules are the production ones.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest
import yaml
from aiohttp import web

from scrapers.cli import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE
from scrapers.core.outcome import Outcome
from tests.conftest import PROJECT_FIXTURES, PROJECT_ROOT
from tests.harness import (
    Behaviour,
    ForwardProxy,
    RecordedRequest,
    Upstream,
    free_port,
    hang,
    respond,
    sequence,
)

pytestmark = pytest.mark.integration

# --- canaries: long, unique, with characters that URL-encode differently (the 407 story) -----------

# Each canary's random tail is searched for on its own too, to catch truncated or partly masked leaks.
TAILS = {
    "odds key": "3f9a1c4b7e20",
    "bdl key": "8d2e6a1f9c43",
    "bettingpros key": "5b7c0e2d4a96",
    "proxy password": "7c41e9d0b5a2",
    "redis password": "2e9d7f1a6b38",
}
ODDS_KEY = f"canary-odds-{TAILS['odds key']}"
BDL_KEY = f"canary-bdl-{TAILS['bdl key']}"
BP_KEY = f"canary-bp-{TAILS['bettingpros key']}"
PROXY_USER = "courtside-dc"  # an account name, not the secret; the password and the pair are
PROXY_PASSWORD = f"canary+proxy/pw~{TAILS['proxy password']}="
REDIS_PASSWORD = f"canary-redis-{TAILS['redis password']}"
PROXY_CREDENTIALS_ENV = "COURTSIDE_TEST_DC_CREDENTIALS"
SECRET_ENVS = {"ODDS_API_KEY": ODDS_KEY, "BDL_API_KEY": BDL_KEY, "BETTINGPROS_API_KEY": BP_KEY}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _needles() -> dict[str, str]:
    """Every form a canary could leak in, named for the failure message."""
    needles: dict[str, str] = {}
    for name, value in {
        "odds key": ODDS_KEY,
        "bdl key": BDL_KEY,
        "bettingpros key": BP_KEY,
        "proxy password": PROXY_PASSWORD,
        "redis password": REDIS_PASSWORD,
    }.items():
        needles[name] = value
        needles[f"{name} (url-encoded)"] = quote(value, safe="")
        needles[f"{name} (form-encoded)"] = quote_plus(value)
        needles[f"{name} (base64)"] = _b64(value)
        needles[f"{name} (tail)"] = TAILS[name]
    pair = f"{PROXY_USER}:{PROXY_PASSWORD}"
    needles["proxy user:password"] = pair
    needles["proxy user:password (url-encoded)"] = (
        f"{quote(PROXY_USER, safe='')}:{quote(PROXY_PASSWORD, safe='')}"
    )
    needles["proxy user:password (base64, Proxy-Authorization)"] = _b64(pair)
    return needles


NEEDLES = _needles()
PROXY_AUTHORIZATION = f"Basic {_b64(f'{PROXY_USER}:{PROXY_PASSWORD}')}"

# --- sources as the fixtures recorded them ----------------------------------------------------------

ODDS_BASE = "https://api.the-odds-api.com"
BDL_BASE = "https://api.balldontlie.io"
BP_BASE = "https://api.bettingpros.com"
ODDS_PATH = "/v4/sports/basketball_nba/events"
BDL_PATH = "/v1/games"
BP_PATH = "/v3/events"
# Guards a deadlock from hanging the test run; a passing scenario takes about half a second.
HANG_GUARD_SECONDS = 60.0
FAST_TIMEOUT = 5.0
HANG_TIMEOUT = 0.3
CONCURRENT_RUNS = 4


@dataclass(frozen=True)
class Job:
    scraper: str
    options: tuple[str, ...]
    path: str
    fixtures: tuple[str, ...]  # tests/fixtures/<source>/<slug>.exchange.json, in request order
    source: str
    key: str
    key_of: Callable[[RecordedRequest], str | None]  # where the source sends its key

    def argv(self) -> list[str]:
        return [self.scraper, *self.options]


ODDS = Job(
    "oddsa_events",
    ("--game_date", "2024-01-15"),
    ODDS_PATH,
    ("oddsa_events-2024-01-15",),
    "oddsapi",
    ODDS_KEY,
    lambda r: r.query.get("apiKey"),
)
BDL = Job(
    "bdl_games",
    ("--startDate", "2024-01-15", "--endDate", "2024-01-15"),
    BDL_PATH,
    ("bdl_games-2024-01-15-page1", "bdl_games-2024-01-15-page2"),
    "bdl",
    BDL_KEY,
    lambda r: r.headers.get("Authorization"),
)
BP = Job(
    "bp_events",
    ("--date", "2024-01-15"),
    BP_PATH,
    ("bp_events-2024-01-15",),
    "bettingpros",
    BP_KEY,
    lambda r: r.headers.get("X-Api-Key"),
)


def _exchange(job: Job, slug: str) -> dict[str, Any]:
    exchange: dict[str, Any] = json.loads(
        (PROJECT_FIXTURES / job.source / f"{slug}.exchange.json").read_text(encoding="utf-8")
    )
    return exchange


def recorded(job: Job) -> Behaviour:
    """The fixtures' responses, one per request in recording order."""
    steps = []
    for slug in job.fixtures:
        response = _exchange(job, slug)["response"]
        body = (PROJECT_FIXTURES / job.source / response["body_file"]).read_bytes()
        steps.append(respond(response["status"], body, response["headers"]))
    return sequence(steps)


def recorded_queries(job: Job) -> list[dict[str, str]]:
    return [dict(parse_qsl(urlsplit(_exchange(job, slug)["request"]["url"]).query)) for slug in job.fixtures]


class Echo(Behaviour):
    """Answers with the request echoed back (URL, query, headers) in the body and in headers, as
    debug-mode APIs and some gateways do. `odds_events` shapes the echo as an Odds API event list
    that fails parsing, so the echo reaches the parser's error message."""

    def __init__(
        self, status: int, headers: Mapping[str, str] | None = None, *, odds_events: bool = False
    ) -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.odds_events = odds_events

    async def handle(self, request: web.BaseRequest, server: object) -> web.StreamResponse:
        echo = {"url": str(request.url), "query": dict(request.query), "headers": dict(request.headers)}
        payload: object = [{"id": request.path_qs, "echo": echo}] if self.odds_events else {"error": echo}
        headers = {
            **self.headers,
            "Content-Type": "application/json",
            "X-Echo-Url": request.path_qs,
            "X-Echo-Headers": json.dumps(dict(request.headers)),
        }
        return web.Response(status=self.status, body=json.dumps(payload).encode(), headers=headers)


class RecordingProxy(ForwardProxy):
    """A ForwardProxy that also keeps the Proxy-Authorization header of every request."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.authorizations: list[str | None] = []

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.authorizations.append(request.headers.get("Proxy-Authorization"))
        return await super().handle(request)


# --- scenarios --------------------------------------------------------------------------------------

ProxyMode = Literal["none", "credentials", "auth_required", "refused", "ftp", "password_only"]


@dataclass(frozen=True)
class Scenario:
    job: Job
    respond: Callable[[Job], Behaviour]
    exit_codes: frozenset[int]  # 1 means the run ended in the CLI's last-resort handler
    proxy: ProxyMode = "none"
    state: Literal["sqlite", "redis_closed", "redis_bad_port"] = "sqlite"
    block_outbox: bool = False  # a file where the outbox folder goes: the completion cannot be written
    timeout: float = FAST_TIMEOUT
    reaches_upstream: bool = True
    # State namespaces the run must have written, so the store scanned for leaks really holds state.
    writes_state: frozenset[str] = frozenset()


def _failed(outcome: Outcome) -> frozenset[int]:
    return frozenset({outcome.exit_code})


LEARNED_RATE = frozenset({"limiter"})
# A block by the host is evidence against the tier; a proxy's own fault only feeds its breaker.
BLOCK = frozenset({"breaker", "tier"})
PROXY_FAULT = frozenset({"breaker"})
OK = frozenset({EXIT_OK})
USAGE = frozenset({EXIT_USAGE})
INTERNAL = frozenset({EXIT_INTERNAL})

SCENARIOS: dict[str, Scenario] = {
    # success: the fixtures' exact requests and bodies
    "success-oddsa-apikey-query": Scenario(ODDS, recorded, OK),
    "success-bdl-authorization-two-pages": Scenario(BDL, recorded, OK),
    "success-bp-x-api-key-via-proxy": Scenario(BP, recorded, OK, proxy="credentials"),
    # failure: the upstream answers an error echoing the request back, or the proxy fails
    "failure-oddsa-401-echo": Scenario(ODDS, lambda _: Echo(401), _failed(Outcome.AUTH)),
    "failure-oddsa-429-echo": Scenario(
        ODDS,
        lambda _: Echo(429, {"Retry-After": "3600"}),
        _failed(Outcome.RATE_LIMITED),
        writes_state=LEARNED_RATE,
    ),
    "failure-oddsa-500-echo": Scenario(ODDS, lambda _: Echo(500), _failed(Outcome.TRANSIENT)),
    "failure-oddsa-200-echo-unparseable": Scenario(
        ODDS, lambda _: Echo(200, odds_events=True), _failed(Outcome.STRUCTURAL)
    ),
    "failure-oddsa-hang": Scenario(ODDS, lambda _: hang(), _failed(Outcome.TRANSIENT), timeout=HANG_TIMEOUT),
    "failure-bdl-401-echo": Scenario(BDL, lambda _: Echo(401), _failed(Outcome.AUTH)),
    "failure-bp-403-echo-via-proxy": Scenario(
        BP, lambda _: Echo(403), _failed(Outcome.BLOCKED), proxy="credentials", writes_state=BLOCK
    ),
    "failure-bp-proxy-407": Scenario(
        BP,
        recorded,
        _failed(Outcome.PROXY),
        proxy="auth_required",
        reaches_upstream=False,
        writes_state=PROXY_FAULT,
    ),
    "failure-bp-proxy-refused": Scenario(
        BP,
        recorded,
        _failed(Outcome.PROXY),
        proxy="refused",
        reaches_upstream=False,
        writes_state=PROXY_FAULT,
    ),
    # crash: the state store URL holds a password (bad URL: exit 2; unreachable: last resort)
    "crash-redis-state-bad-url": Scenario(
        ODDS, recorded, USAGE, state="redis_bad_port", reaches_upstream=False
    ),
    # the state store is unreachable: a classified transient failure with its completion
    "failure-redis-state-unreachable": Scenario(
        ODDS, recorded, _failed(Outcome.TRANSIENT), state="redis_closed", reaches_upstream=False
    ),
    # the completion outbox cannot be written after a proxied fetch used every secret: the run's
    # intent cannot be kept, so nothing lands (`landing`), and the completion goes straight to the
    # publisher, with a warning
    "outbox-unwritable-after-proxied-fetch": Scenario(
        BP, recorded, _failed(Outcome.LANDING), proxy="credentials", block_outbox=True
    ),
    # crash: httpx refuses the proxy URL the credentials were put into
    "crash-proxy-url-unsupported-scheme": Scenario(
        BP, recorded, INTERNAL, proxy="ftp", reaches_upstream=False
    ),
    # crash: the password alone, without `user:`; today the last resort, arguably a usage error
    "crash-proxy-credentials-without-user": Scenario(
        BP, recorded, USAGE | INTERNAL, proxy="password_only", reaches_upstream=False
    ),
}


# --- running one scenario ---------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    run_dir: Path
    out: Path
    upstream: list[RecordedRequest]
    proxy: RecordingProxy | None

    @property
    def context(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@functools.cache
def _production_registry() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "registry.yaml").read_text(encoding="utf-8"))
    return document


def fast_registry(path: Path, timeout: float) -> Path:
    """registry.yaml with test timing: the three scrapers under test, their sources' tiers, start
    tiers and rules, and only timeouts, back-off, rates and transient retries changed."""
    document = copy.deepcopy(_production_registry())
    jobs = {job.scraper: job.source for job in (ODDS, BDL, BP)}
    document["scrapers"] = [entry for entry in document["scrapers"] if entry["name"] in jobs]
    document["sources"] = {name: document["sources"][name] for name in jobs.values()}
    for settings in document["sources"].values():
        settings.update(
            timeout_seconds=timeout,
            backoff_initial=0.01,
            backoff_max=0.02,
            transient_retries=1,
            rate={"per_second": 1000, "burst": 100, "ceiling_per_second": 1000},
        )
        if "timeouts" in settings:
            settings["timeouts"] = dict.fromkeys(settings["timeouts"], timeout)
        for host in (settings.get("hosts") or {}).values():
            host.pop("rate", None)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def proxies_file(path: Path, proxy_url: str) -> Path:
    """The datacenter tier with one proxy; its credentials only ever come from the environment."""
    document = {
        "tiers": [
            {"name": "direct"},
            {
                "name": "datacenter",
                "proxies": [{"name": "dc1", "url": proxy_url, "credentials_env": PROXY_CREDENTIALS_ENV}],
            },
        ]
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def child_env(
    run_dir: Path, upstream: Upstream, scenario: Scenario, proxy: ForwardProxy | None
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COURTSIDE_") and key not in SECRET_ENVS and "proxy" not in key.lower()
    }
    overrides = ",".join(f"{base}={upstream.url}" for base in (ODDS_BASE, BDL_BASE, BP_BASE))
    state = {
        "sqlite": f"sqlite:///{run_dir / 'state' / 'state.sqlite'}",
        # A closed port: the store fails on first use, inside the run.
        "redis_closed": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0",
        # A URL that does not parse: the store fails while the run is being set up.
        "redis_bad_port": f"redis://:{REDIS_PASSWORD}@127.0.0.1:99999/0",
    }[scenario.state]
    env.update(
        SECRET_ENVS,
        PYTHONPATH=str(PROJECT_ROOT),
        COURTSIDE_REGISTRY=str(fast_registry(run_dir / "registry.yaml", scenario.timeout)),
        COURTSIDE_UPSTREAMS=overrides,
        COURTSIDE_STATE=state,
    )
    if proxy is not None:
        url = proxy.url.replace("http://", "ftp://") if scenario.proxy == "ftp" else proxy.url
        env["COURTSIDE_PROXIES_FILE"] = str(proxies_file(run_dir / "proxies.yaml", url))
        password_only = scenario.proxy == "password_only"
        env[PROXY_CREDENTIALS_ENV] = PROXY_PASSWORD if password_only else f"{PROXY_USER}:{PROXY_PASSWORD}"
    return env


async def run_cli(argv: list[str], env: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapers",
        *argv,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), HANG_GUARD_SECONDS)
    finally:
        if process.returncode is None:  # the guard fired or the test was interrupted
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace")


async def play(scenario: Scenario, run_dir: Path) -> Run:
    out = run_dir / "out"
    if scenario.block_outbox:
        out.mkdir(parents=True)
        (out / "_outbox").write_text("not a folder\n", encoding="utf-8")
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(
            Upstream({scenario.job.path: scenario.respond(scenario.job)})
        )
        proxy: RecordingProxy | None = None
        if scenario.proxy != "none":
            proxy = await stack.enter_async_context(RecordingProxy("dc1"))
            if scenario.proxy == "auth_required":
                proxy.auth_required()
            else:
                proxy.require_credentials(PROXY_USER, PROXY_PASSWORD)
            if scenario.proxy == "refused":
                await proxy.refuse()
        env = child_env(run_dir, upstream, scenario, proxy)
        argv = ["--verbose", "run", *scenario.job.argv(), "--out", str(out), "--json"]
        code, stdout, stderr = await run_cli(argv, env, run_dir)
        return Run(code, stdout, stderr, run_dir, out, list(upstream.requests), proxy)


def leaks(name: str, data: bytes) -> list[str]:
    return [f"{what} in {name}" for what, needle in NEEDLES.items() if needle.encode() in data]


# --- the tests ------------------------------------------------------------------------------------


async def play_all(run_dirs: Mapping[str, Path]) -> dict[str, Run | BaseException]:
    """Every scenario, a few at a time: each run is a Python start-up, so they overlap well."""
    gate = asyncio.Semaphore(CONCURRENT_RUNS)

    async def one(name: str) -> Run:
        async with gate:
            return await play(SCENARIOS[name], run_dirs[name])

    names = list(SCENARIOS)
    results = await asyncio.gather(*(one(name) for name in names), return_exceptions=True)
    return dict(zip(names, results, strict=True))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run | BaseException]:
    return asyncio.run(play_all({name: tmp_path_factory.mktemp(name) for name in SCENARIOS}))


def _run_of(runs: Mapping[str, Run | BaseException], name: str) -> Run:
    run = runs[name]
    if isinstance(run, BaseException):
        raise run
    return run


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_run_took_its_path_and_used_the_secrets(runs: dict[str, Run | BaseException], name: str) -> None:
    scenario, run = SCENARIOS[name], _run_of(runs, name)
    job = scenario.job
    assert run.code in scenario.exit_codes, run.context

    if run.code == EXIT_INTERNAL and "internal error:" in run.stderr:
        # The last-resort handler, with the traceback at --verbose (redacted like everything else).
        assert "Traceback (most recent call last)" in run.stderr, run.context
    elif run.code == EXIT_USAGE:
        assert "error:" in run.stderr, run.context
    elif scenario.block_outbox:
        # The outbox refused the intent: nothing landed, the completion was published directly,
        # and the run says so.
        result = json.loads(run.stdout)
        assert any("published without an outbox entry" in warning for warning in result["warnings"])
        assert "nothing landed, the outbox failed" in result["error_message"]
        assert result["landed"] == []
        events = (run.out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["status"] for line in events] == [result["status"]] == ["failed"]
    else:
        result = json.loads(run.stdout)
        assert result["scraper"] == job.scraper
        events = (run.out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["status"] for line in events] == [result["status"]]
        assert result["status"] == ("success" if run.code == EXIT_OK else "failed"), run.context
        assert bool(result["landed"]) == (run.code == EXIT_OK)
    if scenario.state == "sqlite" and run.code != EXIT_USAGE:
        database = run.run_dir / "state" / "state.sqlite"
        assert database.is_file(), "the state store was never opened"
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            written = {namespace for (namespace,) in connection.execute("SELECT namespace FROM state")}
        assert scenario.writes_state <= written

    # The key reached the upstream where its source sends it, on the fixtures' exact requests.
    if scenario.reaches_upstream:
        assert run.upstream, run.context
        assert [job.key_of(request) for request in run.upstream] == [job.key] * len(run.upstream)
    else:
        assert not run.upstream
    if scenario.respond is recorded and run.code == EXIT_OK:
        sent = [{k: v for k, v in request.query.items() if k != "apiKey"} for request in run.upstream]
        assert sent == recorded_queries(job)
    # The proxy got the credentials (and accepted them where it was asked to).
    if scenario.proxy in ("credentials", "auth_required"):
        assert run.proxy is not None
        assert run.proxy.authorizations
        assert set(run.proxy.authorizations) == {PROXY_AUTHORIZATION}
        expected = "auth_failed" if scenario.proxy == "auth_required" else "forwarded"
        assert {request.outcome for request in run.proxy.requests} == {expected}
        assert {request.proxy for request in run.upstream} <= {"dc1"}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_canary_leaks_to_any_sink(runs: dict[str, Run | BaseException], name: str) -> None:
    run = _run_of(runs, name)
    # stdout and stderr, then every byte the run left in its directory: --out with the landed files
    # and the completion events, the SQLite state store with its WAL, anything written to its cwd.
    found = leaks("stdout", run.stdout.encode()) + leaks("stderr", run.stderr.encode())
    for path in sorted(path for path in run.run_dir.rglob("*") if path.is_file()):
        found += leaks(str(path.relative_to(run.run_dir)), path.read_bytes())
    assert not found, "\n".join(found) + "\n" + run.context
