"""The service's settings, from the environment. One name per setting, each checked at startup."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from scrapers.core.errors import OptionError

TOKEN_ENV = "COURTSIDE_SERVICE_TOKEN"
MAX_BODY_ENV = "COURTSIDE_SERVICE_MAX_BODY_BYTES"
MAX_IN_FLIGHT_ENV = "COURTSIDE_SERVICE_MAX_IN_FLIGHT"
SCRAPER_CONCURRENCY_ENV = "COURTSIDE_SERVICE_SCRAPER_CONCURRENCY"
FAN_OUT_CONCURRENCY_ENV = "COURTSIDE_SERVICE_FAN_OUT_CONCURRENCY"
JOB_DEADLINE_ENV = "COURTSIDE_SERVICE_JOB_DEADLINE"
SHUTDOWN_TIMEOUT_ENV = "COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT"

_T = TypeVar("_T", int, float)


@dataclass(frozen=True)
class ServiceSettings:
    # Bearer token every route except /health and /ready requires; None: no token (Cloud Run IAM
    # in front, or loopback only).
    token: str | None = None
    max_body_bytes: int = 64 * 1024
    # Runs admitted and not finished (queued or running; a fan-out counts once). Beyond it: 429.
    max_in_flight: int = 32
    # Runs of one scraper at a time (fan-out children included); more wait in `queued`.
    scraper_concurrency: int = 4
    scraper_concurrency_overrides: Mapping[str, int] = field(default_factory=dict)
    # Children of one fan-out running at once (each also takes its scraper's slot).
    fan_out_concurrency: int = 8
    max_batch_jobs: int = 100
    # The longest one run may take (the source's own deadline applies when shorter); a request
    # may ask for less with `deadline_seconds`.
    job_deadline_seconds: float = 900.0
    # After the deadline the fetch budget has already ended the attempt honestly; this margin lets
    # parse and landing finish before the run is cut off.
    deadline_grace_seconds: float = 5.0
    # Cloud Run sends SIGKILL 10 s after SIGTERM: finish in-flight runs within this, then cut them
    # off with an `interrupted` completion each.
    shutdown_timeout_seconds: float = 8.0
    retry_after_seconds: int = 5
    ready_timeout_seconds: float = 5.0
    retained_runs: int = 1000  # finished runs GET /runs/{id} still knows

    def concurrency_for(self, scraper: str) -> int:
        return self.scraper_concurrency_overrides.get(scraper, self.scraper_concurrency)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServiceSettings:
        token = (environ.get(TOKEN_ENV) or "").strip() or None
        default, overrides = _concurrency(environ.get(SCRAPER_CONCURRENCY_ENV))
        base = cls()
        return cls(
            token=token,
            max_body_bytes=_number(environ, MAX_BODY_ENV, int, base.max_body_bytes, "65536"),
            max_in_flight=_number(environ, MAX_IN_FLIGHT_ENV, int, base.max_in_flight, "32"),
            scraper_concurrency=default or base.scraper_concurrency,
            scraper_concurrency_overrides=overrides,
            fan_out_concurrency=_number(environ, FAN_OUT_CONCURRENCY_ENV, int, base.fan_out_concurrency, "8"),
            job_deadline_seconds=_number(environ, JOB_DEADLINE_ENV, float, base.job_deadline_seconds, "900"),
            shutdown_timeout_seconds=_number(
                environ, SHUTDOWN_TIMEOUT_ENV, float, base.shutdown_timeout_seconds, "8"
            ),
        )


def _number(
    environ: Mapping[str, str], name: str, kind: Callable[[str], _T], default: _T, example: str
) -> _T:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise OptionError(name, f"'{raw}' is not a positive number", example) from None
    if not value > 0:
        raise OptionError(name, f"'{raw}' is not a positive number", example)
    return value


def _concurrency(raw: str | None) -> tuple[int | None, dict[str, int]]:
    """`4` or `4,oddsa_player_props=2,nbac_gamebook_pdf=8`: a default and per-scraper limits."""
    example = "4,oddsa_player_props=2"
    default: int | None = None
    overrides: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in (raw or "").split(","))):
        name, sep, value = item.rpartition("=")
        try:
            limit = int(value)
        except ValueError:
            limit = 0
        if limit <= 0 or (sep and not name.strip()):
            raise OptionError(SCRAPER_CONCURRENCY_ENV, f"'{item}' is not N or SCRAPER=N with N > 0", example)
        if sep:
            overrides[name.strip()] = limit
        else:
            default = limit
    return default, overrides
