"""The outcome taxonomy (DESIGN.md) and the run status derived from it."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What one attempt (a response or an exception) means. Exactly one per attempt."""

    OK = "ok"
    NO_DATA = "no_data"
    NOT_FOUND = "not_found"
    AUTH = "auth"
    BLOCKED = "blocked"
    PROXY = "proxy"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    STRUCTURAL = "structural"
    # Not an attempt's outcome but a run's failure class: our own sink or outbox could not be written.
    LANDING = "landing"
    # Not an attempt's outcome but a run's failure class, decided before anything is sent: the job's
    # minimum request count cannot fit its deadline even at its host's highest allowed rate. The
    # same job fails the same way until it is split or given a longer deadline, so it is neither
    # retried nor a false positive (the data may exist; no better fetch policy would get it).
    INFEASIBLE = "infeasible"

    @property
    def is_clean(self) -> bool:
        """A clean response is the only evidence that may support `no_data`."""
        return self in (Outcome.OK, Outcome.NO_DATA)

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for a run that failed with this class (0 for the clean outcomes)."""
        return _EXIT_CODES[self]

    @property
    def http_status(self) -> int:
        """The service's HTTP status for a run that failed with this class (200 for the clean ones).

        not_found/auth/structural 502: the upstream answered, and the same request fails again
        until something changes. blocked/proxy/rate_limited 503: our egress or the upstream's limits,
        retry. landing 503: our own storage is unavailable, retry. transient 504: the upstream did
        not answer in time (also a run cut off by its deadline or by shutdown). infeasible 422: the
        job as asked cannot fit its deadline; the same request is refused again.
        """
        return _HTTP_STATUS[self]

    @property
    def is_false_positive_class(self) -> bool:
        """Failures a better policy could absorb: the data probably exists."""
        return self in FALSE_POSITIVE_CLASSES


_EXIT_CODES = {
    Outcome.OK: 0,
    Outcome.NO_DATA: 0,
    Outcome.NOT_FOUND: 10,
    Outcome.AUTH: 11,
    Outcome.BLOCKED: 12,
    Outcome.PROXY: 13,
    Outcome.RATE_LIMITED: 14,
    Outcome.TRANSIENT: 15,
    Outcome.STRUCTURAL: 16,
    Outcome.LANDING: 17,
    # 18 is `republish`'s "completions still pending" (scrapers/cli/common.py).
    Outcome.INFEASIBLE: 19,
}
_HTTP_STATUS = {
    Outcome.OK: 200,
    Outcome.NO_DATA: 200,
    Outcome.NOT_FOUND: 502,
    Outcome.AUTH: 502,
    Outcome.STRUCTURAL: 502,
    Outcome.BLOCKED: 503,
    Outcome.PROXY: 503,
    Outcome.RATE_LIMITED: 503,
    Outcome.LANDING: 503,
    Outcome.TRANSIENT: 504,
    Outcome.INFEASIBLE: 422,
}
# What an attempt can be classified as (every member but the run-level `landing` and `infeasible`).
RUN_ONLY_OUTCOMES = frozenset({Outcome.LANDING, Outcome.INFEASIBLE})
ATTEMPT_OUTCOMES = tuple(outcome for outcome in Outcome if outcome not in RUN_ONLY_OUTCOMES)
FALSE_POSITIVE_CLASSES = frozenset({Outcome.BLOCKED, Outcome.PROXY, Outcome.RATE_LIMITED, Outcome.TRANSIENT})


class RunStatus(StrEnum):
    SUCCESS = "success"
    NO_DATA = "no_data"
    # Landed, but its data-quality verdict is `fail` and the scraper's registry policy says so
    # (`quality.fail_marks_partial`). Not a failure: exit code 0, downstream still gets the file.
    PARTIAL = "partial"
    FAILED = "failed"
