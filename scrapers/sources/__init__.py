"""One module per scraper, grouped by upstream source."""
