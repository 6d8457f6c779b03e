"""The BettingPros header profile: what the site's own pages send to api.bettingpros.com.

The API answers browsers coming from www.bettingpros.com; without Origin/Referer it refuses more
often. The key is a SecretRef, injected by the core at send time, so a Request built here can be
logged or recorded as is.
"""

from __future__ import annotations

from scrapers.core.request import SecretRef

API_KEY = SecretRef(env="BETTINGPROS_API_KEY", header="X-Api-Key")

# One fixed, current desktop UA. The old platform randomised the UA per run but hard-coded a
# Windows client hint, so two thirds of its runs sent a self-contradicting fingerprint.
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)
ORIGIN = "https://www.bettingpros.com"
REFERER = "https://www.bettingpros.com/nba/odds/player-props/points/"
# No `br` yet: CloudFront serves Brotli when asked, and the decoder has no Brotli support so far.
ACCEPT_ENCODING = "gzip, deflate"


def bettingpros_headers() -> dict[str, str]:
    """A fresh header dict per Request, so no request can mutate another's headers."""
    return {
        "User-Agent": USER_AGENT,
        "Origin": ORIGIN,
        "Referer": REFERER,
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
