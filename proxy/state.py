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
import json
import math
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

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
