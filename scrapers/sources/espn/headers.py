"""ESPN request header profile, shared by every ESPN scraper.

The ESPN site API does not block by fingerprint; a browser User-Agent is all it needs (the old
platform's `espn` profile was UA-only too). Bump PROFILE_VERSION whenever a value changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PROFILE_VERSION = "2024.12-ua-only"

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)

SITE_API: Mapping[str, str] = MappingProxyType({"User-Agent": USER_AGENT})
"""site.api.espn.com JSON endpoints (scoreboard, team rosters)."""
