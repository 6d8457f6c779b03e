"""The run manager's and the service's knobs: the environment's `COURTSIDE_SERVICE_*` settings and
COURTSIDE_JOB_DEADLINE (validated in scrapers.core.settings) plus the fixed ones no deployment has
needed to change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scrapers.core.registry import Registry
from scrapers.core.settings import Settings

# The environment's defaults, declared once in Settings.
_DEFAULTS = Settings.from_env({})


@dataclass(frozen=True)
class ServiceSettings:
    # Bearer token every route except /health and /ready requires; None: no token (Cloud Run IAM
    # in front, or loopback only).
    token: str | None = field(default=None, repr=False)
    max_body_bytes: int = _DEFAULTS.service_max_body_bytes
    # Runs admitted and not finished (queued or running; a fan-out counts once). Beyond it: 429.
    max_in_flight: int = _DEFAULTS.service_max_in_flight
    # Runs of one scraper at a time (fan-out children included); more wait in `queued`.
    scraper_concurrency: int = _DEFAULTS.service_scraper_concurrency.default
    scraper_concurrency_overrides: Mapping[str, int] = field(default_factory=dict)
    # Children of one fan-out running at once (each also takes its scraper's slot).
    fan_out_concurrency: int = _DEFAULTS.service_fan_out_concurrency
    max_batch_jobs: int = 100
    # The longest one run may take (the source's own deadline applies when shorter); a request
    # may ask for less with `deadline_seconds`. Every mode reads it (COURTSIDE_JOB_DEADLINE).
    job_deadline_seconds: float = _DEFAULTS.job_deadline
    # After the deadline the fetch budget has already ended the attempt honestly; this margin lets
    # parse and landing finish before the run is cut off.
    deadline_grace_seconds: float = 5.0
    # Cloud Run sends SIGKILL 10 s after SIGTERM: finish in-flight runs within this, then cut them
    # off with an `interrupted` completion each.
    shutdown_timeout_seconds: float = _DEFAULTS.service_shutdown_timeout
    # A connection must send a complete request head within this long of opening or of its last
    # answer, else it is closed (slowloris); an idle keep-alive connection closes after it too.
    header_timeout_seconds: float = _DEFAULTS.service_header_timeout
    # Once its head has arrived, a request's body must arrive within this long, else 408 and the
    # connection is closed: a body dripped a byte at a time would hold its handler for ever.
    body_timeout_seconds: float = _DEFAULTS.service_body_timeout
    retry_after_seconds: int = 5
    ready_timeout_seconds: float = 5.0
    retained_runs: int = 1000  # finished runs GET /runs/{id} still knows
    # With a shared (Redis) state store: how long any replica still answers GET /runs/{id} for a
    # run, counted from the run's last change.
    shared_run_ttl_seconds: float = 24 * 3600.0

    def concurrency_for(self, scraper: str) -> int:
        return self.scraper_concurrency_overrides.get(scraper, self.scraper_concurrency)

    @classmethod
    def for_command(
        cls, concurrency: int, settings: Settings, *, max_in_flight: int | None = None
    ) -> ServiceSettings:
        """A command's own runs (run-many, backfill, worker, tick): the job deadline bounds them as
        it bounds the service's, but the service's admission and concurrency settings do not apply
        (the command's --concurrency does)."""
        return cls(
            max_in_flight=concurrency if max_in_flight is None else max_in_flight,
            scraper_concurrency=concurrency,
            fan_out_concurrency=concurrency,
            job_deadline_seconds=settings.job_deadline,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceSettings:
        token = settings.service_token.get_secret_value().strip() if settings.service_token else ""
        return cls(
            token=token or None,
            max_body_bytes=settings.service_max_body_bytes,
            max_in_flight=settings.service_max_in_flight,
            scraper_concurrency=settings.service_scraper_concurrency.default,
            scraper_concurrency_overrides=dict(settings.service_scraper_concurrency.overrides),
            fan_out_concurrency=settings.service_fan_out_concurrency,
            job_deadline_seconds=settings.job_deadline,
            shutdown_timeout_seconds=settings.service_shutdown_timeout,
            header_timeout_seconds=settings.service_header_timeout,
            body_timeout_seconds=settings.service_body_timeout,
        )

    def problems(self, registry: Registry) -> list[str]:
        """Per-scraper limits must name real scrapers: a misspelt name would limit nothing."""
        unknown = sorted(set(self.scraper_concurrency_overrides) - set(registry.scrapers))
        if not unknown:
            return []
        variable = Settings.variable("service_scraper_concurrency")
        return [
            f"{variable}: unknown scraper(s) {', '.join(unknown)} "
            f"(example: {variable}=4,{registry.names()[0]}=1)"
        ]
