"""The HTTP trigger service (aiohttp.web): `scrapers serve`.

command         `scrapers serve` (registered by scrapers/cli/__init__.py)
app             the Service (one core per process) and the aiohttp application
routes          the routes; none takes a URL to fetch
jobs            a request body as a job, planned exactly as the CLI plans one
fanout          per-game / per-event child jobs from a parent's typed ids
runs            runs in progress and their results by id; deadlines; shutdown cut-off
protection      bearer token, body limit, per-scraper slots, in-flight cap
middleware      JSON answers for every error; one access line per request
readiness       GET /ready: state store and sink reachable
service_metrics the service's own series beside the fleet metrics
logs            one JSON line per event, Cloud Logging fields, run id, redacted
lifecycle       serve, and shut down gracefully on SIGTERM
settings        the COURTSIDE_SERVICE_* environment
errors          the answers that start nothing, and the run -> HTTP status table
openapi.yaml    the API description, served at GET /openapi.yaml
"""
