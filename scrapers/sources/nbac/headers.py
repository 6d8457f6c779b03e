"""NBA.com request header profiles, shared by every NBA.com scraper.

stats.nba.com answers only requests that look like the www.nba.com web app calling it: without a
browser User-Agent, the Origin/Referer of www.nba.com and the fetch-metadata headers it hangs (it
blocks by not answering). The browser identity is one fixed Chrome release, and the client hints
describe that same release and platform: a UA that says Chrome 131 on Windows next to hints that
say another version or platform is an easy bot signal.

Bump PROFILE_VERSION whenever a value changes, so a change in block rates can be traced to it.

Accept-Encoding is deliberately absent: the core sets it to exactly the encodings it decodes
(scrapers.http.encoding), and advertising `br`/`zstd` would yield bodies we cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PROFILE_VERSION = "2024.12-chrome131-win"

CHROME_MAJOR = "131"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    f"Chrome/{CHROME_MAJOR}.0.0.0 Safari/537.36"
)

# The identity a real Chrome sends on every request; kept in one place so UA and hints agree.
_BROWSER: Mapping[str, str] = {
    "User-Agent": USER_AGENT,
    "Sec-Ch-Ua": (f'"Google Chrome";v="{CHROME_MAJOR}", "Chromium";v="{CHROME_MAJOR}", "Not_A Brand";v="24"'),
    "Sec-Ch-Ua-Mobile": "?0",
    "Sec-Ch-Ua-Platform": '"Windows"',
    "Accept-Language": "en-US,en;q=0.9",
}

# XHR from a www.nba.com page to another nba.com host: a same-site CORS fetch.
_FROM_WWW_NBA_COM: Mapping[str, str] = {
    "Accept": "application/json, text/plain, */*",
    "Origin": "https://www.nba.com",
    "Referer": "https://www.nba.com/",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-site",
}

STATS: Mapping[str, str] = MappingProxyType(
    {
        "Host": "stats.nba.com",
        **_BROWSER,
        **_FROM_WWW_NBA_COM,
        # Ask past the CDN cache: a game-day scoreboard changes by the minute.
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
    }
)
"""stats.nba.com (scoreboardV2, leaguegamelog, playerindex, ...)."""

DATA: Mapping[str, str] = MappingProxyType({**_BROWSER, **_FROM_WWW_NBA_COM})
"""cdn.nba.com and data.nba.com static JSON. No Host: one profile serves several hosts."""

WWW_PAGE: Mapping[str, str] = MappingProxyType(
    {
        **_BROWSER,
        # A top-level navigation typed into the address bar: what Chrome sends for a page load, so
        # no Origin/Referer and the navigate fetch-metadata instead of the XHR (cors) set above.
        "Accept": (
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        ),
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Site": "none",
        "Sec-Fetch-User": "?1",
        "Upgrade-Insecure-Requests": "1",
    }
)
"""www.nba.com HTML pages (team rosters), which carry their data in `__NEXT_DATA__`."""
