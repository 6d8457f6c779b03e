"""`python -m scrapers` is the `scrapers` command."""

from scrapers.cli import main

raise SystemExit(main())
