"""An upstream that echoes the key it was sent into a body that parses: what lands holds no key.

Loopback upstreams stand in for BallDontLie (key in `Authorization`), BettingPros (`X-Api-Key`)
and The Odds API (`apiKey` in the query, its body landed as it came). Each echoes the key back in a
field the scraper keeps, and the run must still succeed with: landed bytes that are valid JSON and
hold the key in no form (raw, JSON-escaped, percent-encoded), a completion and a run summary that
name the variable and never the value, and an outbox intent whose SHA-256 is that of the masked
bytes (what a sweep compares the landed object with). The first scenario is the audit's reproducer
through the CLI (`scrapers run ... --json`, in this process); the others open the core as the CLI
does and watch the intent through the runner's landing hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from aiohttp import web

from scrapers.cli import main
from scrapers.core.clock import SystemClock
from scrapers.core.redact import MASK, Redactor
from scrapers.core.registry import load_registry
from scrapers.core.result import RunResult
from scrapers.core.settings import Locations, Settings
from scrapers.events.outbox import OutboxEntry
from scrapers.pipeline.outputs import RUNS_FOLDER
from scrapers.pipeline.runner import prepare, run_job
from scrapers.pipeline.wiring import open_core
from tests.conftest import PROJECT_FIXTURES
from tests.harness import Behaviour, Upstream
from tests.harness._server import LoopbackServer

pytestmark = pytest.mark.integration

BDL_KEY = "bdl-canary-key-7f3a9c2e5b1d4488"
# Characters JSON escapes (`"`, `\`) and PHP escapes (`/`) in a header-carried key.
BP_KEY = 'canary-bp/"quoted"\\back+slash=5b7c0e2d4a96'
# Characters a query string percent-encodes (`+`, `/`, `=`, space), as the echoed URL carries them.
ODDS_KEY = "canary+odds/key=3f9a 1c4b7e20"
JSON_TYPE = {"Content-Type": "application/json"}


def _forms(key: str) -> list[bytes]:
    """Every way the key could sit in the bytes: raw, JSON-escaped, percent-encoded."""
    texts = {key, quote(key, safe=""), quote(key), quote_plus(key), quote_plus(key, safe="/")}
    forms = set()
    for text in texts:
        for form in (text, json.dumps(text)[1:-1], json.dumps(text)[1:-1].replace("/", "\\/")):
            forms.add(form.encode())
    return sorted(forms)


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for key, child in value.items() for text in (str(key), *_texts(child))]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return [str(value)]


def _assert_no_key(data: bytes, key: str) -> None:
    """No form of the key in the bytes, and none a JSON reader would decode out of them."""
    assert not [form for form in _forms(key) if form in data], data[:400]
    decoded = json.loads(data)  # valid JSON, or this raises
    assert not [t for t in _texts(decoded) if key in t or key in unquote(t) or key in unquote_plus(t)]


def _assert_nothing_under(folder: Path, key: str) -> None:
    """No byte the run wrote anywhere (documents, completions, outbox, run summaries) holds the key."""
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [form for form in _forms(key) if form in data], path


class Echo(Behaviour):
    """Answers `body(request)` as JSON, serialised by `dump`, and keeps what it sent."""

    def __init__(self, body: Any, dump: Any = json.dumps) -> None:
        self.body = body
        self.dump = dump
        self.sent: list[bytes] = []

    async def handle(self, request: web.BaseRequest, server: LoopbackServer) -> web.StreamResponse:
        data = self.dump(self.body(request)).encode()
        self.sent.append(data)
        return web.Response(status=200, body=data, headers=JSON_TYPE)


def _fixture(source: str, slug: str) -> Any:
    return json.loads((PROJECT_FIXTURES / source / f"{slug}.body.json").read_text(encoding="utf-8"))


def _completions(out: Path) -> list[dict[str, Any]]:
    lines = (out / "_events" / "completions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _standings_echo() -> Echo:
    """BallDontLie standings whose first team name echoes the key the request carried."""

    def standings(request: web.BaseRequest) -> Any:
        body = _fixture("bdl", "bdl_standings-2023-24")
        body["data"][0]["team"]["full_name"] = "Echo " + request.headers["Authorization"]
        return body

    return Echo(standings)


def _run_cli(monkeypatch: pytest.MonkeyPatch, echo: Echo, out: Path, *flags: str) -> tuple[int, str, str]:
    """`scrapers run bdl_standings` in this process against a loopback upstream that answers with
    `echo`: its exit code, stdout and stderr."""

    async def scenario() -> tuple[int, str, str]:
        async with Upstream({"/v1/standings": echo}) as upstream:
            for name in [n for n in os.environ if n.startswith("COURTSIDE_") or n.endswith("_API_KEY")]:
                monkeypatch.delenv(name)
            monkeypatch.setenv("COURTSIDE_STATE", "memory")
            monkeypatch.setenv("COURTSIDE_UPSTREAMS", f"https://api.balldontlie.io={upstream.url}")
            monkeypatch.setenv("BDL_API_KEY", BDL_KEY)
            stdout, stderr = io.StringIO(), io.StringIO()

            def run() -> int:
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    return main(["run", "bdl_standings", "--season", "2023-24", "--out", str(out), *flags])

            code = await asyncio.to_thread(run)
            assert upstream.requests[0].headers["Authorization"] == BDL_KEY  # the key was used
            return code, stdout.getvalue(), stderr.getvalue()

    return asyncio.run(scenario())


def test_the_audit_echo_lands_masked_and_the_cli_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    echo = _standings_echo()
    code, stdout, _ = _run_cli(monkeypatch, echo, out, "--json")
    assert BDL_KEY.encode() in echo.sent[0]  # the upstream did echo it
    assert code == 0, stdout
    result = json.loads(stdout)
    assert result["status"] == "success"
    assert result["metadata"]["masked_secrets"] == ["BDL_API_KEY"]
    assert any("BDL_API_KEY" in warning and MASK in warning for warning in result["warnings"])
    (landed,) = result["landed"]
    data = Path(landed).read_bytes()
    _assert_no_key(data, BDL_KEY)
    assert json.loads(data)["standings"][0]["team"]["full_name"] == f"Echo {MASK}"
    (completion,) = _completions(out)
    assert completion["status"] == "success"
    assert completion["metadata"]["masked_secrets"] == ["BDL_API_KEY"]
    summary = json.loads((out / RUNS_FOLDER / "bdl_standings" / f"{result['run_id']}.json").read_text())
    assert summary["metadata"]["masked_secrets"] == ["BDL_API_KEY"]
    assert summary["warnings"] == result["warnings"]
    _assert_nothing_under(out, BDL_KEY)
    assert BDL_KEY not in stdout


def test_the_results_table_is_followed_by_the_masking_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without --json the table has no column for warnings: they follow it on stderr.
    code, stdout, stderr = _run_cli(monkeypatch, _standings_echo(), tmp_path / "out")
    assert code == 0, stdout + stderr
    assert "bdl_standings  success" in stdout
    assert (
        f"warning: bdl_standings: the upstream's body carried the value of BDL_API_KEY: masked as {MASK}"
        in stderr
    )
    assert BDL_KEY not in stdout + stderr


async def _run_in_core(
    tmp_path: Path, scraper: str, options: Mapping[str, str], env: Mapping[str, str]
) -> tuple[RunResult, list[OutboxEntry]]:
    """One live run as the CLI runs it (the same wiring), with the intent read off the outbox
    the moment it is durable: the runner's landing hook runs after the intent, before landing."""
    registry = load_registry()
    out = tmp_path / "out"
    job = prepare(registry, scraper, options, SystemClock())
    core = await open_core(
        registry,
        Locations(out=str(out), fixtures=tmp_path / "no-fixtures"),
        [job.entry],
        None,
        Redactor(),
        replay=False,
        env=Settings.from_env({"COURTSIDE_STATE": "memory", **env}),
    )
    intents: list[OutboxEntry] = []

    async def read_intent(result: RunResult, paths: Sequence[str], stamp: str) -> None:
        for path in (out / "_outbox").rglob("*.json"):
            intents.append(OutboxEntry.from_json(path.read_bytes()))

    core.context.landing_hook = read_intent
    try:
        result = await run_job(job, core.context)
        await core.after_run(result, lambda warning: None, push_metrics=False)
    finally:
        await core.aclose()
    return result, intents


def _assert_intent_is_of_the_landed_bytes(intents: list[OutboxEntry], result: RunResult) -> None:
    (intent,) = intents
    (landed,) = result.landed
    (path, expected), *_ = intent.landing.items()
    assert landed.endswith(path)
    assert expected == hashlib.sha256(Path(landed).read_bytes()).hexdigest()
    assert intent.message["metadata"]["masked_secrets"] == result.metadata["masked_secrets"]


def test_a_header_carried_key_with_json_escaped_characters_is_masked_in_the_document(tmp_path: Path) -> None:
    def events(request: web.BaseRequest) -> Any:
        body = _fixture("bettingpros", "bp_events-2024-01-15")
        # BettingPros echoes its query in `_parameters`; this one echoes the key too.
        body["_parameters"]["api_key"] = request.headers["X-Api-Key"]
        body["events"][0]["venue"]["name"] = f"Echo {request.headers['X-Api-Key']}"
        return body

    # An ASCII-only serialiser that escapes `/` as PHP does: `\"`, `\\` and `\/` inside the key.
    echo = Echo(events, lambda body: json.dumps(body).replace("/", "\\/"))

    async def scenario() -> tuple[RunResult, list[OutboxEntry]]:
        async with Upstream({"/v3/events": echo}) as upstream:
            env = {
                "COURTSIDE_UPSTREAMS": f"https://api.bettingpros.com={upstream.url}",
                "BETTINGPROS_API_KEY": BP_KEY,
            }
            ran = await _run_in_core(tmp_path, "bp_events", {"date": "2024-01-15"}, env)
            assert upstream.requests[0].headers["X-Api-Key"] == BP_KEY
            return ran

    result, intents = asyncio.run(scenario())
    assert json.dumps(BP_KEY)[1:-1].replace("/", "\\/").encode() in echo.sent[0]
    assert result.status.value == "success", result.error_message
    assert result.metadata["masked_secrets"] == ["BETTINGPROS_API_KEY"]
    data = Path(result.landed[0]).read_bytes()
    _assert_no_key(data, BP_KEY)
    document = json.loads(data)
    assert document["api_response_params"]["api_key"] == MASK
    assert document["events"][next(iter(document["events"]))]["venue"]["name"] == f"Echo {MASK}"
    _assert_intent_is_of_the_landed_bytes(intents, result)
    (completion,) = _completions(tmp_path / "out")
    assert completion["metadata"]["masked_secrets"] == ["BETTINGPROS_API_KEY"]
    _assert_nothing_under(tmp_path / "out", BP_KEY)


def test_a_url_encoded_echo_in_a_body_landed_as_it_came_is_masked_in_place(tmp_path: Path) -> None:
    def events(request: web.BaseRequest) -> Any:
        body = _fixture("oddsapi", "oddsa_events-2024-01-15")
        # The request target as received: the key percent-encoded by the client (`+` as %2B...).
        body[0]["debug"] = {"request": request.raw_path, "query": dict(request.query)}
        return body

    echo = Echo(events, lambda body: json.dumps(body, indent=2))

    async def scenario() -> tuple[RunResult, list[OutboxEntry]]:
        async with Upstream({"/v4/sports/basketball_nba/events": echo}) as upstream:
            env = {
                "COURTSIDE_UPSTREAMS": f"https://api.the-odds-api.com={upstream.url}",
                "ODDS_API_KEY": ODDS_KEY,
            }
            ran = await _run_in_core(tmp_path, "oddsa_events", {"game_date": "2024-01-15"}, env)
            assert upstream.requests[0].query["apiKey"] == ODDS_KEY
            return ran

    result, intents = asyncio.run(scenario())
    (sent,) = echo.sent
    assert quote_plus(ODDS_KEY, safe="").encode() in sent
    assert ODDS_KEY.encode() in sent
    assert result.status.value == "success", result.error_message
    assert result.metadata["masked_secrets"] == ["ODDS_API_KEY"]
    data = Path(result.landed[0]).read_bytes()
    _assert_no_key(data, ODDS_KEY)
    # The upstream's own bytes everywhere but the two masked lines: its layout is kept.
    changed = [(a, b) for a, b in zip(sent.splitlines(), data.splitlines(), strict=True) if a != b]
    assert len(changed) == 2
    assert all(MASK.encode() in b for _, b in changed)
    debug = json.loads(data)[0]["debug"]
    assert debug["query"]["apiKey"] == MASK
    assert f"apiKey={MASK}" in debug["request"]
    _assert_intent_is_of_the_landed_bytes(intents, result)
    _assert_nothing_under(tmp_path / "out", ODDS_KEY)


def test_a_body_without_the_key_lands_byte_for_byte(tmp_path: Path) -> None:
    """The other side: with the key configured and used, a body that does not echo it is not
    rewritten, and the run says nothing about masking."""

    async def scenario() -> tuple[RunResult, bytes]:
        body = _fixture("oddsapi", "oddsa_events-2024-01-15")
        echo = Echo(lambda request: body, lambda value: json.dumps(value, indent=2).replace("/", "\\/"))
        async with Upstream({"/v4/sports/basketball_nba/events": echo}) as upstream:
            env = {
                "COURTSIDE_UPSTREAMS": f"https://api.the-odds-api.com={upstream.url}",
                "ODDS_API_KEY": ODDS_KEY,
            }
            result, _ = await _run_in_core(tmp_path, "oddsa_events", {"game_date": "2024-01-15"}, env)
            return result, echo.sent[0]

    result, sent = asyncio.run(scenario())
    assert result.status.value == "success", result.error_message
    assert Path(result.landed[0]).read_bytes() == sent
    assert "masked_secrets" not in result.metadata
    assert result.warnings == ()


def test_the_core_knows_every_configured_secret_by_its_variable(tmp_path: Path) -> None:
    """API keys, the service token and proxy passwords, used or not: each named, so a completion can
    say which variable a body carried."""
    proxies = tmp_path / "proxies.yaml"
    proxies.write_text(
        "tiers:\n  - name: direct\n  - name: datacenter\n    proxies:\n"
        "      - {name: dc1, url: 'http://127.0.0.1:9', credentials_env: COURTSIDE_TEST_DC_CREDENTIALS}\n",
        encoding="utf-8",
    )
    env = {
        "COURTSIDE_STATE": "memory",
        "COURTSIDE_PROXIES_FILE": str(proxies),
        "COURTSIDE_TEST_DC_CREDENTIALS": "courtside-dc:canary+proxy/pw~7c41e9d0b5a2=",
        "BDL_API_KEY": BDL_KEY,
        "BETTINGPROS_API_KEY": BP_KEY,
        "COURTSIDE_SERVICE_TOKEN": "canary-service-token-2e9d7f",
    }

    async def named() -> dict[str, str | None]:
        registry = load_registry()
        core = await open_core(
            registry,
            Locations(out=str(tmp_path / "out"), fixtures=tmp_path / "no-fixtures"),
            [],
            None,
            Redactor(),
            replay=False,
            env=Settings.from_env(env),
        )
        try:
            return dict(core.redactor.named)
        finally:
            await core.aclose()

    assert asyncio.run(named()) == {
        BDL_KEY: "BDL_API_KEY",
        BP_KEY: "BETTINGPROS_API_KEY",
        "canary-service-token-2e9d7f": "COURTSIDE_SERVICE_TOKEN",
        "canary+proxy/pw~7c41e9d0b5a2=": "COURTSIDE_TEST_DC_CREDENTIALS",
    }


def test_a_fan_out_id_that_is_the_key_plans_no_child(tmp_path: Path) -> None:
    """An Odds API key and an event id are both 32 hex digits: an event list that echoes the key
    as an id would make it a child's option, object path and completion. The id is dropped (the
    document keeps the event, masked), the other events still fan out, and the warning says so."""
    key = "3f9a1c4b7e20d5a6b8c9e0f1a2b3c4d5"

    def events(request: web.BaseRequest) -> Any:
        body = _fixture("oddsapi", "oddsa_events-2024-01-15")
        body[0]["id"] = request.query["apiKey"]
        return body

    echo = Echo(events)

    async def scenario() -> tuple[RunResult, list[OutboxEntry]]:
        async with Upstream({"/v4/sports/basketball_nba/events": echo}) as upstream:
            env = {"COURTSIDE_UPSTREAMS": f"https://api.the-odds-api.com={upstream.url}", "ODDS_API_KEY": key}
            return await _run_in_core(tmp_path, "oddsa_events", {"game_date": "2024-01-15"}, env)

    result, _ = asyncio.run(scenario())
    events_sent = json.loads(echo.sent[0])
    assert result.status.value == "success", result.error_message
    assert [ref.to_dict()["event_id"] for ref in result.fan_out] == [e["id"] for e in events_sent[1:]]
    assert result.metadata["masked_secrets"] == ["ODDS_API_KEY"]
    assert "1 fan-out id carrying it dropped" in result.warnings[0]
    _assert_no_key(Path(result.landed[0]).read_bytes(), key)
    _assert_nothing_under(tmp_path / "out", key)
