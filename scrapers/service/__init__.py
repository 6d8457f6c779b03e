"""The HTTP trigger service (aiohttp.web), started by `scrapers serve` (scrapers/cli/serve.py).

Jobs are planned, admitted and run by scrapers.pipeline (jobs, fanout, admission, runs), exactly
as the CLI runs them; this package is only HTTP.

app             the Service (one core per process) and the aiohttp application
routes          the routes; none takes a URL to fetch
protection      bearer token, body limit
middleware      JSON answers for every error; one access line per request; the request's trace
readiness       GET /ready: state store and sink reachable
service_metrics the service's own series beside the fleet metrics
pubsub          POST /pubsub/push: the push envelope, and which answers ack it
lifecycle       serve, and shut down gracefully on SIGTERM
errors          the answers that start nothing, and the run -> HTTP status table
openapi.yaml    the API description, served at GET /openapi.yaml

Log lines: scrapers.core.logs (one module for every mode).
"""
