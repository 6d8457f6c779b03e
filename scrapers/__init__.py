"""Courtside: an async NBA scraper fleet with a resilient HTTP core."""
