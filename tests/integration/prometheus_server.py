"""A real, throwaway ``prometheus`` and ``prometheus-pushgateway`` on free loopback ports.

Nothing here mocks Prometheus: the tests run the Debian binaries operators run. Prometheus gets a
generated config (scrape and rule evaluation every second, the project's alert rules from
dashboards/alerts.yml) and keeps its TSDB in the test's temporary folder. Its one scrape job
``courtside`` finds targets through a file (file_sd), so a test can point it at a metrics endpoint
it starts later, on a port the OS picked:

    with running_prometheus(tmp_path) as prometheus:
        prometheus.scrape("127.0.0.1:43121")          # picked up within ~5 s (discovery batching)
        api = PrometheusAPI(prometheus.url, client)   # an httpx.AsyncClient
        result = await api.query('scraper_runs_total{status="failed"}')

Both servers listen on 127.0.0.1 only and are always terminated (killed if they will not stop),
including when start-up fails. The code lives in bench/servers.py, shared with the fleet
benchmark (bench/ does not import from tests/).
"""

from __future__ import annotations

from bench.servers import (
    ALERT_RULES,
    INTERVAL,
    PROMETHEUS,
    PROMTOOL,
    PUSHGATEWAY,
    SCRAPE_JOB,
    PrometheusAPI,
    PrometheusServer,
    QueryResult,
    ServerStartError,
    find_binary,
    missing_reason,
    prometheus_config,
    running_prometheus,
    running_pushgateway,
)

__all__ = [
    "ALERT_RULES",
    "INTERVAL",
    "PROMETHEUS",
    "PROMTOOL",
    "PUSHGATEWAY",
    "SCRAPE_JOB",
    "PrometheusAPI",
    "PrometheusServer",
    "QueryResult",
    "ServerStartError",
    "find_binary",
    "missing_reason",
    "prometheus_config",
    "running_prometheus",
    "running_pushgateway",
]
