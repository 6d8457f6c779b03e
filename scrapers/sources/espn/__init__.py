"""ESPN scrapers: the site API and box-score pages."""
