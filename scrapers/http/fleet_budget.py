"""A host's rate budget shared by every process of a fleet: one Redis hash, changed only by one script.

With ``COURTSIDE_STATE=redis://…`` the tokens, the pause after a 429 and the learned (AIMD) rate of a
host live in the hash ``courtside:ratelimit:<host>``, so 4 or 40 replicas together send what one
process would. SQLite and memory state keep `AdaptiveLimiter`, one bucket per process.

The budget is GCRA (the "generic cell rate algorithm", a token bucket kept as one timestamp per
schedule), twice over. ``tat`` is the schedule of turns: a request reserves the next turn,
``max(now, pause end, tat - (burst - 1) * interval)``, and moves ``tat`` one interval on, in one
atomic step, so the turns of every process are spaced exactly, in the order Redis saw them, and a
waiting process sleeps once instead of polling. ``sent`` is the same bucket over what was actually
sent: when its turn comes the process asks once more and is told to send, or to wait the little
that keeps real sends spaced. A process that woke late (a loaded machine, a long parse on its
event loop) would otherwise send right before the next process' punctual turn, two requests one
interval apart on paper and a hair apart at the host; against a host that counts a sliding window
that pair is a 429, and each 429 halves the fleet's rate. Redis' clock (TIME) is the only clock,
so processes whose clocks disagree still agree on both schedules (Redis 5 or later, which
replicates a script by its effects; Memorystore's versions all do).

A 429 cuts the rate (once per generation, as in the process-local limiter), a Retry-After (on a
429 or a 503) pauses the whole fleet without a cut of its own, and either bumps ``epoch``: the
schedule restarts after the pause (or one new interval from now) and every turn handed out before
it is void: the process holding one asks again when it comes up, is told its epoch is gone, and
queues anew, so no turn handed out before a 429 is spent after it. Successes raise the rate as in
the process-local limiter: a run of requests the rate paced (a turn handed out at once to a process
with nobody waiting is not counted, and costs no round trip), the first run after a cut
``HOLD_AFTER_CUT`` times longer (``hold`` in the hash). The burst is learned with the rate
(``burst`` in the hash): a cut halves it, never below 1, and each raise gives one token back, up to
the configured burst.

Within a process, waiters for one host queue earliest due first, then first come first served (as
`AdaptiveLimiter.acquire`), and only the head holds a reservation: a process never holds more than
one turn it may not use (a cancelled fan-out of 30 requests would otherwise strand 30 turns of the
fleet's budget).

Why a script of our own instead of a limiter library with async Redis storage (`limits`' moving or
sliding window, `pyrate-limiter` v4's Redis bucket), compared before writing this:

* both limit at a rate fixed when the limiter is built; here the rate moves with 429s and success
  runs, for the whole fleet at once;
* neither has a host-wide pause nor a generation that makes a burst of 429s one cut; keeping those
  in keys beside the library's would make a grant two round trips another process can interleave
  (a grant slipping between a pause and its check), which is the bug this module exists to fix;
* they answer "allowed now?" (`limits`' hit/test and window stats) or sleep and retry locally
  (`pyrate-limiter`), so waiting processes poll Redis and the first poller wins, not the first
  asker; a GCRA reservation answers "your slot is at t" in one round trip.

The script is about 80 lines of arithmetic; owning it is cheaper than two half-fitting libraries.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from proxy.state import RedisStore, StateStore, StateStoreError, run_script
from scrapers.http.ratelimit import (
    HOLD_AFTER_CUT,
    MonotonicClock,
    OnChange,
    RateChange,
    RateLimitWaitExceeded,
    RateSettings,
    Sleep,
    Ticket,
    jittered,
    queue_position,
)

BUDGET_NAMESPACE = "ratelimit"
# A host nobody asked for a day starts again from its configured rate (the hash expires); a pause
# longer than that keeps the hash until the pause is over.
KEEP_SECONDS = 86400.0
_MICROS = 1_000_000
# How early, as a share of one interval, a send may come against the schedule of what was sent.
SEND_SLACK = 0.1

# KEYS[1]: the host's hash. ARGV: operation, the host's rate settings, the operation's numbers.
# Times are microseconds on Redis' clock; replies carry numbers as integers or %.17g strings (Lua's
# tostring keeps only 14 digits). Every write refreshes the expiry.
_SCRIPT = """
local key = KEYS[1]
local op = ARGV[1]
local configured, configured_burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local ceiling, floor = tonumber(ARGV[4]), tonumber(ARGV[5])
local step, factor, needed = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local keep_ms = tonumber(ARGV[9])
local a, b, c = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local s = redis.call('HMGET', key, 'rate', 'tat', 'sent', 'paused', 'gen', 'epoch', 'ok', 'hold', 'burst')
local rate = math.min(ceiling, math.max(floor, tonumber(s[1]) or configured))
-- the learned burst: halved by a cut, one back with each raise (as `AdaptiveLimiter`)
local burst = math.min(configured_burst, math.max(1, math.floor(tonumber(s[9]) or configured_burst)))
local tat = tonumber(s[2]) or 0     -- the schedule of turns (reservations)
local sent = tonumber(s[3]) or 0    -- the schedule of what was actually sent
local paused = tonumber(s[4]) or 0
local gen = tonumber(s[5]) or 0
local epoch = tonumber(s[6]) or 0
local ok = tonumber(s[7]) or 0
local hold = tonumber(s[8]) or needed  -- successes before the next increase (longer after a cut)
local interval = 1000000 / rate
local tau = (burst - 1) * interval
-- A send may come this much before the send schedule says: a turn kept on time right after a late
-- one is not pushed back (which would compound every wake-up's delay into lost rate), at the cost
-- of at most a tenth of a request more than the bucket allows over any span.
local slack = interval * tonumber(ARGV[13])

local function save()
  redis.call('HSET', key, 'rate', rate, 'tat', tat, 'sent', sent, 'paused', paused,
    'gen', gen, 'epoch', epoch, 'ok', ok, 'hold', hold, 'burst', burst)
  redis.call('PEXPIRE', key, math.max(keep_ms, math.ceil((paused - now) / 1000) + keep_ms))
end
local function text(x) return string.format('%.17g', x) end
local function reply(status, wait, slot)
  return {status, wait, gen, epoch, text(rate), slot, paused > now and 1 or 0, burst}
end

if op == 'acquire' then
  -- a: the longest wait the caller accepts (-1: any); b: the epoch of the turn it holds (-1: none).
  -- Status 1: send now. 2: the turn is held, ask again in `wait`. 0: refused, past the deadline.
  if b == epoch then
    -- A turn of the current schedule came up: send unless the last sends were late and bunched,
    -- so what the host sees is spaced even when a process woke late.
    local wait = math.max(0, paused - now, sent - tau - slack - now)
    if wait == 0 then
      sent = math.max(sent, now) + interval
      save()
      return reply(1, 0, 0)
    end
    if a >= 0 and wait > a then return reply(0, wait, 0) end
    return reply(2, wait, 0)
  end
  local slot = math.max(now, paused, tat - tau, sent - tau - slack)
  local wait = slot - now
  if a >= 0 and wait > a then return reply(0, wait, 0) end
  tat = math.max(tat, slot) + interval
  if wait == 0 then
    sent = math.max(sent, now) + interval
    save()
    return reply(1, 0, slot)
  end
  save()
  return reply(2, wait, slot)
elseif op == 'refund' then
  -- a: the epoch of the turn given back; b: its slot; c: 1 when it was sent. Only the last turn
  -- (or send) handed out comes back: crediting an earlier one would let two requests share a slot.
  if a == epoch then
    if tat - interval - tau <= math.max(now, b) + 1 then tat = math.max(now, tat - interval) end
    if c == 1 and sent - interval - tau <= now + 1 then sent = math.max(now, sent - interval) end
    save()
  end
  return {0, text(rate), burst}
elseif op == 'success' then
  -- a: the generation the request was sent under (only requests the rate paced are counted)
  local raised = 0
  if a == gen then
    ok = ok + 1
    if ok >= hold then
      ok = 0
      hold = needed
      local higher = math.min(ceiling, rate + step)
      local wider = math.min(configured_burst, burst + 1)
      if higher > rate or wider > burst then
        rate = higher
        burst = wider
        raised = 1
      end
    end
    save()
  end
  return {raised, text(rate), burst}
elseif op == 'limited' or op == 'pause' then
  -- limited, a 429. a: the generation the refused request was sent under; b: the pause asked for
  -- (0: none). pause, a Retry-After on a 503: b: the pause; the rate and the success run stay, the
  -- host is down for a while, not refusing our pace.
  local cut = 0
  local moved = false
  if op == 'limited' then
    if a == gen then
      gen = gen + 1
      cut = 1
      rate = math.max(floor, rate * factor)
      burst = math.max(1, math.floor(burst * factor))
      hold = needed * tonumber(ARGV[14])
      interval = 1000000 / rate
      tau = (burst - 1) * interval
      slack = interval * tonumber(ARGV[13])
      moved = true
    end
    ok = 0
  end
  if b > 0 and now + b > paused then
    paused = now + b
    moved = true
  end
  if moved then
    -- A new schedule: one probe when the pause ends (or one new interval from now), then the new
    -- interval. Turns handed out before are void (their epoch is gone).
    epoch = epoch + 1
    local base = now + interval
    if paused > now then base = paused end
    tat = base + tau
    sent = math.max(sent, base + tau)
  end
  save()
  return {cut, text(rate), burst}
end
return redis.error_reply('unknown rate budget operation ' .. tostring(op))
"""

_REFUSED, _SEND, _HOLD = 0, 1, 2


@dataclass(frozen=True)
class _Reply:
    """The script's answer to `acquire`."""

    status: int  # _SEND, _HOLD (ask again after `wait`) or _REFUSED (past the deadline)
    wait: float  # seconds
    generation: int
    epoch: int
    rate: float
    slot: int  # a new turn's time, microseconds on Redis' clock; 0 when none was handed out
    paused: bool  # the host is paused by a Retry-After
    burst: int  # the fleet's learned burst

    @classmethod
    def of(cls, raw: Any) -> _Reply:
        status, wait, generation, epoch, rate, slot, paused, burst = raw
        return cls(
            int(status),
            int(wait) / _MICROS,
            int(generation),
            int(epoch),
            float(rate),
            int(slot),
            bool(int(paused)),
            int(burst),
        )


class SharedLimiter:
    """The fleet-wide budget of one host (a `HostLimiter`), kept in Redis by `_SCRIPT`."""

    def __init__(
        self,
        store: RedisStore,
        host: str,
        settings: RateSettings,
        *,
        on_change: OnChange | None = None,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.settings = settings
        self._store = store
        self._on_change = on_change
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rate = settings.rate  # as last seen in the store; the store's value rules
        self._burst = settings.burst  # likewise
        self._queue: deque[asyncio.Future[None]] = deque()
        self._dues: dict[asyncio.Future[None], float] = {}  # each queued turn's due (`acquire`)

    @property
    def rate(self) -> float:
        """The fleet's current rate for this host, as last read (a gauge for metrics)."""
        return self._rate

    @property
    def burst(self) -> int:
        """The fleet's learned burst for this host, as last read."""
        return self._burst

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def acquire(self, *, deadline: float | None = None, due: float | None = None) -> Ticket:
        """Wait for this host's next turn in the fleet; in this process earliest `due` first, then
        first come first served (as `AdaptiveLimiter.acquire`).

        `deadline` is a time on this limiter's monotonic clock; a turn past it is refused at once
        (`RateLimitWaitExceeded`), before anything is reserved.
        """
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ahead = queue_position([self._dues[queued] for queued in self._queue], due)
        self._queue.insert(ahead, turn)
        self._dues[turn] = math.inf if due is None else due
        try:
            if ahead:
                await self._wait_turn(turn, ahead, deadline)
            return await self._reserve(deadline, queued=bool(ahead))
        finally:
            self._leave(turn)

    async def refund(self, ticket: Ticket) -> None:
        """Give back the turn of a request that never reached the host (its proxy failed)."""
        await self._call("refund", ticket.epoch, ticket.slot, 1)

    async def keep(self, ticket: Ticket) -> Ticket | None:
        """Whether a pause voided the turn is the fleet's schedule to say, in Redis: rather than a
        round trip to ask, the turn goes back and the request queues again (always correct)."""
        await self.refund(ticket)
        return None

    async def on_success(self, ticket: Ticket) -> bool:
        """Count a success towards the fleet's next rate increase; True when it raised the rate."""
        if ticket.idle or (self._rate >= self.settings.ceiling and self._burst >= self.settings.burst):
            # Not paced by the rate (no evidence it could be higher), or nothing to raise: spare
            # the round trip on every request of a steady host.
            return False
        raised, rate, burst = await self._call("success", ticket.generation)
        self._observe(rate, burst)
        return bool(int(raised))

    async def on_rate_limited(
        self, ticket: Ticket, retry_after: float | None = None, *, deadline: float | None = None
    ) -> bool:
        """Record a 429: cut the fleet's rate once per generation, pause every process for
        Retry-After (plus jitter, never past `deadline`). True when this event cut the rate."""
        cut, rate, burst = await self._call(
            "limited", ticket.generation, self._pause_micros(retry_after, deadline)
        )
        self._observe(rate, burst)
        return bool(int(cut))

    async def pause(self, retry_after: float, *, deadline: float | None = None) -> None:
        """A 503's Retry-After: pause every process (plus jitter, never past `deadline`), with the
        same new schedule as after a 429, but no cut of the fleet's rate."""
        micros = self._pause_micros(retry_after, deadline)
        if micros:
            _, rate, burst = await self._call("pause", -1, micros)
            self._observe(rate, burst)

    def _pause_micros(self, retry_after: float | None, deadline: float | None) -> int:
        within = None if deadline is None else deadline - self._clock()
        pause = jittered(retry_after, self._rng, within=within)
        return math.ceil(pause * _MICROS) if pause is not None and math.isfinite(pause) and pause > 0 else 0

    # -- internals

    async def _wait_turn(self, turn: asyncio.Future[None], ahead: int, deadline: float | None) -> None:
        if deadline is None:
            await turn
            return
        try:
            async with asyncio.timeout(max(0.0, deadline - self._clock())):
                await turn
        except TimeoutError:
            # Still queued behind `ahead` requests of this process at the deadline; each of them
            # needed at least one interval of the fleet's rate.
            raise RateLimitWaitExceeded(self.host, ahead / self._rate, paused=False) from None

    async def _reserve(self, deadline: float | None, *, queued: bool) -> Ticket:
        """`queued`: this request waited behind others of this process (the rate paced it)."""
        held = -1  # the epoch of the turn this waiter holds, -1 for none
        slot = 0
        paced = queued
        try:
            while True:
                max_wait = (
                    -1 if deadline is None else max(0, math.floor((deadline - self._clock()) * _MICROS))
                )
                reply = _Reply.of(await self._call("acquire", max_wait, held))
                self._observe(reply.rate, reply.burst)
                if reply.status == _REFUSED:
                    held = -1  # a turn the deadline cannot use is left to lapse (at most one)
                    raise RateLimitWaitExceeded(self.host, reply.wait, paused=reply.paused)
                if reply.slot:
                    slot = reply.slot  # a new turn (the first, or after a 429 voided the old one)
                if reply.status == _SEND:
                    held = -1
                    return Ticket(reply.generation, reply.epoch, slot, idle=not paced)
                held = reply.epoch
                paced = True
                await self._sleep(reply.wait)
        except asyncio.CancelledError:
            if held >= 0:
                # Cancelled while holding a turn (a sibling request failed, shutdown): give it back,
                # which the script allows when it is the last one handed out. Losing a turn because
                # the store is unreachable costs one interval, never the cancellation itself.
                with contextlib.suppress(StateStoreError):
                    await self._call("refund", held, slot, 0)
            raise

    def _leave(self, turn: asyncio.Future[None]) -> None:
        self._dues.pop(turn, None)
        was_head = bool(self._queue) and self._queue[0] is turn
        with contextlib.suppress(ValueError):
            self._queue.remove(turn)
        if was_head and self._queue and not self._queue[0].done():
            self._queue[0].set_result(None)

    async def _call(self, op: str, a: int, b: int = 0, c: int = 0) -> Any:
        s = self.settings
        args: list[str | int | float] = [
            op,
            s.rate,
            s.burst,
            s.ceiling,
            s.floor,
            s.increase_step,
            s.decrease_factor,
            s.successes_to_increase,
            int(KEEP_SECONDS * 1000),
            a,
            b,
            c,
            SEND_SLACK,
            HOLD_AFTER_CUT,
        ]
        return await run_script(self._store, _SCRIPT, BUDGET_NAMESPACE, self.host, args)

    def _observe(self, rate: Any, burst: Any) -> None:
        new, self._burst = float(rate), int(burst)
        if new == self._rate:
            return
        old, self._rate = self._rate, new
        if self._on_change is not None:
            self._on_change(
                RateChange(self.host, old, new, "decrease" if new < old else "increase", self._burst)
            )


def fleet_store(store: StateStore) -> RedisStore | None:
    """The store a fleet-wide budget can live in: Redis only (SQLite and memory: None)."""
    return store if isinstance(store, RedisStore) else None
