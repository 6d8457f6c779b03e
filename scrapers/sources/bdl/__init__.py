"""BallDontLie API (api.balldontlie.io/v1) scrapers."""
