"""Scraper base, options, registry, runner and errors."""
