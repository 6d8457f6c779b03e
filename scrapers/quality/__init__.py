"""Data quality: typed checks over landed documents, the run's verdict, and the cross-source report.

The checks themselves live with each source (`scrapers/sources/<source>/validators.py`), so a
scraper and its validators change together; this package holds what they share.
"""
