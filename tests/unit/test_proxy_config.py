"""Proxy tiers from the file, credentials from the environment, and the pool's tier arithmetic.

The pool's evidence and probes are in tests/unit/test_proxy_pool.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proxy.config import (
    DIRECT_ONLY,
    BreakerSettings,
    EscalationSettings,
    ProxyConfigError,
    ProxyEndpoint,
    load_proxy_config,
    parse_proxy_config,
)
from proxy.pool import ProxyPool
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
        ({"tiers": [{"name": "direct"}, {"name": "direct"}]}, "unique name"),
        ({"tiers": [{"proxies": []}]}, "unique name"),
        ({"tiers": [{"name": "dc", "proxies": [{"name": "p"}]}]}, "needs a name and a url"),
        (
            {"tiers": [{"name": "dc", "proxies": [{"name": "p", "url": "http://u:secret@h:1"}]}]},
            "credentials in its url",
        ),
        ({"tiers": [{"name": "direct"}], "breaker": {"fail_max": 0}}, "fail_max >= 1"),
        ({"tiers": [{"name": "direct"}], "breaker": {"fail_max": "many"}}, "must be numbers"),
        ({"tiers": [{"name": "direct"}], "breaker": {"reset": 5}}, "breaker takes fail_max, reset_seconds"),
        (
            {"tiers": [{"name": "direct"}], "breaker": {"reset_seconds": 60, "max_reset_seconds": 30}},
            "max_reset_seconds >= reset_seconds",
        ),
        ({"tiers": [{"name": "direct"}], "escalation": {"blocked_proxies": 0}}, "blocked_proxies >= 1"),
        ({"tiers": [{"name": "direct"}], "escalation": {"blocked_proxies": 1.5}}, "a whole blocked_proxies"),
        (
            {"tiers": [{"name": "direct"}], "escalation": {"probe_every": 5}},
            "escalation takes blocked_proxies",
        ),
        ({"tiers": [{"name": "direct"}], "escalation": {"probe_after_seconds": "soon"}}, "must be numbers"),
        ({"tiers": [{"name": "direct"}], "escalation": {"patience_seconds": -5}}, "patience_seconds >= 0"),
        ({"tiers": [{"name": "direct", "cost": -1}]}, "cost must be a number >= 0"),
        ({"tiers": [{"name": "direct", "cost": "cheap"}]}, "cost must be a number >= 0"),
        ({"tiers": [{"name": "direct", "cost": True}]}, "cost must be a number >= 0"),
        ({"tiers": [{"name": "direct", "cost": float("nan")}]}, "cost must be a number >= 0"),
        (
            {"tiers": [{"name": "mobile", "proxies": [{"name": "m", "url": "http://m:1"}]}]},
            "mobile: needs a cost",
        ),
        (
            {"tiers": [{"name": "residential"}, {"name": "datacenter"}]},
            "cost 1 is less than the cost 10 of tier residential",
        ),
        (
            {
                "tiers": [
                    {
                        "name": "dc",
                        "cost": 1,
                        "proxies": [{"name": "p", "url": "http://h:1", "error_headers": "X Y"}],
                    }
                ]
            },
            "error_headers must be a list of header names",
        ),
    ],
)
def test_bad_files_are_rejected_with_the_reason(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ProxyConfigError, match=message) as caught:
        parse_proxy_config(document, source="proxies.yaml")
    assert "secret" not in str(caught.value)


def test_breaker_settings_reach_the_pool() -> None:
    config = parse_proxy_config({**THREE_TIERS, "breaker": {"fail_max": 5, "reset_seconds": 60}})

    pool = ProxyPool(config, MemoryStore())

    assert config.breaker == BreakerSettings(fail_max=5, reset_seconds=60.0, max_reset_seconds=600.0)
    assert (pool.settings.breaker_fail_max, pool.settings.breaker_reset_seconds) == (5, 60.0)
    assert pool.settings.breaker_max_reset_seconds == 600.0


def test_a_first_window_longer_than_the_default_cap_raises_the_cap_with_it() -> None:
    config = parse_proxy_config({**THREE_TIERS, "breaker": {"reset_seconds": 900}})

    assert (config.breaker.reset_seconds, config.breaker.max_reset_seconds) == (900.0, 900.0)


def test_escalation_settings_reach_the_pool() -> None:
    document = {
        **THREE_TIERS,
        "escalation": {
            "blocked_proxies": 3,
            "probe_after_seconds": 10,
            "probe_every_requests": 0,
            "patience_seconds": 0,
        },
    }
    config = parse_proxy_config(document)

    settings = ProxyPool(config, MemoryStore()).settings

    assert config.escalation == EscalationSettings(3, 10.0, 1800.0, 0, 0.0)
    assert (
        settings.blocked_proxies,
        settings.probe_after_seconds,
        settings.probe_every_requests,
        settings.patience_seconds,
    ) == (3, 10.0, 0, 0.0)
    assert parse_proxy_config(THREE_TIERS).escalation.patience_seconds == 60.0  # the default


def test_tier_costs_default_by_name_and_can_be_set() -> None:
    assert parse_proxy_config(THREE_TIERS).costs() == {"direct": 0.0, "datacenter": 1.0, "residential": 10.0}
    assert DIRECT_ONLY.costs() == {"direct": 0.0}
    document = {
        "tiers": [
            {"name": "datacenter", "cost": 2, "proxies": [{"name": "d", "url": "http://d:1"}]},
            {"name": "mobile", "cost": 25.5, "proxies": [{"name": "m", "url": "http://m:1"}]},
        ]
    }
    assert parse_proxy_config(document).costs() == {"datacenter": 2.0, "mobile": 25.5}


def test_error_headers_are_kept_lower_case() -> None:
    proxy = {"name": "p", "url": "http://h:1", "error_headers": ["X-Proxy-Error", "X-Gateway-Fault"]}
    config = parse_proxy_config({"tiers": [{"name": "datacenter", "proxies": [proxy]}]})

    assert config.tiers[0].proxies[0].error_headers == ("x-proxy-error", "x-gateway-fault")


def test_a_bad_cost_in_the_proxies_file_is_exit_2_with_an_example(tmp_path: Path) -> None:
    path = tmp_path / "proxies.yaml"
    path.write_text("tiers:\n  - {name: residential, cost: lots}\n", encoding="utf-8")

    with pytest.raises(ProxyConfigError) as caught:
        load_proxy_config(path)

    assert caught.value.exit_code == 2
    assert "example: {name: residential, cost: 10" in str(caught.value)


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
