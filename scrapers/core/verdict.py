"""A data-quality verdict as it crosses boundaries: each check's status, the checks of one run.

Kernel types: the run result, the metrics and the completion carry a `Verdict`, and every source's
validators return `Check`s; the helpers that compute checks live in `scrapers.quality.checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Document = Mapping[str, Any]
Options = Mapping[str, Any]  # the run's options as texts (Job.option_texts()); {} when unknown


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # odd but possible: worth a look, never wrong on its face
    FAIL = "fail"  # the data cannot be right

    @property
    def rank(self) -> int:
        return (Status.OK, Status.WARN, Status.FAIL).index(self)


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda status: status.rank, default=Status.OK)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail}


# A scraper's `validator` (Scraper.validator): the parsed document and the run's options -> checks.
Validator = Callable[[Document, Options], list[Check]]


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def status(self) -> Status:
        return worst(check.status for check in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        """Every check that is not ok (warn and fail), in the order they ran."""
        return tuple(check for check in self.checks if not check.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "checks": len(self.checks),
            "failed_checks": [check.to_dict() for check in self.failed_checks],
        }
