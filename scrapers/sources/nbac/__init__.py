"""NBA.com scrapers: stats.nba.com, cdn.nba.com and the official PDFs."""
