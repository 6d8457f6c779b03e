"""BettingPros API (api.bettingpros.com/v3) scrapers."""
