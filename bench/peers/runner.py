"""What every peer shares: its process, the job plan in its terms, and the results it hands back.

Parent side (`run_peer`): start `python -m bench.peers.<peer>` with the scenario, wait until it
has imported its framework and prepared the jobs (it prints `ready`), then start the simulator and
send the simulated addresses on the child's stdin (`go`). The child runs the jobs, writes one JSON
file of job results and request counts, and exits; the parent turns that file into a `PolicyRun`
and measures the run from the simulator's traffic log exactly as for the in-process policies.
One process per peer and run: Scrapy's Twisted reactor cannot be restarted in one process, and
nothing of one peer (pools, sessions, learned delays) can leak into the next.

Child side (`PeerSession`, `JobPlan`, `child_main`): the benchmark's jobs in the peer's terms.
Each job is a tree of requests as the fleet's runner walks it (`scraper.requests`, then each
page's `follow_ups`: one follow-up continues a chain, several fan out), so a peer asks exactly the
requests the fleet's scrapers plan, with their real URLs; the peer's transport rewrites a URL to
its simulated twin only when sending, as the core's upstream overrides do. Every response the peer
hands over is judged by the core's classification and the scraper's own parser, so the peers
differ from the fleet only in how they fetch. Jobs are admitted `concurrency` at a time, in the
scenario's order, like `run_policy` does for the in-process policies; a job's time runs from its
admission to its last page (simulated seconds, from the child's monotonic clock times the scale).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.jobs import BenchJob, expand, follow_ups, host_sources, parse, scraper_and_options, status_of
from bench.policies.base import UNFINISHED, Attempts, JobRecord, PolicyRun
from bench.policies.fixed_delay import secret_headers, secret_params, simulated
from bench.scenario import Scenario, load_scenario
from bench.simulator import Simulator
from proxy.config import DIRECT, ProxyConfig, ProxyEndpoint, Tier
from proxy.pool import ProxyPool
from proxy.state import MemoryStore
from scrapers.core.errors import ScrapeError
from scrapers.core.outcome import Outcome
from scrapers.core.registry import Registry, load_registry
from scrapers.core.request import Page, Request
from scrapers.http.decode import to_page
from scrapers.http.policy import SourcePolicy
from scrapers.pipeline.runner import Job

READY = "ready"
# Wall seconds a child may take to import its framework and prepare the jobs.
START_SECONDS = 120.0
# Wall seconds a child may outlive the time cap (it writes its results at the cap and exits).
EXIT_GRACE_SECONDS = 15.0
LOG_TAIL_CHARS = 3000
TIER_ORDER = ("datacenter", "residential")  # after direct, cheapest first (bench/policies/fleet.py)


@dataclass(frozen=True)
class Peer:
    name: str  # the name in --policies
    title: str  # the table's column
    module: str  # `python -m <module>` is the peer's process
    imports: tuple[str, ...]  # what the `peers` extra installs for it


PEERS: Mapping[str, Peer] = {
    "crawlee": Peer("crawlee", "crawlee 1.11", "bench.peers.crawlee_peer", ("crawlee", "impit")),
    "scrapy": Peer("scrapy", "Scrapy 2.19", "bench.peers.scrapy_peer", ("scrapy", "twisted")),
}
INSTALL_HINT = "pip install -e '.[dev,peers]' (or: make bench-peers)"


class PeerError(RuntimeError):
    """A peer's process did not run to the end; the message carries the tail of its log."""


def missing_extra(names: Sequence[str]) -> list[str]:
    """The peers of `names` whose framework is not installed."""
    return [
        name
        for name in names
        if name in PEERS and any(importlib.util.find_spec(module) is None for module in PEERS[name].imports)
    ]


# --- what crosses the process boundary ----------------------------------------------------------


@dataclass(frozen=True)
class ProxySpec:
    name: str
    tier: str
    url: str


@dataclass(frozen=True)
class Prepare:
    """argv of the child: everything known before the simulator starts."""

    scenario: str
    registry: str
    scale: float
    concurrency: int
    cap_wall: float

    def argv(self) -> list[str]:
        return ["--prepare", json.dumps(asdict(self))]

    @classmethod
    def from_argv(cls, argv: Sequence[str] | None = None) -> Prepare:
        parser = argparse.ArgumentParser(
            description="a peer of the chaos benchmark (started by python -m bench)"
        )
        parser.add_argument(
            "--prepare", required=True, help="JSON: scenario, registry, scale, concurrency, cap"
        )
        return cls(**json.loads(parser.parse_args(argv).prepare))


@dataclass(frozen=True)
class Go:
    """The child's stdin once the simulator listens: where everything is, where results go."""

    overrides: dict[str, str]  # "https://host" -> "http://127.0.0.1:PORT"
    proxies: tuple[ProxySpec, ...]
    hosts: dict[str, str]  # every host the jobs ask (the oracle's run) -> its registry source
    job_keys: tuple[str, ...]  # the run order, checked against the child's own expansion
    results: str

    def to_line(self) -> bytes:
        return (json.dumps(asdict(self)) + "\n").encode("utf-8")

    @classmethod
    def from_line(cls, line: str) -> Go:
        raw = json.loads(line)
        return cls(
            overrides=dict(raw["overrides"]),
            proxies=tuple(ProxySpec(**p) for p in raw["proxies"]),
            hosts=dict(raw["hosts"]),
            job_keys=tuple(raw["job_keys"]),
            results=raw["results"],
        )


@dataclass(frozen=True)
class JobResult:
    index: int
    status: str  # success, no_data, failed or unfinished
    detail: str
    seconds: float  # simulated


# --- parent side -------------------------------------------------------------------------------


async def run_peer(
    peer: Peer,
    simulator: Callable[[], Simulator],
    jobs: Sequence[BenchJob],
    *,
    scenario: Scenario,
    registry: Registry,
    scale: float,
    cap_wall: float,
) -> tuple[PolicyRun, Simulator]:
    """Run one peer's process against a fresh simulator; the simulator is returned for its log."""
    prepare = Prepare(str(scenario.path), str(registry.path), scale, scenario.concurrency, cap_wall)
    with tempfile.TemporaryDirectory(prefix=f"bench-{peer.name}-") as folder:
        log_path = Path(folder) / "peer.log"
        results = Path(folder) / "results.json"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                peer.module,
                *prepare.argv(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            try:
                return await _drive(peer, process, simulator, jobs, results, log_path, cap_wall)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


async def _drive(
    peer: Peer,
    process: asyncio.subprocess.Process,
    simulator: Callable[[], Simulator],
    jobs: Sequence[BenchJob],
    results: Path,
    log_path: Path,
    cap_wall: float,
) -> tuple[PolicyRun, Simulator]:
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_SECONDS)
    except TimeoutError:
        raise PeerError(f"{peer.title}: not ready after {START_SECONDS:g} s\n{_tail(log_path)}") from None
    if line.decode("utf-8", "replace").strip() != READY:
        raise PeerError(f"{peer.title}: did not start ({line!r})\n{_tail(log_path)}")
    async with simulator() as sim:
        go = Go(
            overrides=sim.overrides,
            proxies=tuple(ProxySpec(p.name, p.tier, sim.proxy_urls[p.name]) for p in sim.scenario.proxies),
            hosts=host_sources(jobs),
            job_keys=tuple(job.job.key for job in jobs),
            results=str(results),
        )
        started = time.monotonic()
        process.stdin.write(go.to_line())
        await process.stdin.drain()
        try:
            code = await asyncio.wait_for(process.wait(), cap_wall + EXIT_GRACE_SECONDS)
        except TimeoutError:
            raise PeerError(
                f"{peer.title}: still running {EXIT_GRACE_SECONDS:g} s past the time cap\n{_tail(log_path)}"
            ) from None
        wall = time.monotonic() - started
    if code != 0 or not results.exists():
        raise PeerError(f"{peer.title}: exited {code} without results\n{_tail(log_path)}")
    return _policy_run(peer, json.loads(results.read_text(encoding="utf-8")), jobs, wall), sim


def _policy_run(peer: Peer, raw: Mapping[str, Any], jobs: Sequence[BenchJob], wall: float) -> PolicyRun:
    ended = {int(r["index"]): JobResult(**r) for r in raw["jobs"]}
    records = []
    for job in jobs:
        result = ended.get(job.index)
        if result is None:
            raise PeerError(f"{peer.title}: no result for job {job.index} ({job.job.key})")
        records.append(JobRecord(job, result.status, result.detail, result.seconds))
    return PolicyRun(
        policy=peer.name,
        title=peer.title,
        records=records,
        attempts=Attempts(Counter({tier: int(n) for tier, n in raw["attempts"].items()})),
        wall_seconds=wall,
    )


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="utf-8", errors="replace")
        return f"--- last lines of its log ---\n{text[-LOG_TAIL_CHARS:]}"
    return "(no log)"


# --- child side: routes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    """One tier of a host's ladder: its name and proxies (none for direct)."""

    tier: str
    proxies: tuple[ProxySpec, ...]


@dataclass(frozen=True)
class Route:
    """How a host may be reached, from the same registry facts the fleet starts from."""

    host: str
    source: str
    ladder: tuple[Rung, ...]  # the source's tiers, cheapest first, from its start tier up
    timeouts: Mapping[str, float]  # simulated seconds per tier (registry `timeouts:`)
    rate: float  # the source's configured requests per simulated second for the host

    def timeout(self, tier: str) -> float:
        return self.timeouts[tier]


def proxy_config(proxies: Sequence[ProxySpec]) -> ProxyConfig:
    """The tiers as the fleet's benchmark configuration lists them (bench/policies/fleet.py)."""
    tiers = [Tier(DIRECT)]
    for tier in TIER_ORDER:
        endpoints = tuple(ProxyEndpoint(p.name, tier, p.url) for p in proxies if p.tier == tier)
        if endpoints:
            tiers.append(Tier(tier, endpoints))
    return ProxyConfig(tuple(tiers))


def route(host: str, source: str, policy: SourcePolicy, config: ProxyConfig) -> Route:
    """The host's ladder as the fleet's pool would plan it (`tiers_for`), before any evidence."""
    tiers = ProxyPool(config, MemoryStore()).tiers_for(policy.tiers, policy.start_tier)
    ladder = tuple(
        Rung(tier.name, tuple(ProxySpec(e.name, e.tier, e.url) for e in tier.proxies)) for tier in tiers
    )
    return Route(
        host=host,
        source=source,
        ladder=ladder,
        timeouts={tier.name: policy.timeout_for(tier.name) for tier in tiers},
        rate=policy.rate_for(host).rate,
    )


# --- child side: one job's plan ----------------------------------------------------------------


@dataclass
class _Node:
    request: Request
    children: list[int] = field(default_factory=list)
    page: Page | None = None


@dataclass(frozen=True)
class Planned:
    """One request of one job, with the real URL and headers the peer should send."""

    job: int  # the job's index in the run order
    node: int  # the request's place in the job's plan
    request: Request
    url: str  # full URL with query (secrets included; the simulator ignores them)
    headers: Mapping[str, str]

    @property
    def host(self) -> str:
        return self.request.host


class JobPlan:
    """One job's requests as the fleet's runner walks them, and the verdict on its pages."""

    def __init__(self, index: int, job: Job, policy: SourcePolicy) -> None:
        self.index = index
        self.job = job
        self.source = job.entry.source
        self.policy = policy
        self.scraper, self.opts = scraper_and_options(job)
        self._nodes: list[_Node] = []
        self._roots: list[int] = []
        self._pending = 0
        self.began: float | None = None
        self.ended = False

    def start(self) -> list[Planned]:
        self.began = time.monotonic()
        planned = [self._add(request) for request in self.scraper.requests(self.opts)]
        self._roots = [p.node for p in planned]
        return planned

    def answered(self, node: int, status: int, headers: Mapping[str, str], body: bytes) -> list[Planned]:
        """A response the peer accepted: judged as the core judges it; the follow-ups it leads to.

        Raises ScrapeError when the response is not clean or the plan cannot continue: the job
        fails with that class, as in the fleet's runner.
        """
        entry = self._nodes[node]
        entry.page = to_page(
            entry.request, status, headers, body, rules=self.policy.rules_for(entry.request.host)
        )
        self._pending -= 1
        children = [self._add(request) for request in follow_ups(self.scraper, self.opts, entry.page)]
        entry.children = [child.node for child in children]
        return children

    @property
    def complete(self) -> bool:
        return self._pending == 0 and bool(self._nodes)

    def verdict(self) -> tuple[str, str]:
        """Parse every page in the runner's order (a chain, then its fan-out): status and detail."""
        pages: list[Page] = []

        def visit(node: int) -> None:
            entry = self._nodes[node]
            assert entry.page is not None
            pages.append(entry.page)
            for child in entry.children:
                visit(child)

        for root in self._roots:
            visit(root)
        try:
            parsed = parse(self.scraper, self.opts, pages, f"peer-{self.index}")
        except ScrapeError as exc:
            return "failed", exc.outcome.value
        return status_of(parsed).value, parsed.no_data_reason or ""

    def _add(self, request: Request) -> Planned:
        self._nodes.append(_Node(request))
        self._pending += 1
        query = [*request.params, *secret_params(request)]
        url = f"{request.url}?{urlencode(query)}" if query else request.url
        return Planned(
            self.index, len(self._nodes) - 1, request, url, {**request.headers, **secret_headers(request)}
        )


# --- child side: the session -------------------------------------------------------------------


class PeerSession:
    """The child's state: jobs, routes, admission, request counts, results and the time cap."""

    def __init__(self, prepare: Prepare) -> None:
        self.prepare = prepare
        self.scale = prepare.scale
        self.registry = load_registry(Path(prepare.registry))
        self.scenario = load_scenario(prepare.scenario)
        self.plans = [
            JobPlan(i, job, self._policy(job.entry.source))
            for i, job in enumerate(expand(self.scenario, self.registry))
        ]
        self.go: Go | None = None
        self.attempts: Counter[str] = Counter()
        self._routes: dict[str, Route] = {}
        self._tier_by_port: dict[int, str] = {}
        self._results: dict[int, JobResult] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._in_flight = 0
        self._written = False

    def _policy(self, source: str) -> SourcePolicy:
        return SourcePolicy.from_settings(source, self.registry.sources[source].settings)

    def receive(self, go: Go) -> None:
        keys = tuple(plan.job.key for plan in self.plans)
        if keys != go.job_keys:
            raise RuntimeError(
                "the child's job order differs from the parent's (registry or scenario changed?)"
            )
        self.go = go
        config = proxy_config(go.proxies)
        self._routes = {
            host: route(host, source, self._policy(source), config)
            for host, source in sorted(go.hosts.items())
        }
        for proxy in go.proxies:
            port = urlsplit(proxy.url).port
            assert port is not None
            self._tier_by_port[port] = proxy.tier

    # Routes, URLs, counts ------------------------------------------------------------------------

    def route(self, host: str) -> Route:
        found = self._routes.get(host)
        if found is None:
            raise LookupError(f"{host}: no job of the scenario asked this host in the oracle's run")
        return found

    def routes(self) -> list[Route]:
        """A route for every host the scenario's jobs ask (from the oracle's fault-free run)."""
        return list(self._routes.values())

    def wire_url(self, url: str) -> str:
        """The URL on the simulator (plain HTTP on loopback), as the core's upstream overrides do."""
        assert self.go is not None
        return simulated(url, self.go.overrides)

    def tier_of(self, proxy_url: str | None) -> str:
        if not proxy_url:
            return DIRECT
        return self._tier_by_port.get(urlsplit(proxy_url).port or 0, "unknown")

    def count(self, proxy_url: str | None) -> None:
        """One request sent (refused connections too): by the tier of the proxy it went through."""
        self.attempts[self.tier_of(proxy_url)] += 1

    def wall(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.scale

    # Admission and results ------------------------------------------------------------------------

    def admit(self) -> list[JobPlan]:
        """The next jobs in the run order while fewer than `concurrency` are in flight."""
        admitted = []
        while self._in_flight < self.prepare.concurrency and self._next < len(self.plans):
            plan = self.plans[self._next]
            self._next += 1
            self._in_flight += 1
            admitted.append(plan)
        return admitted

    @property
    def all_admitted(self) -> bool:
        return self._next >= len(self.plans)

    @property
    def done(self) -> bool:
        return len(self._results) == len(self.plans)

    def end(self, plan: JobPlan, status: str, detail: str) -> bool:
        """Record how a job ended (once); False if it had already ended."""
        if plan.ended:
            return False
        plan.ended = True
        began = plan.began if plan.began is not None else time.monotonic()
        with self._lock:
            self._results[plan.index] = JobResult(
                plan.index, status, detail, (time.monotonic() - began) * self.scale
            )
        self._in_flight -= 1
        return True

    def fail(self, plan: JobPlan, outcome: Outcome | str) -> bool:
        return self.end(plan, "failed", outcome.value if isinstance(outcome, Outcome) else outcome)

    def finish_if_complete(self, plan: JobPlan) -> bool:
        """End the job with its parsed verdict once its last page is in; True if it ended now."""
        if not plan.complete or plan.ended:
            return False
        status, detail = plan.verdict()
        return self.end(plan, status, detail)

    def write(self) -> None:
        """The results file: every job (unfinished ones at the cap), and the request counts."""
        assert self.go is not None
        now = time.monotonic()
        with self._lock:
            if self._written:
                return
            self._written = True
            jobs = []
            for plan in self.plans:
                result = self._results.get(plan.index)
                if result is None:
                    began = plan.began if plan.began is not None else now
                    result = JobResult(plan.index, UNFINISHED, "time cap", (now - began) * self.scale)
                jobs.append(asdict(result))
            document = {"jobs": jobs, "attempts": dict(self.attempts)}
        target = Path(self.go.results)
        partial = target.with_suffix(".partial")
        partial.write_text(json.dumps(document), encoding="utf-8")
        partial.replace(target)

    def arm_cap(self) -> None:
        """At the time cap: write what has ended (the rest unfinished) and leave at once."""

        def at_cap() -> None:
            self.write()
            os._exit(0)

        timer = threading.Timer(self.prepare.cap_wall, at_cap)
        timer.daemon = True
        timer.start()


def child_main(run: Callable[[PeerSession], Coroutine[Any, Any, None] | None]) -> None:
    """A peer process: prepare, say ready, wait for the simulator's addresses, run, write, exit.

    `run` drives the peer until every job has ended (the cap timer ends the process otherwise).
    Leaving through os._exit skips the frameworks' teardown, which has nothing to add to the
    results and can wait on hung connections.
    """
    session = PeerSession(Prepare.from_argv())
    out = sys.stdout
    out.write(READY + "\n")
    out.flush()
    # Everything a framework prints goes to the log, never to the parent's ready pipe.
    sys.stdout = sys.stderr
    line = sys.stdin.readline()
    if not line:
        os._exit(3)  # the parent went away before the simulator started
    session.receive(Go.from_line(line))
    session.arm_cap()
    outcome = run(session)
    if outcome is not None:
        asyncio.run(outcome)
    session.write()
    sys.stderr.flush()
    os._exit(0)
