"""Proxy tiers from a file; credentials only from the environment.

The file (`COURTSIDE_PROXIES_FILE`) lists tiers in cost order:

    tiers:
      - name: direct
      - name: datacenter
        proxies:
          - {name: proxyfuel, url: "http://gate2.proxyfuel.com:2000", credentials_env: PROXYFUEL_CREDENTIALS}
      - name: residential
        cost: 10                     # optional for direct/datacenter/residential (0, 1, 10)
        proxies:
          - {name: decodo-1, url: "http://gate.decodo.com:10001", credentials_env: DECODO_PROXY_CREDENTIALS}
    breaker: {fail_max: 3, reset_seconds: 30, max_reset_seconds: 600}    # optional; per (proxy, host)
    escalation: {blocked_proxies: 2, probe_after_seconds: 60, probe_every_requests: 20,   # optional
                 patience_seconds: 60}

A credentials variable holds `user:password` (raw; it is URL-encoded here, because the 2026-01-23
407s came from `~` and `+` in a password). Its name is the file's to choose, so it is not a declared
setting: it is looked up by name in the environment the process's settings were read from. Without
the file there is one tier, `direct`.

**Cost.** A tier's `cost` is what one request through it weighs on the proxy bill, in datacenter
requests: the weighted proxy cost of some traffic is sum(requests x cost) over the tiers, the figure
the tier choice minimises (proxy/pool.py) and the metrics export (`scraper_proxy_requests_total`
and `scraper_proxy_tier_cost` per tier). Defaults: `direct` 0, `datacenter` 1, `residential` 10.
Direct is 0, not 1, because the figure is proxy spend: no provider bills a direct request, and the
sources that only go direct (ESPN, The Odds API) would otherwise add the same constant to every
policy compared and hide the difference in proxy spend behind it (their waste is measured as
requests per success instead). Any other tier name must say its cost. Tiers are listed cheapest
first, so a tier may not cost less than the one before it.

**Proxy error headers.** A proxy's `error_headers` names headers the provider puts on the error
responses it writes itself, besides the ones every proxy is checked for (RFC 9209 `Proxy-Status`
with `error=`, Squid's `X-Squid-Error`, Bright Data's `x-brd-error`): such a response is the
proxy's fault, not the origin's (scrapers/http/classify.py, `proxy_error`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

from scrapers.core.errors import BadConfiguration
from scrapers.core.settings import SecretLookup, Settings

DIRECT = "direct"
# One request through a tier of these names, in datacenter requests, unless the file says otherwise.
DEFAULT_TIER_COSTS: Mapping[str, float] = {DIRECT: 0.0, "datacenter": 1.0, "residential": 10.0}


class ProxyConfigError(BadConfiguration, ValueError):
    """The proxy configuration is unusable; the message names the setting and gives an example."""


@dataclass(frozen=True)
class ProxyEndpoint:
    name: str
    tier: str
    url: str  # never holds credentials
    credentials_env: str | None = None
    # Lower-case names of headers this provider puts on the error responses it writes itself.
    error_headers: tuple[str, ...] = ()

    def connect_url(self, secrets: SecretLookup) -> tuple[str, str | None]:
        """The URL to hand to the HTTP client, and the password to register for redaction."""
        if not self.credentials_env:
            return self.url, None
        credentials = secrets(self.credentials_env)
        if not credentials or ":" not in credentials:
            raise ProxyConfigError(
                f"{self.credentials_env}: proxy '{self.name}' needs credentials as user:password "
                "(example: export PROXYFUEL_CREDENTIALS='user:secret')"
            )
        user, _, password = credentials.partition(":")
        parts = urlsplit(self.url)
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), password


@dataclass(frozen=True)
class Tier:
    name: str
    proxies: tuple[ProxyEndpoint, ...] = ()
    # One request through this tier, in datacenter requests (module docstring, "Cost").
    cost: float = 1.0

    @property
    def is_direct(self) -> bool:
        return not self.proxies


@dataclass(frozen=True)
class BreakerSettings:
    """When a proxy's circuit for one host opens (consecutive failures) and when it may probe again.

    The first probe comes `reset_seconds` after the circuit opened; each failed probe doubles the
    wait, up to `max_reset_seconds`. A short first window matters for cost: while the cheap
    proxies of a host are open its requests go to the expensive tier, so a datacenter proxy that
    was down for 30 s must not be shunned for 5 minutes, and a proxy that stays down is still
    probed only about once per `max_reset_seconds`.
    """

    fail_max: int = 3
    reset_seconds: float = 30.0
    max_reset_seconds: float = 600.0


@dataclass(frozen=True)
class EscalationSettings:
    """When requests to a host start above a tier, and when that tier is tried again.

    A tier is skipped for a host only on evidence that the tier, not one proxy, is blocked there:
    blocks through `blocked_proxies` distinct proxies of it (or through all of them, for a smaller
    tier) since its last clean answer there. A skipped tier gets one probe request from the fleet
    `probe_after_seconds` after it was skipped (each probe that is blocked again doubles the wait,
    up to `max_probe_after_seconds`), and one in `probe_every_requests` of a process's requests
    that skipped it probes it too (0: only the clock), so de-escalation costs a bounded share.

    A request that would leave a tier only because its proxies' circuits are open (their own
    faults: a provider's gateway down for half a minute, not the host's blocks) waits for the first
    of them to take requests again, for up to `patience_seconds` in all and only while its job would
    keep at least that much time afterwards, rather than paying the next tier (0: never waits).
    """

    blocked_proxies: int = 2
    probe_after_seconds: float = 60.0
    max_probe_after_seconds: float = 1800.0
    probe_every_requests: int = 20
    patience_seconds: float = 60.0


@dataclass(frozen=True)
class ProxyConfig:
    tiers: tuple[Tier, ...]
    breaker: BreakerSettings = BreakerSettings()
    escalation: EscalationSettings = EscalationSettings()

    def names(self) -> list[str]:
        return [tier.name for tier in self.tiers]

    def get(self, name: str) -> Tier | None:
        return next((tier for tier in self.tiers if tier.name == name), None)

    def costs(self) -> dict[str, float]:
        """Each tier's cost, by name, in file order."""
        return {tier.name: tier.cost for tier in self.tiers}


DIRECT_ONLY = ProxyConfig(tiers=(Tier(DIRECT, cost=DEFAULT_TIER_COSTS[DIRECT]),))


def load_proxy_config(path: Path | None) -> ProxyConfig:
    """The tiers of the COURTSIDE_PROXIES_FILE setting; None: direct only."""
    if path is None:
        return DIRECT_ONLY
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProxyConfigError(f"{Settings.variable('proxies_file')}: cannot read {path}: {exc}") from None
    return parse_proxy_config(document, source=str(path))


def parse_proxy_config(document: object, source: str = "proxy config") -> ProxyConfig:
    if not isinstance(document, dict) or not isinstance(document.get("tiers"), list):
        raise ProxyConfigError(f"{source}: expected 'tiers:' with a list of tiers (see proxy/config.py)")
    tiers: list[Tier] = []
    for raw_tier in document["tiers"]:
        name = str(raw_tier.get("name", "")) if isinstance(raw_tier, dict) else ""
        if not name or name in {tier.name for tier in tiers}:
            raise ProxyConfigError(f"{source}: every tier needs a unique name (got {raw_tier!r})")
        endpoints = tuple(_endpoint(raw, name, source) for raw in raw_tier.get("proxies") or [])
        cost = _cost(raw_tier, name, source)
        if tiers and cost < tiers[-1].cost:
            raise ProxyConfigError(
                f"{source}: tier {name}: cost {cost:g} is less than the cost {tiers[-1].cost:g} of tier "
                f"{tiers[-1].name} before it; list tiers cheapest first (example: datacenter with "
                "cost: 1, then residential with cost: 10)"
            )
        tiers.append(Tier(name, endpoints, cost))
    return ProxyConfig(
        tuple(tiers),
        _breaker(document.get("breaker"), source),
        _escalation(document.get("escalation"), source),
    )


def _cost(raw_tier: dict[str, object], name: str, source: str) -> float:
    example = f"{{name: {name}, cost: 10, proxies: [...]}}"
    if "cost" not in raw_tier:
        if name in DEFAULT_TIER_COSTS:
            return DEFAULT_TIER_COSTS[name]
        raise ProxyConfigError(
            f"{source}: tier {name}: needs a cost, one request through it in datacenter requests "
            f"(only {', '.join(DEFAULT_TIER_COSTS)} have defaults; example: {example})"
        )
    value = raw_tier["cost"]
    # bool is an int to Python; `cost: yes` is a typo, not a weight of 1.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ProxyConfigError(
            f"{source}: tier {name}: cost must be a number >= 0, got {value!r} (example: {example})"
        )
    return float(value)


def _numbers(
    raw: object, source: str, block: str, defaults: dict[str, float], example: str, cap: tuple[str, str]
) -> dict[str, float]:
    """The numbers of an optional settings block, defaults filled in; exit 2 on anything else.

    `cap` names a maximum and the value it bounds: unless given, the maximum is never below it.
    """
    if raw is None:
        return dict(defaults)
    if not isinstance(raw, dict) or set(raw) - set(defaults):
        raise ProxyConfigError(f"{source}: {block} takes {', '.join(defaults)} (example: {example})")
    values = dict(defaults)
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ProxyConfigError(
                f"{source}: {block} values must be numbers, {key} is {value!r} (example: {example})"
            )
        values[key] = float(value)
    maximum, bounded = cap
    if maximum not in raw:
        values[maximum] = max(values[maximum], values[bounded])
    return values


def _breaker(raw: object, source: str) -> BreakerSettings:
    example = "breaker: {fail_max: 3, reset_seconds: 30, max_reset_seconds: 600}"
    defaults = BreakerSettings()
    values = _numbers(
        raw,
        source,
        "breaker",
        {
            "fail_max": defaults.fail_max,
            "reset_seconds": defaults.reset_seconds,
            "max_reset_seconds": defaults.max_reset_seconds,
        },
        example,
        cap=("max_reset_seconds", "reset_seconds"),
    )
    if values["fail_max"] < 1 or values["fail_max"] != int(values["fail_max"]) or values["reset_seconds"] < 0:
        raise ProxyConfigError(
            f"{source}: breaker needs a whole fail_max >= 1 and reset_seconds >= 0 (example: {example})"
        )
    if values["max_reset_seconds"] < values["reset_seconds"]:
        raise ProxyConfigError(
            f"{source}: breaker needs max_reset_seconds >= reset_seconds (example: {example})"
        )
    return BreakerSettings(int(values["fail_max"]), values["reset_seconds"], values["max_reset_seconds"])


def _escalation(raw: object, source: str) -> EscalationSettings:
    example = (
        "escalation: {blocked_proxies: 2, probe_after_seconds: 60, max_probe_after_seconds: 1800, "
        "probe_every_requests: 20, patience_seconds: 60}"
    )
    defaults = EscalationSettings()
    values = _numbers(
        raw,
        source,
        "escalation",
        {
            "blocked_proxies": defaults.blocked_proxies,
            "probe_after_seconds": defaults.probe_after_seconds,
            "max_probe_after_seconds": defaults.max_probe_after_seconds,
            "probe_every_requests": defaults.probe_every_requests,
            "patience_seconds": defaults.patience_seconds,
        },
        example,
        cap=("max_probe_after_seconds", "probe_after_seconds"),
    )
    blocked, every = values["blocked_proxies"], values["probe_every_requests"]
    if (
        blocked < 1
        or blocked != int(blocked)
        or every < 0
        or every != int(every)
        or values["probe_after_seconds"] < 0
        or values["patience_seconds"] < 0
    ):
        raise ProxyConfigError(
            f"{source}: escalation needs a whole blocked_proxies >= 1, a whole probe_every_requests >= 0, "
            f"probe_after_seconds >= 0 and patience_seconds >= 0 (example: {example})"
        )
    if values["max_probe_after_seconds"] < values["probe_after_seconds"]:
        raise ProxyConfigError(
            f"{source}: escalation needs max_probe_after_seconds >= probe_after_seconds (example: {example})"
        )
    return EscalationSettings(
        int(blocked),
        values["probe_after_seconds"],
        values["max_probe_after_seconds"],
        int(every),
        values["patience_seconds"],
    )


def _endpoint(raw: object, tier: str, source: str) -> ProxyEndpoint:
    if not isinstance(raw, dict) or not raw.get("name") or not raw.get("url"):
        raise ProxyConfigError(f"{source}: tier {tier}: every proxy needs a name and a url")
    url = str(raw["url"])
    if urlsplit(url).password or urlsplit(url).username:
        # Credentials in a file end up in repos and logs; the old platform leaked them this way.
        raise ProxyConfigError(
            f"{source}: proxy '{raw['name']}' has credentials in its url; put them in an environment "
            "variable and name it in credentials_env"
        )
    credentials_env = raw.get("credentials_env")
    return ProxyEndpoint(
        str(raw["name"]),
        tier,
        url,
        str(credentials_env) if credentials_env else None,
        _error_headers(raw.get("error_headers"), str(raw["name"]), source),
    )


def _error_headers(raw: object, name: str, source: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    headers = [raw] if isinstance(raw, str) else raw
    if not isinstance(headers, list) or not all(
        isinstance(h, str) and h and all(c.isalnum() or c in "-_" for c in h) for h in headers
    ):
        raise ProxyConfigError(
            f"{source}: proxy '{name}': error_headers must be a list of header names, got {raw!r} "
            "(example: error_headers: [X-Proxy-Error])"
        )
    return tuple(h.lower() for h in headers)
