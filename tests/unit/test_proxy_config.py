"""Proxy tiers from the file, credentials from the environment, and the pool's tier arithmetic."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from proxy.config import (
    DIRECT_ONLY,
    BreakerSettings,
    ProxyConfigError,
    ProxyEndpoint,
    load_proxy_config,
    parse_proxy_config,
)
from proxy.pool import PoolSettings, ProxyPool
from proxy.state import MemoryStore
from scrapers.core.errors import SettingsError
from scrapers.core.settings import Settings

THREE_TIERS: dict[str, Any] = {
    "tiers": [
        {"name": "direct"},
        {
            "name": "datacenter",
            "proxies": [{"name": "dc1", "url": "http://dc.example:2000", "credentials_env": "DC_CREDS"}],
        },
        {"name": "residential", "proxies": [{"name": "res1", "url": "http://res.example:10001"}]},
    ]
}


def test_tiers_keep_file_order_and_endpoints() -> None:
    config = parse_proxy_config(THREE_TIERS)

    assert config.names() == ["direct", "datacenter", "residential"]
    direct, datacenter, _ = config.tiers
    assert direct.is_direct
    assert datacenter.proxies == (ProxyEndpoint("dc1", "datacenter", "http://dc.example:2000", "DC_CREDS"),)
    assert config.breaker == BreakerSettings()


def test_credentials_come_from_the_environment_url_encoded() -> None:
    endpoint = parse_proxy_config(THREE_TIERS).tiers[1].proxies[0]

    # The variable's name is the file's choice, so Settings looks it up by name.
    url, password = endpoint.connect_url(Settings.from_env({"DC_CREDS": "user:p~a+ss/word"}).secret)

    # The 2026-01-23 407s came from an unencoded `~` and `+` in a password.
    assert url == "http://user:p~a%2Bss%2Fword@dc.example:2000"
    assert password == "p~a+ss/word"


def test_missing_credentials_name_the_variable_and_give_an_example() -> None:
    endpoint = parse_proxy_config(THREE_TIERS).tiers[1].proxies[0]

    with pytest.raises(ProxyConfigError, match=r"DC_CREDS: .*user:password .*example"):
        endpoint.connect_url(Settings.from_env({}).secret)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tier": []}, "expected 'tiers:'"),
        ({"tiers": [{"name": "a"}, {"name": "a"}]}, "unique name"),
        ({"tiers": [{"proxies": []}]}, "unique name"),
        ({"tiers": [{"name": "dc", "proxies": [{"name": "p"}]}]}, "needs a name and a url"),
        (
            {"tiers": [{"name": "dc", "proxies": [{"name": "p", "url": "http://u:secret@h:1"}]}]},
            "credentials in its url",
        ),
        ({"tiers": [{"name": "direct"}], "breaker": {"fail_max": 0}}, "fail_max >= 1"),
        ({"tiers": [{"name": "direct"}], "breaker": {"fail_max": "many"}}, "must be numbers"),
        ({"tiers": [{"name": "direct"}], "breaker": {"reset": 5}}, "fail_max and reset_seconds"),
    ],
)
def test_bad_files_are_rejected_with_the_reason(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ProxyConfigError, match=message) as caught:
        parse_proxy_config(document, source="proxies.yaml")
    assert "secret" not in str(caught.value)


def test_breaker_settings_reach_the_pool() -> None:
    config = parse_proxy_config({**THREE_TIERS, "breaker": {"fail_max": 5, "reset_seconds": 60}})

    pool = ProxyPool(config, MemoryStore())

    assert config.breaker == BreakerSettings(fail_max=5, reset_seconds=60.0)
    assert (pool.settings.breaker_fail_max, pool.settings.breaker_reset_seconds) == (5, 60.0)


def test_no_file_means_direct_only(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert load_proxy_config(Settings.from_env({}).proxies_file) is DIRECT_ONLY
    # A file that is not there is refused when the settings are read, before anything runs ...
    with pytest.raises(SettingsError, match=r"COURTSIDE_PROXIES_FILE='.*missing\.yaml': path does not point"):
        Settings.from_env({"COURTSIDE_PROXIES_FILE": str(missing)})
    # ... and one that goes away afterwards when it is read.
    with pytest.raises(ProxyConfigError, match="COURTSIDE_PROXIES_FILE: cannot read"):
        load_proxy_config(missing)


def test_file_is_read_from_the_environment_setting(tmp_path: Path) -> None:
    path = tmp_path / "proxies.yaml"
    path.write_text(
        "tiers:\n  - name: direct\n  - name: residential\n    proxies:\n"
        "      - {name: r, url: 'http://r:1'}\n",
        encoding="utf-8",
    )

    settings = Settings.from_env({"COURTSIDE_PROXIES_FILE": str(path)})

    assert load_proxy_config(settings.proxies_file).names() == ["direct", "residential"]


# --- tier arithmetic of the pool -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "start", "expected"),
    [
        (("direct", "datacenter", "residential"), "datacenter", ["datacenter", "residential"]),
        (("direct", "datacenter", "residential"), None, ["direct", "datacenter", "residential"]),
        (("direct",), "datacenter", ["direct"]),  # nothing allowed above the start: the top allowed
        (("residential",), "direct", ["residential"]),
        (("mobile",), None, []),  # allowed tiers that are not configured here
    ],
)
def test_tiers_for_starts_at_the_start_tier_among_configured_ones(
    allowed: tuple[str, ...], start: str | None, expected: list[str]
) -> None:
    pool = ProxyPool(parse_proxy_config(THREE_TIERS), MemoryStore())

    assert [tier.name for tier in pool.tiers_for(allowed, start)] == expected


def test_scores_rise_only_when_told_and_decay_with_clean_requests_and_time() -> None:
    async def scenario() -> None:
        now = [1000.0]
        settings = PoolSettings(half_life_seconds=100.0)
        pool = ProxyPool(parse_proxy_config(THREE_TIERS), MemoryStore(), settings, clock=lambda: now[0])
        tiers = pool.tiers_for(("direct", "datacenter", "residential"), None)

        await pool.record("h", "direct", raises_score=False, clean=False)  # e.g. a 503: no change
        assert await pool.scores("h") == {}

        await pool.record("h", "direct", raises_score=True, clean=False)
        assert [t.name for t in await pool.plan("h", tiers)] == ["datacenter", "residential"]

        now[0] += 100.0  # one half-life: 1.0 -> 0.5, still at the threshold
        assert await pool.scores("h") == {"direct": pytest.approx(0.5)}
        now[0] += 1.0
        assert (await pool.plan("h", tiers))[0].name == "direct"

    asyncio.run(scenario())
