"""Where a run reads and writes, from flags or environment. One name per setting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scrapers.core.errors import OptionError
from scrapers.core.registry import Registry

OUT_ENV = "COURTSIDE_OUT"
FIXTURES_ENV = "COURTSIDE_FIXTURES"
UPSTREAMS_ENV = "COURTSIDE_UPSTREAMS"
DEFAULT_OUT = "./data"


@dataclass(frozen=True)
class Locations:
    out: str  # a local folder or gs://bucket/prefix
    fixtures: Path


def locations(
    registry: Registry, out: str | None, fixtures: str | None, environ: Mapping[str, str]
) -> Locations:
    return Locations(
        out=out or environ.get(OUT_ENV) or DEFAULT_OUT,
        fixtures=Path(fixtures or environ.get(FIXTURES_ENV) or registry.root / "tests" / "fixtures"),
    )


def upstream_overrides(text: str | None) -> dict[str, str]:
    """`https://stats.nba.com=http://127.0.0.1:8101,https://cdn.nba.com=http://127.0.0.1:8102`."""
    overrides: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        base, sep, target = item.partition("=")
        if not sep or "://" not in base or "://" not in target:
            raise OptionError(
                UPSTREAMS_ENV,
                f"'{item}' is not BASE=REPLACEMENT",
                "https://stats.nba.com=http://127.0.0.1:8101",
            )
        overrides[base.strip()] = target.strip()
    return overrides


def environ() -> Mapping[str, str]:
    return os.environ
