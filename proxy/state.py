"""Where breaker, proxy-tier and limiter state lives: one async interface, three stores.

* ``MemoryStore`` - one process, forgets on exit (tests, ``COURTSIDE_STATE=memory``).
* ``SqliteStore`` - the default: a local file, so consecutive local runs remember which proxies
  were blocked, and two processes on one machine can share it.
* ``RedisStore`` - a fleet of containers shares one view, so a new job container starts knowing.

Values are JSON objects (``dict``) and go through ``json`` in every store, so a value read back is
always a fresh copy and every store accepts and returns exactly the same things. Expiry uses wall
clock time (SQLite) or Redis' own clock, because the expiry must mean the same to every process.

Writes are the scarce resource (the old platform exhausted a database write quota by resetting an
already-zero counter after every success), so reads never write here, and :func:`put_if_changed`
lets callers skip writes that would not change anything.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError, WatchError

from scrapers.core.errors import BadConfiguration
from scrapers.core.settings import Settings

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "MemoryStore",
    "RedisStore",
    "SqliteStore",
    "StateConfigError",
    "StateStore",
    "StateStoreError",
    "mask_url",
    "open_store",
    "put_if_changed",
]

DEFAULT_SQLITE_PATH = Path(".courtside") / "state.sqlite"
REDIS_KEY_PREFIX = "courtside"

_T = TypeVar("_T")
# Namespaces are fixed identifiers chosen by code ("breaker", "tier", ...). Restricting them keeps
# the Redis key ``courtside:<namespace>:<key>`` unambiguous (a ':' in a namespace would let one
# namespace's SCAN see another's keys) and keeps glob characters out of the SCAN pattern. Keys are
# free text (proxy ids, hosts with ports), because they only ever sit after the namespace.
_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_.-]+")
_EXAMPLES = (
    "'sqlite:.courtside/state.sqlite', 'sqlite:///var/lib/courtside/state.sqlite', "
    "'memory' or 'redis://localhost:6379/0'"
)


class StateStoreError(Exception):
    """The state store cannot be reached or used. The message never contains credentials."""


class StateConfigError(BadConfiguration, ValueError):
    """COURTSIDE_STATE does not name a usable store; the message gives examples (a usage error)."""


class StateStore(Protocol):
    """Namespaced JSON-object storage with optional per-key expiry. Expired keys are invisible."""

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None: ...

    async def put(
        self, namespace: str, key: str, value: dict[str, Any], ttl_seconds: float | None = None
    ) -> None: ...

    async def delete(self, namespace: str, key: str) -> bool:
        """Remove a key; True if a live (unexpired) value existed."""
        ...

    async def items(self, namespace: str) -> dict[str, dict[str, Any]]:
        """All live keys of one namespace."""
        ...

    async def ping(self) -> None:
        """Raise StateStoreError when the store is unreachable (readiness probe)."""
        ...

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------- shared helpers


@functools.cache  # a handful of constant names, checked on every read: once each (a bad one raises, uncached)
def _check_namespace(namespace: str) -> None:
    if not _NAMESPACE_RE.fullmatch(namespace):
        raise ValueError(f"state namespace must match {_NAMESPACE_RE.pattern}, got {namespace!r}")


def _check_key(key: str) -> None:
    if not key:
        raise ValueError("state key must not be empty")


def _expires_at(ttl_seconds: float | None, now: float) -> float | None:
    if ttl_seconds is None:
        return None
    if not ttl_seconds > 0:  # also rejects NaN
        raise ValueError(f"ttl_seconds must be positive or None, got {ttl_seconds!r}")
    return now + ttl_seconds


def _encode(value: dict[str, Any]) -> str:
    if not isinstance(value, dict):
        raise TypeError(f"state values are JSON objects (dict), got {type(value).__name__}")
    # allow_nan=False: NaN/Infinity are not JSON and other readers of Redis would choke on them.
    # A non-serialisable value is a programming error, so TypeError/ValueError propagate as such.
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _decode(raw: str | bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise StateStoreError(f"corrupt state value at {where}: not JSON") from exc
    if not isinstance(value, dict):
        raise StateStoreError(f"corrupt state value at {where}: not a JSON object")
    return value


def _normalise(value: dict[str, Any]) -> dict[str, Any]:
    """What the value will look like after a store round trip (tuples become lists, ...)."""
    normalised: dict[str, Any] = json.loads(_encode(value))
    return normalised


def mask_url(url: str) -> str:
    """``url`` with any password (userinfo or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostinfo = netloc.rsplit("@", 1)
        user, sep, _password = userinfo.partition(":")
        # "user:pass@" keeps the (non-secret) ACL user; a bare "token@" is masked whole, because
        # people write a password there by mistake.
        netloc = f"{user}:***@{hostinfo}" if sep else f"***@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# --------------------------------------------------------------------------- memory


class MemoryStore:
    """A dict in this process. Every method runs without an ``await`` inside, so on one event loop
    each call is atomic; no lock is needed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[tuple[str, str], tuple[str, float | None]] = {}

    def _live(self, namespace: str, key: str, now: float) -> str | None:
        entry = self._data.get((namespace, key))
        if entry is None:
            return None
        raw, expires_at = entry
        if expires_at is not None and expires_at <= now:
            del self._data[(namespace, key)]  # lazy purge keeps the dict from growing
            return None
        return raw

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        _check_namespace(namespace)
        raw = self._live(namespace, key, self._clock())
        return None if raw is None else _decode(raw, f"memory:{namespace}:{key}")

    async def put(
        self, namespace: str, key: str, value: dict[str, Any], ttl_seconds: float | None = None
    ) -> None:
        _check_namespace(namespace)
        _check_key(key)
        now = self._clock()
        self._data[(namespace, key)] = (_encode(value), _expires_at(ttl_seconds, now))

    async def delete(self, namespace: str, key: str) -> bool:
        _check_namespace(namespace)
        existed = self._live(namespace, key, self._clock()) is not None
        self._data.pop((namespace, key), None)
        return existed

    async def items(self, namespace: str) -> dict[str, dict[str, Any]]:
        _check_namespace(namespace)
        now = self._clock()
        keys = [k for ns, k in self._data if ns == namespace]
        result: dict[str, dict[str, Any]] = {}
        for key in keys:
            raw = self._live(namespace, key, now)
            if raw is not None:
                result[key] = _decode(raw, f"memory:{namespace}:{key}")
        return result

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return "MemoryStore()"


# --------------------------------------------------------------------------- sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


class SqliteStore:
    """A local SQLite file; the default store.

    sqlite3 is blocking, so every call runs on one dedicated worker thread that owns the only
    connection: the event loop never waits on disk or on a lock held by another process, the
    connection is never shared between threads, and calls from this process are serialised without
    a Python lock. (``asyncio.to_thread`` would spread calls over the default pool's threads and
    need a shared connection plus a lock.)

    WAL lets readers proceed while another process writes; ``busy_timeout`` makes a writer wait for
    another process' write lock instead of failing at once with "database is locked".
    """

    def __init__(self, path: str | Path, *, busy_timeout_seconds: float = 10.0) -> None:
        self._path = Path(path)
        self._busy_timeout = busy_timeout_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="courtside-sqlite")
        self._conn: sqlite3.Connection | None = None  # touched only on the worker thread
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    # -- worker-thread side

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit; each statement below is its own atomic transaction.
            # timeout= is SQLite's busy_timeout: wait this long for another process' lock.
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
            try:
                self._enable_wal(conn)
                # NORMAL is durable across application crashes in WAL mode; only an OS crash can
                # drop the last commits, which is fine for breaker/limiter hints.
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
                # Purge once per connection rather than on reads: reads must never cost a write.
                conn.execute("DELETE FROM state WHERE expires_at <= ?", (time.time(),))
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL (a persistent property of the file; a no-op once done).

        The switch needs an exclusive lock and SQLite does not run the busy handler for it, so two
        processes opening a fresh file together get "database is locked" at once. Retry until the
        busy timeout instead. We sleep on the worker thread, never on the event loop. (A loop this
        small is clearer than pulling tenacity into a blocking helper.)
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                # sqlite_errorcode is the extended code; its low byte is the primary one.
                busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _get(self, namespace: str, key: str) -> str | None:
        row = (
            self._connection()
            .execute(
                f"SELECT value FROM state WHERE namespace = ? AND key = ? AND {_LIVE}",
                (namespace, key, time.time()),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def _put(self, namespace: str, key: str, raw: str, ttl_seconds: float | None) -> None:
        self._connection().execute(
            "INSERT INTO state (namespace, key, value, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (namespace, key) DO UPDATE "
            "SET value = excluded.value, expires_at = excluded.expires_at",
            (namespace, key, raw, _expires_at(ttl_seconds, time.time())),
        )

    def _delete(self, namespace: str, key: str) -> bool:
        # RETURNING tells us in the same statement whether the removed row was still live.
        rows = (
            self._connection()
            .execute(
                "DELETE FROM state WHERE namespace = ? AND key = ? RETURNING expires_at", (namespace, key)
            )
            .fetchall()
        )
        now = time.time()
        return any(expires_at is None or expires_at > now for (expires_at,) in rows)

    def _items(self, namespace: str) -> list[tuple[str, str]]:
        rows: Iterable[tuple[str, str]] = self._connection().execute(
            f"SELECT key, value FROM state WHERE namespace = ? AND {_LIVE}", (namespace, time.time())
        )
        return list(rows)

    def _ping(self) -> None:
        self._connection().execute("SELECT 1").fetchone()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- event-loop side

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed:
            raise StateStoreError(f"sqlite state store {self._path} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except (sqlite3.Error, OSError) as exc:
            raise StateStoreError(f"sqlite state store {self._path}: {type(exc).__name__}: {exc}") from exc

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        _check_namespace(namespace)
        raw = await self._run(self._get, namespace, key)
        return None if raw is None else _decode(raw, f"{self._path}:{namespace}:{key}")

    async def put(
        self, namespace: str, key: str, value: dict[str, Any], ttl_seconds: float | None = None
    ) -> None:
        _check_namespace(namespace)
        _check_key(key)
        _expires_at(ttl_seconds, 0.0)  # validate on the caller's side, not on the worker thread
        await self._run(self._put, namespace, key, _encode(value), ttl_seconds)

    async def delete(self, namespace: str, key: str) -> bool:
        _check_namespace(namespace)
        return await self._run(self._delete, namespace, key)

    async def items(self, namespace: str) -> dict[str, dict[str, Any]]:
        _check_namespace(namespace)
        rows = await self._run(self._items, namespace)
        return {key: _decode(raw, f"{self._path}:{namespace}:{key}") for key, raw in rows}

    async def ping(self) -> None:
        await self._run(self._ping)

    async def aclose(self) -> None:
        if self._closed:
            return
        try:
            await self._run(self._close)
        finally:
            self._closed = True
            # The close above was the last queued job, so the worker exits at once; no need to
            # block the loop joining it.
            self._executor.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self._path)!r})"


# --------------------------------------------------------------------------- redis


class RedisStore:
    """Redis shared by the fleet: key ``courtside:<namespace>:<key>``, JSON value, PX expiry.

    Expiry uses PX (milliseconds), the millisecond form of EX, so sub-second TTLs keep their
    meaning. Connect/socket timeouts and a single quick retry make a dead Redis raise
    StateStoreError within seconds; redis-py's default (10 retries) would stall a job instead.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_timeout_seconds: float = 2.0,
        socket_timeout_seconds: float = 2.0,
        retries: int = 1,
    ) -> None:
        self._display_url = mask_url(url)
        try:
            self._client = aioredis.Redis.from_url(
                url,
                decode_responses=True,
                socket_connect_timeout=connect_timeout_seconds,
                socket_timeout=socket_timeout_seconds,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
            )
        except ValueError:
            # redis-py's message may echo the URL; ours never shows the password.
            raise ValueError(f"invalid redis url {self._display_url}") from None

    def _key(self, namespace: str, key: str) -> str:
        return f"{REDIS_KEY_PREFIX}:{namespace}:{key}"

    def _error(self, exc: RedisError | OSError) -> StateStoreError:
        text = str(exc)
        password = self._client.connection_pool.connection_kwargs.get("password")
        if password:
            text = text.replace(str(password), "***")
        return StateStoreError(f"redis state store {self._display_url}: {type(exc).__name__}: {text}")

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        _check_namespace(namespace)
        name = self._key(namespace, key)
        try:
            raw = await self._client.get(name)
        except (RedisError, OSError) as exc:
            # "from None": the chained cause's text is printed in tracebacks and is not masked.
            raise self._error(exc) from None
        return None if raw is None else _decode(raw, name)

    async def put(
        self, namespace: str, key: str, value: dict[str, Any], ttl_seconds: float | None = None
    ) -> None:
        _check_namespace(namespace)
        _check_key(key)
        _expires_at(ttl_seconds, 0.0)
        px = None if ttl_seconds is None else max(1, math.ceil(ttl_seconds * 1000))
        raw = _encode(value)
        try:
            await self._client.set(self._key(namespace, key), raw, px=px)
        except (RedisError, OSError) as exc:
            raise self._error(exc) from None

    async def delete(self, namespace: str, key: str) -> bool:
        _check_namespace(namespace)
        try:
            removed = await self._client.delete(self._key(namespace, key))
        except (RedisError, OSError) as exc:
            raise self._error(exc) from None
        return bool(removed)

    async def items(self, namespace: str) -> dict[str, dict[str, Any]]:
        _check_namespace(namespace)
        prefix = self._key(namespace, "")
        try:
            # SCAN, not KEYS: KEYS blocks the shared Redis for every other client while it walks.
            names = [name async for name in self._client.scan_iter(match=f"{prefix}*", count=500)]
            values = await self._client.mget(names) if names else []
        except (RedisError, OSError) as exc:
            raise self._error(exc) from None
        # SCAN may report a key twice; a key may expire between SCAN and MGET (value None).
        return {
            name[len(prefix) :]: _decode(raw, name)
            for name, raw in zip(names, values, strict=True)
            if raw is not None
        }

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise self._error(exc) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisStore({self._display_url!r})"


# --------------------------------------------------------------------------- selection


def _bad_setting(value: str, reason: str) -> StateConfigError:
    return StateConfigError(
        f"{Settings.variable('state')}={mask_url(value)!r} is not a valid state store: {reason}; "
        f"use e.g. {_EXAMPLES}"
    )


def open_store(url: str | None) -> StateStore:
    """The store named by a ``COURTSIDE_STATE`` value.

    ``None`` or blank (an env var set to nothing) -> SQLite at ``.courtside/state.sqlite`` under the
    working directory; ``memory``; ``sqlite:///abs/path.sqlite`` or ``sqlite:relative/path.sqlite``;
    ``redis://[:password@]host:port/db`` (``rediss://`` for TLS).
    """
    if url is None or not url.strip():
        return SqliteStore(Path.cwd() / DEFAULT_SQLITE_PATH)
    value = url.strip()
    if value == "memory":
        return MemoryStore()
    if value.startswith("sqlite:"):
        return SqliteStore(_sqlite_path(value))
    if value.startswith(("redis://", "rediss://")):
        _check_redis_url(value)
        return RedisStore(value)
    raise _bad_setting(url, "unknown scheme (expected memory, sqlite: or redis://)")


def _sqlite_path(value: str) -> Path:
    rest = value.removeprefix("sqlite:")
    if rest.startswith("///"):
        path = rest[2:]  # keep one leading slash: absolute path
    elif rest.startswith("//"):
        raise _bad_setting(value, "sqlite URLs take no host; use sqlite:///absolute or sqlite:relative")
    else:
        path = rest
    if not path.strip("/"):
        raise _bad_setting(value, "the sqlite path is empty")
    return Path(path)


def _check_redis_url(value: str) -> None:
    try:
        parts = urlsplit(value)
        _port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        raise _bad_setting(value, "the redis URL does not parse (bad port?)") from None
    if not parts.hostname:
        raise _bad_setting(value, "the redis URL has no host")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise _bad_setting(value, f"the redis database must be a number, got {db!r}")


# --------------------------------------------------------------------------- write guard


async def put_if_changed(
    store: StateStore,
    namespace: str,
    key: str,
    value: dict[str, Any],
    last_seen: dict[str, Any] | None,
    ttl_seconds: float | None = None,
) -> bool:
    """Write ``value`` only if it differs from ``last_seen``; return True if it wrote.

    Why: a circuit breaker records a success on every call, and pybreaker's storages reset the
    failure counter each time even when it already is zero. Against a shared store that turns every
    successful request into a write; the old platform exhausted a database write quota that way.

    ``last_seen`` is what this caller last read or wrote for the key (the caller owns it, so there
    is no hidden cache to go stale or leak between keys). It is compared after a JSON round trip,
    so a tuple and the list it reads back as count as unchanged. Trade-offs of skipping:

    * if another process changed the key since ``last_seen``, an "unchanged" value is not
      re-asserted; callers that must win re-read first;
    * an unchanged value does not refresh ``ttl_seconds``; use a plain ``put`` to keep a key alive.
    """
    if last_seen is not None and _normalise(value) == last_seen:
        return False
    await store.put(namespace, key, value, ttl_seconds)
    return True


# --------------------------------------------------------------------------- counter totals and leases
#
# Used by scrapers/metrics/totals.py so counters add up across one-job containers. Kept in one block
# of module functions (not Protocol methods) because they touch each store's internals; a store that
# is none of the three is a programming error (TypeError).
#
# * ``add_totals`` adds deltas to the named numbers of one JSON object and returns every total, in
#   one atomic step per store: Redis runs a Lua script (GET, add, SET), SQLite a BEGIN IMMEDIATE
#   transaction (other processes' writers wait on the file lock), memory a call without ``await``.
#   The value stays an ordinary JSON object, so ``get``/``items`` read it like any other.
# * ``acquire_lease``/``release_lease``: a key held by one owner until it is released or expires
#   (Redis SET NX PX; SQLite an upsert that only replaces an expired row). Expiry frees a lease
#   whose holder died.

_ADD_TOTALS_LUA = """
local raw = redis.call('GET', KEYS[1])
local totals = {}
if raw then totals = cjson.decode(raw) end
for name, delta in pairs(cjson.decode(ARGV[1])) do
    totals[name] = (totals[name] or 0) + delta
end
local encoded = cjson.encode(totals)
if next(totals) == nil then encoded = '{}' end
redis.call('SET', KEYS[1], encoded)
return encoded
"""
_RELEASE_LEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _lease_value(owner: str) -> str:
    return _encode({"owner": owner})


def _totals(value: dict[str, Any], where: str) -> dict[str, float]:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
        raise StateStoreError(f"corrupt totals at {where}: every value must be a number")
    return {name: float(v) for name, v in value.items()}


async def add_totals(
    store: StateStore, namespace: str, key: str, deltas: dict[str, float]
) -> dict[str, float]:
    """Add ``deltas`` to the numbers stored at ``namespace``/``key`` atomically; return all totals.

    A name not stored yet starts at 0, so a zero delta creates it. The key never expires.
    """
    _check_namespace(namespace)
    _check_key(key)
    _encode(dict(deltas))  # rejects NaN and non-numbers before anything is written
    if isinstance(store, (MemoryStore, SqliteStore)):
        # One transaction of the generic read-modify-write; Redis keeps its single Lua call below,
        # one round trip where the optimistic WATCH loop would retry under many containers.
        where = f"{namespace}:{key}"

        def add(current: dict[str, Any] | None) -> dict[str, Any]:
            totals = {} if current is None else _totals(current, where)
            for name, delta in deltas.items():
                totals[name] = totals.get(name, 0.0) + delta
            return totals

        return _totals(await read_modify_write(store, namespace, key, add) or {}, where)
    if isinstance(store, RedisStore):
        name = store._key(namespace, key)
        try:
            raw = await store._client.eval(_ADD_TOTALS_LUA, 1, name, _encode(dict(deltas)))
        except (RedisError, OSError) as exc:
            raise store._error(exc) from None
        return _totals(_decode(raw, name), name)
    raise TypeError(f"add_totals: unsupported store {store!r}")


async def acquire_lease(store: StateStore, namespace: str, key: str, owner: str, ttl_seconds: float) -> bool:
    """Take the lease ``namespace``/``key`` for ``owner`` unless someone holds it; True if taken."""
    _check_namespace(namespace)
    _check_key(key)
    _expires_at(ttl_seconds, 0.0)
    value = _lease_value(owner)
    if isinstance(store, MemoryStore):
        now = store._clock()
        if store._live(namespace, key, now) is not None:
            return False
        store._data[(namespace, key)] = (value, _expires_at(ttl_seconds, now))
        return True
    if isinstance(store, SqliteStore):
        return await store._run(_sqlite_acquire_lease, store, namespace, key, value, ttl_seconds)
    if isinstance(store, RedisStore):
        px = max(1, math.ceil(ttl_seconds * 1000))
        try:
            taken = await store._client.set(store._key(namespace, key), value, nx=True, px=px)
        except (RedisError, OSError) as exc:
            raise store._error(exc) from None
        return bool(taken)
    raise TypeError(f"acquire_lease: unsupported store {store!r}")


def _sqlite_acquire_lease(
    store: SqliteStore, namespace: str, key: str, value: str, ttl_seconds: float
) -> bool:
    now = time.time()
    # Inserted, or an expired holder's row replaced: RETURNING yields a row. A live holder: none.
    rows = (
        store._connection()
        .execute(
            "INSERT INTO state (namespace, key, value, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (namespace, key) DO UPDATE "
            "SET value = excluded.value, expires_at = excluded.expires_at "
            "WHERE state.expires_at IS NOT NULL AND state.expires_at <= ? RETURNING 1",
            (namespace, key, value, _expires_at(ttl_seconds, now), now),
        )
        .fetchall()
    )
    return bool(rows)


async def release_lease(store: StateStore, namespace: str, key: str, owner: str) -> None:
    """Give the lease back if ``owner`` still holds it (an expired and re-taken lease is not ours)."""
    _check_namespace(namespace)
    value = _lease_value(owner)
    if isinstance(store, MemoryStore):
        if store._live(namespace, key, store._clock()) == value:
            del store._data[(namespace, key)]
        return
    if isinstance(store, SqliteStore):
        await store._run(_sqlite_release_lease, store, namespace, key, value)
        return
    if isinstance(store, RedisStore):
        try:
            await store._client.eval(_RELEASE_LEASE_LUA, 1, store._key(namespace, key), value)
        except (RedisError, OSError) as exc:
            raise store._error(exc) from None
        return
    raise TypeError(f"release_lease: unsupported store {store!r}")


def _sqlite_release_lease(store: SqliteStore, namespace: str, key: str, value: str) -> None:
    store._connection().execute(
        "DELETE FROM state WHERE namespace = ? AND key = ? AND value = ?", (namespace, key, value)
    )


# --------------------------------------------------------------------------- fleet-wide rate budget
#
# Used by scrapers/http/fleet_budget.py: the per-host rate budget every process of a fleet draws on.
# Only Redis can run it (a script Redis executes to its end before any other command), so this takes
# a RedisStore, not any StateStore; SQLite and memory keep a limiter per process.


async def run_script(
    store: RedisStore, lua: str, namespace: str, key: str, args: Sequence[str | int | float]
) -> Any:
    """Run ``lua`` atomically on the one key ``courtside:<namespace>:<key>`` and return its reply.

    EVALSHA, loading the script on the first NOSCRIPT: the script's text crosses the network once
    per server, not once per call. Errors are StateStoreErrors without credentials.
    """
    _check_namespace(namespace)
    _check_key(key)
    script = store._client.register_script(lua)  # only hashes the text; nothing is sent here
    try:
        return await script(keys=[store._key(namespace, key)], args=list(args))
    except (RedisError, OSError) as exc:
        raise store._error(exc) from None


# --------------------------------------------------------------------------- compare-and-set
#
# Used by proxy/breakers.py, so the fleet's processes change one circuit without losing each
# other's updates: a failure counted by one process is never overwritten by another's stale copy,
# and only one process moves a circuit from open to probing. Module functions like the counter
# totals and leases block, for the same reason (they touch each store's internals).
#
# ``compare_and_set`` writes a JSON object only if the key still holds exactly the value the caller
# read (``None``: no live value), in one atomic step per store: Redis a Lua script comparing the
# stored string, SQLite one conditional UPDATE (or an INSERT that only replaces an expired row),
# memory a call without ``await``. Values compare as canonical JSON (``_encode``: sorted keys, no
# spaces), which is what ``put`` and this function store. The written key never expires.

_COMPARE_AND_SET_LUA = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
    if current then return 0 end
elseif current ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


async def compare_and_set(
    store: StateStore, namespace: str, key: str, expected: dict[str, Any] | None, value: dict[str, Any]
) -> bool:
    """Store ``value`` if the key's live value still equals ``expected``; True if this call wrote.

    The caller retries with a fresh read when it lost (False): someone else wrote in between.
    """
    _check_namespace(namespace)
    _check_key(key)
    raw = _encode(value)
    before = None if expected is None else _encode(expected)
    if isinstance(store, MemoryStore):
        if store._live(namespace, key, store._clock()) != before:
            return False
        store._data[(namespace, key)] = (raw, None)
        return True
    if isinstance(store, SqliteStore):
        return await store._run(_sqlite_compare_and_set, store, namespace, key, before, raw)
    if isinstance(store, RedisStore):
        return bool(await run_script(store, _COMPARE_AND_SET_LUA, namespace, key, [before or "", raw]))
    raise TypeError(f"compare_and_set: unsupported store {store!r}")


def _sqlite_compare_and_set(
    store: SqliteStore, namespace: str, key: str, before: str | None, raw: str
) -> bool:
    conn, now = store._connection(), time.time()
    if before is None:
        # Inserted, or an expired row replaced: RETURNING yields a row. A live value: none.
        rows = conn.execute(
            "INSERT INTO state (namespace, key, value, expires_at) VALUES (?, ?, ?, NULL) "
            "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = NULL "
            "WHERE state.expires_at IS NOT NULL AND state.expires_at <= ? RETURNING 1",
            (namespace, key, raw, now),
        ).fetchall()
        return bool(rows)
    # One statement: SQLite's write lock makes the comparison and the write one step.
    updated = conn.execute(
        f"UPDATE state SET value = ?, expires_at = NULL WHERE namespace = ? AND key = ? AND value = ? "
        f"AND {_LIVE}",
        (raw, namespace, key, before, now),
    )
    return updated.rowcount == 1


# --------------------------------------------------------------------------- atomic read-modify-write
#
# Used by scrapers/pipeline/ledger.py (the job ledger: a job's claim and its terminal status must be
# decided in one step, or two workers given the same redelivered message would both run it). A
# module function like the block above, for the same reason: it reaches into each store.
#
# ``change`` sees the current value (None when absent) and returns the value to store, or None to
# leave the key as it is (no write). It may run more than once (Redis retries it when another
# client wrote the key in between), so it must be a pure function of its argument. Values written
# here never expire.

Change = Callable[[dict[str, Any] | None], dict[str, Any] | None]


async def read_modify_write(
    store: StateStore, namespace: str, key: str, change: Change
) -> dict[str, Any] | None:
    """Apply ``change`` to ``namespace``/``key`` atomically; return the value stored afterwards.

    Redis: WATCH, GET, MULTI/SET/EXEC, retried when the key changed meanwhile (optimistic: a Lua
    script cannot run Python). SQLite: one BEGIN IMMEDIATE transaction, so another process' writer
    waits on the file lock. Memory: a call without ``await`` in between.
    """
    _check_namespace(namespace)
    _check_key(key)
    if isinstance(store, MemoryStore):
        raw = store._live(namespace, key, store._clock())
        current = None if raw is None else _decode(raw, f"memory:{namespace}:{key}")
        changed = change(current)
        if changed is None:
            return current
        store._data[(namespace, key)] = (_encode(changed), None)
        return _normalise(changed)
    if isinstance(store, SqliteStore):
        where = f"{store.path}:{namespace}:{key}"
        return await store._run(_sqlite_read_modify_write, store, namespace, key, change, where)
    if isinstance(store, RedisStore):
        return await _redis_read_modify_write(store, store._key(namespace, key), change)
    raise TypeError(f"read_modify_write: unsupported store {store!r}")


def _sqlite_read_modify_write(
    store: SqliteStore, namespace: str, key: str, change: Change, where: str
) -> dict[str, Any] | None:
    conn = store._connection()
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            f"SELECT value FROM state WHERE namespace = ? AND key = ? AND {_LIVE}",
            (namespace, key, time.time()),
        ).fetchone()
        current = None if row is None else _decode(str(row[0]), where)
        changed = change(current)
        if changed is not None:
            conn.execute(
                "INSERT INTO state (namespace, key, value, expires_at) VALUES (?, ?, ?, NULL) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = NULL",
                (namespace, key, _encode(changed)),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current if changed is None else _normalise(changed)


async def _redis_read_modify_write(store: RedisStore, name: str, change: Change) -> dict[str, Any] | None:
    try:
        async with store._client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(name)
                    raw = await pipe.get(name)
                    current = None if raw is None else _decode(raw, name)
                    changed = change(current)
                    if changed is None:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return current
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(name, _encode(changed))
                    await pipe.execute()
                    return _normalise(changed)
                except WatchError:
                    continue  # another client wrote the key between our read and our write
    except (RedisError, OSError) as exc:
        raise store._error(exc) from None
