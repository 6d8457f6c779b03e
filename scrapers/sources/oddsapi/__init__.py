"""The Odds API (api.the-odds-api.com/v4) scrapers."""
