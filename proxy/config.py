"""Proxy tiers from a file; credentials only from the environment.

The file (`COURTSIDE_PROXIES_FILE`) lists tiers in cost order:

    tiers:
      - name: direct
      - name: datacenter
        proxies:
          - {name: proxyfuel, url: "http://gate2.proxyfuel.com:2000", credentials_env: PROXYFUEL_CREDENTIALS}
      - name: residential
        proxies:
          - {name: decodo-1, url: "http://gate.decodo.com:10001", credentials_env: DECODO_PROXY_CREDENTIALS}
    breaker: {fail_max: 3, reset_seconds: 300}   # optional; per (proxy, target host)

A credentials variable holds `user:password` (raw; it is URL-encoded here, because the 2026-01-23
407s came from `~` and `+` in a password). Its name is the file's to choose, so it is not a declared
setting: it is looked up by name in the environment the process's settings were read from. Without
the file there is one tier, `direct`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

from scrapers.core.errors import BadConfiguration
from scrapers.core.settings import SecretLookup, Settings

DIRECT = "direct"


class ProxyConfigError(BadConfiguration, ValueError):
    """The proxy configuration is unusable; the message names the setting and gives an example."""


@dataclass(frozen=True)
class ProxyEndpoint:
    name: str
    tier: str
    url: str  # never holds credentials
    credentials_env: str | None = None

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

    @property
    def is_direct(self) -> bool:
        return not self.proxies


@dataclass(frozen=True)
class BreakerSettings:
    """When a proxy's circuit for one host opens (consecutive failures) and when it may probe again."""

    fail_max: int = 3
    reset_seconds: float = 300.0


@dataclass(frozen=True)
class ProxyConfig:
    tiers: tuple[Tier, ...]
    breaker: BreakerSettings = BreakerSettings()

    def names(self) -> list[str]:
        return [tier.name for tier in self.tiers]

    def get(self, name: str) -> Tier | None:
        return next((tier for tier in self.tiers if tier.name == name), None)


DIRECT_ONLY = ProxyConfig(tiers=(Tier(DIRECT),))


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
        tiers.append(Tier(name, endpoints))
    return ProxyConfig(tuple(tiers), _breaker(document.get("breaker"), source))


def _breaker(raw: object, source: str) -> BreakerSettings:
    if raw is None:
        return BreakerSettings()
    example = "breaker: {fail_max: 3, reset_seconds: 300}"
    if not isinstance(raw, dict) or set(raw) - {"fail_max", "reset_seconds"}:
        raise ProxyConfigError(f"{source}: breaker takes fail_max and reset_seconds (example: {example})")
    try:
        settings = BreakerSettings(
            fail_max=int(raw.get("fail_max", BreakerSettings.fail_max)),
            reset_seconds=float(raw.get("reset_seconds", BreakerSettings.reset_seconds)),
        )
    except (TypeError, ValueError):
        raise ProxyConfigError(f"{source}: breaker values must be numbers (example: {example})") from None
    if settings.fail_max < 1 or settings.reset_seconds < 0:
        raise ProxyConfigError(
            f"{source}: breaker needs fail_max >= 1 and reset_seconds >= 0 (example: {example})"
        )
    return settings


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
    return ProxyEndpoint(str(raw["name"]), tier, url, str(credentials_env) if credentials_env else None)
