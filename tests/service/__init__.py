"""The HTTP trigger service over real loopback HTTP, `scrapers run-many`, and the OpenAPI fuzz."""
