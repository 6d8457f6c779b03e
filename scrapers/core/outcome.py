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

    @property
    def is_clean(self) -> bool:
        """A clean response is the only evidence that may support `no_data`."""
        return self in (Outcome.OK, Outcome.NO_DATA)

    @property
    def is_false_positive_class(self) -> bool:
        """Failures a better policy could absorb: the data probably exists."""
        return self in FALSE_POSITIVE_CLASSES


FALSE_POSITIVE_CLASSES = frozenset({Outcome.BLOCKED, Outcome.PROXY, Outcome.RATE_LIMITED, Outcome.TRANSIENT})


class RunStatus(StrEnum):
    SUCCESS = "success"
    NO_DATA = "no_data"
    # Landed, but its data-quality verdict is `fail` and the scraper's registry policy says so
    # (`quality.fail_marks_partial`). Not a failure: exit code 0, downstream still gets the file.
    PARTIAL = "partial"
    FAILED = "failed"
