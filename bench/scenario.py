"""Chaos scenarios: YAML data files in bench/scenarios/, so a new scenario needs no code.

All durations and rates in a scenario are *simulated* (production) seconds; the harness divides
durations and multiplies rates by the time scale, the same for every policy. Layout:

    name: standard
    seed: 20240115            # every fault draw derives from it (see bench/simulator/dice.py)
    scale: 30                 # simulated seconds per wall second (python -m bench --scale overrides)
    concurrency: 8            # jobs in flight at once, for every policy
    warmup_seconds: 60        # excluded from the 429 share and the achieved rate
    time_cap_seconds: 3600    # jobs still running then are cancelled and counted as unfinished
    rate_host: api.bettingpros.com   # the host whose achieved rate is reported
    fixtures: tests/fixtures  # relative to the repository root
    upstream_defaults:        # every simulated host, unless `upstreams:` overrides a key
      latency: [0.05, 0.3]    # seconds, uniform
      slow: {probability: 0.01, seconds: 8}
      hang: 0.0               # probability that a request is never answered
      reset: 0.0              # probability of a TCP reset instead of an answer
      errors: {probability: 0.05, codes: [500, 502, 503]}
      rate_limit: {fleet_rate_fraction: 0.5, burst: 2}   # or per_second: 0.2; null: unlimited
    upstreams:
      api.bettingpros.com: {hang: 0.01}
    proxies:
      - {name: dc-1, tier: datacenter, provider: proxyfuel, forbid_hosts: [api.bettingpros.com]}
      - {name: dc-2, tier: datacenter, hang: 0.1, outages: {every: 240, for: 20}}
      - {name: res-1, tier: residential, provider: decodo}
    jobs:
      - {scraper: bp_player_props, options: {date: "2024-01-15"}, count: 12}
      - {scraper: nbac_play_by_play, options: {game_id: "0022300999", gamedate: "2024-01-15"},
         expect: not_found}

Proxy faults: `forbid_hosts` (403 for those hosts: the origin blocks the proxy's addresses;
`forbid_until: S` lifts the block S simulated seconds after the start), `auth_required` (407 on
every request), `refuse` (the port never accepts), `outages` (the port refuses during `for`
seconds out of every `every`), `hang`, `reset` and `bad_gateway` (the proxy's own 502, marked by
RFC 9209 Proxy-Status; probabilities per request), `latency`. `provider` only matters to the old
platform's breaker, keyed by provider and host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
EXPECTATIONS = ("success", "no_data", "not_found")
TIERS = ("datacenter", "residential")


class ScenarioError(ValueError):
    """A scenario file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class RateLimitSpec:
    """A token bucket at the upstream: `per_second` (or a fraction of the fleet's configured rate)."""

    per_second: float | None = None
    fleet_rate_fraction: float | None = None
    burst: float = 2.0
    retry_after: float | None = None  # fixed; None: the time until the next token, at least 1 s


@dataclass(frozen=True)
class UpstreamProfile:
    latency: tuple[float, float] = (0.02, 0.2)
    slow_probability: float = 0.0
    slow_seconds: float = 0.0
    hang: float = 0.0
    reset: float = 0.0
    error_probability: float = 0.0
    error_codes: tuple[int, ...] = (500, 502, 503)
    rate_limit: RateLimitSpec | None = None


@dataclass(frozen=True)
class ProxyProfile:
    name: str
    tier: str
    provider: str
    forbid_hosts: frozenset[str] = frozenset()
    auth_required: bool = False
    refuse: bool = False
    outage_every: float | None = None
    outage_for: float = 0.0
    hang: float = 0.0
    reset: float = 0.0
    latency: tuple[float, float] = (0.005, 0.03)
    bad_gateway: float = 0.0
    forbid_until: float | None = None  # simulated seconds; None: forbid_hosts are refused for good


@dataclass(frozen=True)
class JobSpec:
    scraper: str
    options: Mapping[str, Any]
    count: int = 1
    expect: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    seed: int
    scale: float
    concurrency: int
    warmup_seconds: float
    time_cap_seconds: float
    rate_host: str | None
    fixtures: Path
    upstream_defaults: UpstreamProfile
    upstreams: Mapping[str, UpstreamProfile]
    proxies: tuple[ProxyProfile, ...]
    jobs: tuple[JobSpec, ...]
    description: str = ""

    def upstream(self, host: str) -> UpstreamProfile:
        return self.upstreams.get(host, self.upstream_defaults)

    @property
    def job_count(self) -> int:
        return sum(spec.count for spec in self.jobs)


def scenario_path(name_or_path: str) -> Path:
    """`standard` means bench/scenarios/standard.yaml; anything else is a path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    return SCENARIOS / f"{name_or_path}.yaml"


def load_scenario(name_or_path: str) -> Scenario:
    path = scenario_path(name_or_path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc}") from None
    return parse_scenario(document, path)


def parse_scenario(document: object, path: Path) -> Scenario:
    where = str(path)
    raw = _mapping(document, where)
    defaults_raw = _mapping(raw.get("upstream_defaults") or {}, f"{where}: upstream_defaults")
    defaults = _upstream(defaults_raw, f"{where}: upstream_defaults")
    upstreams = {
        str(host): _upstream(
            {**defaults_raw, **_mapping(value or {}, f"{where}: upstreams.{host}")}, f"{where}: {host}"
        )
        for host, value in _mapping(raw.get("upstreams") or {}, f"{where}: upstreams").items()
    }
    proxies = tuple(_proxy(item, f"{where}: proxies") for item in _list(raw.get("proxies"), "proxies", where))
    names = [proxy.name for proxy in proxies]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{where}: proxies: every proxy needs a unique name (got {names})")
    jobs = tuple(_job(item, f"{where}: jobs") for item in _list(raw.get("jobs"), "jobs", where))
    if not jobs:
        raise ScenarioError(f"{where}: jobs: at least one job is needed")
    fixtures = Path(str(raw.get("fixtures", "tests/fixtures")))
    scenario = Scenario(
        name=str(raw.get("name", path.stem)),
        path=path,
        description=str(raw.get("description", "")).strip(),
        seed=int(_number(raw.get("seed", 1), "seed", where)),
        scale=_positive(raw.get("scale", 1.0), "scale", where),
        concurrency=int(_positive(raw.get("concurrency", 4), "concurrency", where)),
        warmup_seconds=_number(raw.get("warmup_seconds", 0.0), "warmup_seconds", where),
        time_cap_seconds=_positive(raw.get("time_cap_seconds", 3600.0), "time_cap_seconds", where),
        rate_host=str(raw["rate_host"]) if raw.get("rate_host") else None,
        fixtures=fixtures if fixtures.is_absolute() else ROOT / fixtures,
        upstream_defaults=defaults,
        upstreams=upstreams,
        proxies=proxies,
        jobs=jobs,
    )
    if not scenario.fixtures.is_dir():
        raise ScenarioError(f"{where}: fixtures: {scenario.fixtures} is not a folder")
    return scenario


def _upstream(raw: Mapping[str, Any], where: str) -> UpstreamProfile:
    known = {"latency", "slow", "hang", "reset", "errors", "rate_limit"}
    _only(raw, known, where)
    slow = _mapping(raw.get("slow") or {}, f"{where}: slow")
    errors = _mapping(raw.get("errors") or {}, f"{where}: errors")
    limit = raw.get("rate_limit")
    return UpstreamProfile(
        latency=_range(raw.get("latency", (0.02, 0.2)), f"{where}: latency"),
        slow_probability=_probability(slow.get("probability", 0.0), f"{where}: slow.probability"),
        slow_seconds=_number(slow.get("seconds", 0.0), "slow.seconds", where),
        hang=_probability(raw.get("hang", 0.0), f"{where}: hang"),
        reset=_probability(raw.get("reset", 0.0), f"{where}: reset"),
        error_probability=_probability(errors.get("probability", 0.0), f"{where}: errors.probability"),
        error_codes=tuple(int(code) for code in errors.get("codes", (500, 502, 503))),
        rate_limit=None if limit is None else _rate_limit(_mapping(limit, f"{where}: rate_limit"), where),
    )


def _rate_limit(raw: Mapping[str, Any], where: str) -> RateLimitSpec:
    _only(raw, {"per_second", "fleet_rate_fraction", "burst", "retry_after"}, f"{where}: rate_limit")
    if ("per_second" in raw) == ("fleet_rate_fraction" in raw):
        raise ScenarioError(f"{where}: rate_limit needs exactly one of per_second or fleet_rate_fraction")
    retry_after = raw.get("retry_after")
    return RateLimitSpec(
        per_second=_positive(raw["per_second"], "per_second", where) if "per_second" in raw else None,
        fleet_rate_fraction=(
            _positive(raw["fleet_rate_fraction"], "fleet_rate_fraction", where)
            if "fleet_rate_fraction" in raw
            else None
        ),
        burst=_positive(raw.get("burst", 2.0), "burst", where),
        retry_after=None if retry_after is None else _positive(retry_after, "retry_after", where),
    )


def _proxy(item: object, where: str) -> ProxyProfile:
    raw = _mapping(item, where)
    known = {"name", "tier", "provider", "forbid_hosts", "auth_required", "refuse", "outages"}
    _only(raw, known | {"hang", "reset", "latency", "bad_gateway", "forbid_until"}, where)
    name, tier = str(raw.get("name", "")), str(raw.get("tier", ""))
    if not name or tier not in TIERS:
        raise ScenarioError(f"{where}: every proxy needs a name and a tier ({', '.join(TIERS)}), got {raw}")
    outages = _mapping(raw.get("outages") or {}, f"{where}: {name}.outages")
    return ProxyProfile(
        name=name,
        tier=tier,
        provider=str(raw.get("provider", name)),
        forbid_hosts=frozenset(str(host) for host in raw.get("forbid_hosts") or ()),
        auth_required=bool(raw.get("auth_required", False)),
        refuse=bool(raw.get("refuse", False)),
        outage_every=_positive(outages["every"], "outages.every", where) if outages else None,
        outage_for=_number(outages.get("for", 0.0), "outages.for", where),
        hang=_probability(raw.get("hang", 0.0), f"{where}: {name}.hang"),
        reset=_probability(raw.get("reset", 0.0), f"{where}: {name}.reset"),
        latency=_range(raw.get("latency", (0.005, 0.03)), f"{where}: {name}.latency"),
        bad_gateway=_probability(raw.get("bad_gateway", 0.0), f"{where}: {name}.bad_gateway"),
        forbid_until=(
            _number(raw["forbid_until"], f"{name}.forbid_until", where)
            if raw.get("forbid_until") is not None
            else None
        ),
    )


def _job(item: object, where: str) -> JobSpec:
    raw = _mapping(item, where)
    _only(raw, {"scraper", "options", "count", "expect"}, where)
    if not raw.get("scraper"):
        raise ScenarioError(f"{where}: every job needs a scraper, got {raw}")
    expect = raw.get("expect")
    if expect is not None and expect not in EXPECTATIONS:
        raise ScenarioError(f"{where}: expect must be one of {', '.join(EXPECTATIONS)}, got {expect!r}")
    return JobSpec(
        scraper=str(raw["scraper"]),
        options=dict(_mapping(raw.get("options") or {}, f"{where}: options")),
        count=int(_positive(raw.get("count", 1), "count", where)),
        expect=expect,
    )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: expected a mapping, got {value!r}")
    return value


def _list(value: object, key: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: {key} must be a list")
    return value


def _only(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = set(raw) - known
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")


def _number(value: object, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _positive(value: object, key: str, where: str) -> float:
    number = _number(value, key, where)
    if number <= 0:
        raise ScenarioError(f"{where}: {key} must be positive, got {value!r}")
    return number


def _probability(value: object, where: str) -> float:
    number = _number(value, "probability", where)
    if not 0.0 <= number <= 1.0:
        raise ScenarioError(f"{where}: a probability is between 0 and 1, got {value!r}")
    return number


def _range(value: object, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ScenarioError(f"{where}: expected [min, max] seconds, got {value!r}")
    low, high = (_number(v, "latency", where) for v in value)
    if not 0 <= low <= high:
        raise ScenarioError(f"{where}: expected 0 <= min <= max, got {value!r}")
    return low, high
