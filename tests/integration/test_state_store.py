"""One contract for every state store, run against the real thing: a dict, a SQLite file, and a
real redis-server. Cross-process tests use real child processes, because "a new container starts
knowing" is the reason these stores exist."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from proxy.state import (
    MemoryStore,
    RedisStore,
    SqliteStore,
    StateStore,
    StateStoreError,
    open_store,
    put_if_changed,
)
from tests.integration.redis_server import free_port

pytestmark = pytest.mark.integration

T = TypeVar("T")
SECRET = "hunter2-s3cret"
TTL = 0.2
EXPIRY_LIMIT_SECONDS = 10.0  # generous upper bound for a 0.2 s TTL; the loop exits as soon as it expires
CHILD_TIMEOUT_SECONDS = 60.0


def run(url: str | None, body: Callable[[StateStore], Awaitable[T]]) -> T:
    """Open the store named by ``url`` in a fresh event loop, run ``body``, always close it."""

    async def main() -> T:
        store = open_store(url)
        try:
            return await body(store)
        finally:
            await store.aclose()

    return asyncio.run(main())


async def wait_until_expired(store: StateStore, namespace: str, key: str) -> None:
    """Poll (bounded) until the key is gone; sleeping is the behaviour under test here."""
    deadline = time.monotonic() + EXPIRY_LIMIT_SECONDS
    while await store.get(namespace, key) is not None:
        assert time.monotonic() < deadline, f"{namespace}/{key} did not expire"
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- the contract


def test_put_get_round_trips_json(store_url: str) -> None:
    value: dict[str, Any] = {
        "state": "open",
        "failures": 3,
        "rate": 0.25,
        "ok": True,
        "none": None,
        "nested": {"tiers": ["direct", "datacenter"], "score": {"stats.nba.com": 1.5}},
        "text": "Dončić – “quotes” 🏀",
    }

    async def body(store: StateStore) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        await store.put("breaker", "proxy-1", value)
        await store.put("breaker", "tuple", {"pair": (1, 2)})
        return await store.get("breaker", "proxy-1"), await store.get("breaker", "tuple")

    got, pair = run(store_url, body)
    assert got == value
    assert pair == {"pair": [1, 2]}  # JSON has no tuples; every store agrees on that


def test_missing_key_is_none_and_put_overwrites(store_url: str) -> None:
    async def body(store: StateStore) -> list[dict[str, Any] | None]:
        seen = [await store.get("tier", "cdn.nba.com")]
        await store.put("tier", "cdn.nba.com", {"tier": "direct"})
        await store.put("tier", "cdn.nba.com", {"tier": "residential"})
        seen.append(await store.get("tier", "cdn.nba.com"))
        return seen

    assert run(store_url, body) == [None, {"tier": "residential"}]


def test_delete_reports_whether_the_key_existed(store_url: str) -> None:
    async def body(store: StateStore) -> tuple[bool, bool, dict[str, Any] | None]:
        await store.put("failed", "job-1", {"at": 1})
        first = await store.delete("failed", "job-1")
        second = await store.delete("failed", "job-1")
        return first, second, await store.get("failed", "job-1")

    assert run(store_url, body) == (True, False, None)


def test_items_lists_one_namespace_only(store_url: str) -> None:
    # Neighbouring namespace names catch prefix bugs ("limiter" must not see "limiter2"/"limiter.x").
    async def body(store: StateStore) -> dict[str, dict[str, dict[str, Any]]]:
        await store.put("limiter", "api.the-odds-api.com", {"rate": 30.0})
        await store.put("limiter", "host:8080", {"rate": 1.0})  # ':' is fine inside a key
        await store.put("limiter2", "other", {"rate": 2.0})
        await store.put("limiter.x", "other", {"rate": 3.0})
        await store.put("breaker", "api.the-odds-api.com", {"state": "closed"})
        return {ns: await store.items(ns) for ns in ("limiter", "limiter2", "limiter.x", "breaker", "empty")}

    assert run(store_url, body) == {
        "limiter": {"api.the-odds-api.com": {"rate": 30.0}, "host:8080": {"rate": 1.0}},
        "limiter2": {"other": {"rate": 2.0}},
        "limiter.x": {"other": {"rate": 3.0}},
        "breaker": {"api.the-odds-api.com": {"state": "closed"}},
        "empty": {},
    }


def test_same_key_in_two_namespaces_is_two_values(store_url: str) -> None:
    async def body(store: StateStore) -> tuple[Any, Any, bool, Any]:
        await store.put("breaker", "p1", {"v": "breaker"})
        await store.put("tier", "p1", {"v": "tier"})
        deleted = await store.delete("breaker", "p1")
        return await store.get("breaker", "p1"), await store.get("tier", "p1"), deleted, None

    assert run(store_url, body) == (None, {"v": "tier"}, True, None)


def test_expired_keys_are_invisible(store_url: str) -> None:
    async def body(store: StateStore) -> tuple[Any, ...]:
        await store.put("breaker", "short", {"state": "open"}, ttl_seconds=TTL)
        await store.put("breaker", "long", {"state": "open"}, ttl_seconds=3600)
        await store.put("breaker", "forever", {"state": "closed"})
        # Re-putting without a ttl makes a key permanent again.
        await store.put("breaker", "was-short", {"state": "open"}, ttl_seconds=TTL)
        await store.put("breaker", "was-short", {"state": "closed"})
        before = await store.get("breaker", "short")
        await wait_until_expired(store, "breaker", "short")
        return (
            before,
            await store.items("breaker"),
            await store.delete("breaker", "short"),
        )

    before, items, deleted = run(store_url, body)
    assert before == {"state": "open"}
    assert items == {
        "long": {"state": "open"},
        "forever": {"state": "closed"},
        "was-short": {"state": "closed"},
    }
    assert deleted is False  # an expired key did not "exist"


def test_returned_values_are_copies(store_url: str) -> None:
    async def body(store: StateStore) -> Any:
        await store.put("tier", "h", {"scores": [1]})
        got = await store.get("tier", "h")
        assert got is not None
        got["scores"].append(2)
        (await store.items("tier"))["h"]["scores"].append(3)
        return await store.get("tier", "h")

    assert run(store_url, body) == {"scores": [1]}


def test_bad_values_and_names_are_rejected_before_writing(store_url: str) -> None:
    async def body(store: StateStore) -> dict[str, dict[str, Any]]:
        with pytest.raises(TypeError):
            await store.put("tier", "h", {"not-json": {1, 2}})
        with pytest.raises(TypeError):
            await store.put("tier", "h", ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not JSON compliant"):
            await store.put("tier", "h", {"nan": float("nan")})
        with pytest.raises(ValueError, match="namespace"):
            await store.put("a:b", "h", {})
        with pytest.raises(ValueError, match="namespace"):
            await store.items("tier*")
        with pytest.raises(ValueError, match="ttl_seconds"):
            await store.put("tier", "h", {}, ttl_seconds=0)
        return await store.items("tier")

    assert run(store_url, body) == {}


def test_ping_succeeds_on_a_reachable_store(store_url: str) -> None:
    async def body(store: StateStore) -> None:
        await store.ping()

    run(store_url, body)


# --------------------------------------------------------------------------- across processes

CHILD_PRELUDE = """
import asyncio, json, sys
from proxy.state import open_store

async def main(url):
    store = open_store(url)
    try:
        await body(store)
    finally:
        await store.aclose()
"""


def run_child(url: str, body: str, cwd: Path) -> str:
    """Run ``async def body(store)`` in a fresh Python process against ``url``; return its stdout."""
    code = CHILD_PRELUDE + textwrap.dedent(body) + "\nasyncio.run(main(sys.argv[1]))\n"
    done = subprocess.run(
        [sys.executable, "-c", code, url],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_value_written_by_another_process_is_read_here(shared_store_url: str, tmp_path: Path) -> None:
    run_child(
        shared_store_url,
        """
        async def body(store):
            await store.put("breaker", "proxy-dc-1", {"state": "open", "opened_at": 1700000000.5})
        """,
        tmp_path,
    )

    async def body(store: StateStore) -> Any:
        return await store.get("breaker", "proxy-dc-1")

    assert run(shared_store_url, body) == {"state": "open", "opened_at": 1700000000.5}


def test_value_written_here_is_read_by_another_process(shared_store_url: str, tmp_path: Path) -> None:
    async def body(store: StateStore) -> None:
        await store.put("tier", "stats.nba.com", {"tier": "residential", "score": 2.5})

    run(shared_store_url, body)
    out = run_child(
        shared_store_url,
        """
        async def body(store):
            print(json.dumps(await store.items("tier")))
        """,
        tmp_path,
    )
    assert out.strip() == '{"stats.nba.com": {"score": 2.5, "tier": "residential"}}'


def test_two_processes_write_one_sqlite_file_concurrently(tmp_path: Path) -> None:
    # The file does not exist yet, so the two children also race to create it and switch it to WAL.
    # Each waits for the other before writing, so the writes really overlap.
    url = f"sqlite://{tmp_path}/shared/state.sqlite"
    writes = 300
    child = f"""
import asyncio, sys, time
from proxy.state import open_store

async def main(url, me):
    store = open_store(url)
    try:
        await store.put("sync", "ready-" + me, {{}})
        deadline = time.monotonic() + 30
        while len(await store.items("sync")) < 2:
            if time.monotonic() > deadline:
                sys.exit("the other writer never arrived")
        for i in range({writes}):
            await store.put("load", me + "-" + str(i), {{"i": i}})
            await store.put("load", "shared", {{"by": me, "i": i}})
    finally:
        await store.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", child, url, name],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    try:
        results = [proc.communicate(timeout=CHILD_TIMEOUT_SECONDS) for proc in procs]
    finally:
        for proc in procs:  # never leave a child behind, even when a wait timed out
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err

    async def body(store: StateStore) -> dict[str, dict[str, Any]]:
        return await store.items("load")

    items = run(url, body)
    assert len(items) == 2 * writes + 1
    assert items["shared"]["i"] == writes - 1
    assert items["a-7"] == {"i": 7}


# --------------------------------------------------------------------------- SQLite specifics


def test_sqlite_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.sqlite"

    async def body(store: StateStore) -> None:
        await store.put("tier", "h", {"tier": "direct"})

    run(f"sqlite://{path}", body)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT namespace, key, value, expires_at FROM state").fetchall() == [
            ("tier", "h", '{"tier":"direct"}', None)
        ]
    conn.close()


def test_sqlite_does_not_block_the_event_loop(tmp_path: Path) -> None:
    """Another process holds the write lock; the store's put must wait *off* the loop.

    If SQLite ran on the event loop, the put would freeze the loop until its busy timeout ran out:
    the ticker below could not run, the lock would never be released, and the put would fail.
    No timing is measured: the ticker's progress while the put is pending is the evidence.
    """
    path = tmp_path / "state.sqlite"

    async def main() -> tuple[int, bool, dict[str, Any] | None]:
        store = SqliteStore(path, busy_timeout_seconds=5)
        locker = sqlite3.connect(path, isolation_level=None)
        try:
            await store.ping()  # creates the file and schema
            locker.execute("BEGIN IMMEDIATE")  # take the write lock, as another process would
            put = asyncio.create_task(store.put("tier", "h", {"tier": "direct"}))
            ticks = 0
            while ticks < 20 and not put.done():
                ticks += 1
                await asyncio.sleep(0)  # a bare yield, not a timed wait
            pending_while_locked = not put.done()
            locker.execute("COMMIT")  # release; the waiting put can now finish
            await put
            return ticks, pending_while_locked, await store.get("tier", "h")
        finally:
            locker.close()
            await store.aclose()

    ticks, pending_while_locked, value = asyncio.run(main())
    assert ticks == 20
    assert pending_while_locked
    assert value == {"tier": "direct"}


def test_sqlite_unusable_path_raises_state_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")

    async def body(store: StateStore) -> None:
        with pytest.raises(StateStoreError, match="sqlite state store"):
            await store.ping()

    run(f"sqlite://{blocker}/state.sqlite", body)


def test_sqlite_closed_store_raises_state_store_error(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "state.sqlite")
        await store.aclose()
        await store.aclose()  # idempotent
        with pytest.raises(StateStoreError, match="closed"):
            await store.get("tier", "h")

    asyncio.run(main())


# --------------------------------------------------------------------------- Redis specifics


def test_redis_key_layout_and_expiry_are_native(redis_url: str) -> None:
    # Other tools (redis-cli, dashboards) read these keys, so the layout is part of the contract.
    async def body(store: StateStore) -> None:
        await store.put("breaker", "proxy:1", {"state": "open"}, ttl_seconds=30)

    run(redis_url, body)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert client.get("courtside:breaker:proxy:1") == '{"state":"open"}'
        assert 0 < int(client.pttl("courtside:breaker:proxy:1")) <= 30_000
    finally:
        client.close()


@pytest.mark.parametrize(
    "url_template",
    [
        "redis://:{secret}@127.0.0.1:{port}/0",
        "redis://courtside:{secret}@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/0?password={secret}",
    ],
)
def test_dead_redis_fails_fast_with_masked_password(url_template: str) -> None:
    url = url_template.format(secret=SECRET, port=free_port())  # nothing listens there
    store = open_store(url)
    assert isinstance(store, RedisStore)
    assert SECRET not in repr(store)

    async def attempt(op: Awaitable[object]) -> StateStoreError:
        try:
            # wait_for only turns a hang into a failure; a working store fails well inside it.
            await asyncio.wait_for(op, timeout=15)
        except StateStoreError as exc:
            return exc
        raise AssertionError("expected StateStoreError")

    async def main() -> list[StateStoreError]:
        try:
            return [
                await attempt(store.ping()),
                await attempt(store.get("breaker", "p")),
                await attempt(store.put("breaker", "p", {"state": "open"})),
                await attempt(store.delete("breaker", "p")),
                await attempt(store.items("breaker")),
            ]
        finally:
            await store.aclose()

    for exc in asyncio.run(main()):
        rendered = "".join(traceback.format_exception(exc))
        assert SECRET not in rendered
        assert "***" in str(exc)
        assert "127.0.0.1" in str(exc)


# --------------------------------------------------------------------------- open_store


def test_open_store_default_is_sqlite_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for setting in (None, "", "  "):
        store = open_store(setting)
        assert isinstance(store, SqliteStore)
        assert store.path == tmp_path / ".courtside" / "state.sqlite"
        asyncio.run(store.aclose())

    async def body(store: StateStore) -> None:
        await store.put("tier", "h", {"tier": "direct"})

    run(None, body)
    assert (tmp_path / ".courtside" / "state.sqlite").is_file()


def test_open_store_understands_each_form(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStore)

    absolute = open_store(f"sqlite://{tmp_path}/x.sqlite")
    assert isinstance(absolute, SqliteStore)
    assert absolute.path == tmp_path / "x.sqlite"

    relative = open_store("sqlite:var/state.sqlite")
    assert isinstance(relative, SqliteStore)
    assert relative.path == Path("var/state.sqlite")

    remote = open_store(f"redis://:{SECRET}@redis.internal:6380/2")
    assert isinstance(remote, RedisStore)
    assert repr(remote) == "RedisStore('redis://:***@redis.internal:6380/2')"

    for store in (absolute, relative, remote):
        asyncio.run(store.aclose())


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("postgres://db/state", "unknown scheme"),
        ("Memory!", "unknown scheme"),
        ("/tmp/state.sqlite", "unknown scheme"),
        ("sqlite:", "path is empty"),
        ("sqlite://host/state.sqlite", "no host"),
        ("redis://", "no host"),
        (f"redis://:{SECRET}@localhost:port/0", "does not parse"),
        (f"redis://:{SECRET}@localhost:6379/zero", "must be a number"),
    ],
)
def test_open_store_rejects_bad_settings_helpfully(setting: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        open_store(setting)
    message = str(caught.value)
    assert message.startswith("COURTSIDE_STATE=")
    assert "redis://localhost:6379/0" in message  # an example of a good value
    assert SECRET not in message


# --------------------------------------------------------------------------- write guard


class CountingStore:
    """A real store that counts writes: a test double of the *store*, not of put_if_changed."""

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner
        self.puts = 0

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        return await self.inner.get(namespace, key)

    async def put(
        self, namespace: str, key: str, value: dict[str, Any], ttl_seconds: float | None = None
    ) -> None:
        self.puts += 1
        await self.inner.put(namespace, key, value, ttl_seconds)

    async def delete(self, namespace: str, key: str) -> bool:
        return await self.inner.delete(namespace, key)

    async def items(self, namespace: str) -> dict[str, dict[str, Any]]:
        return await self.inner.items(namespace)

    async def ping(self) -> None:
        await self.inner.ping()

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_put_if_changed_skips_writes_that_change_nothing(store_url: str) -> None:
    """The old platform's quota incident: a breaker resetting an already-zero counter per success."""

    async def body(inner: StateStore) -> tuple[int, list[bool], Any]:
        store = CountingStore(inner)
        wrote = []
        last_seen = await store.get("breaker", "p1")  # None: never written
        closed = {"state": "closed", "failures": 0, "window": (0, 0)}
        wrote.append(await put_if_changed(store, "breaker", "p1", closed, last_seen))
        last_seen = await store.get("breaker", "p1")
        for _ in range(100):  # a hundred successful calls, each "resetting" the counter
            wrote.append(await put_if_changed(store, "breaker", "p1", closed, last_seen))
        failing = {"state": "closed", "failures": 1, "window": [0, 0]}
        wrote.append(await put_if_changed(store, "breaker", "p1", failing, last_seen))
        return store.puts, wrote, await store.get("breaker", "p1")

    puts, wrote, final = run(store_url, body)
    assert puts == 2
    assert wrote == [True] + [False] * 100 + [True]
    assert final == {"state": "closed", "failures": 1, "window": [0, 0]}
