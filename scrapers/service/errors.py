"""What the service answers when it does not run a job, and how a finished run maps to a status.

HTTP status of a run (each failure class carries its own: `Outcome.http_status`; the README's
"HTTP service" section repeats this table):

| run ended                                         | HTTP | meaning for the caller                       |
|---------------------------------------------------|------|----------------------------------------------|
| success, no_data, partial                         | 200  | the typed result says which                  |
| failed: not_found, auth, structural               | 502  | the upstream answered; the same request      |
|                                                   |      | fails again until something changes          |
| failed: blocked, proxy, rate_limited              | 503  | our egress or the upstream's limits: retry   |
| failed: landing (sink or outbox not writable)     | 503  | our own storage is unavailable: retry        |
| failed: transient (timeouts and 5xx after the     | 504  | the upstream did not answer in time; also a  |
|   retry budget)                                   |      | run cut off by its deadline or by shutdown   |
| failed: infeasible (refused before sending: the   | 422  | the same request is refused again: split the |
|   job cannot fit its deadline at the host's rate) |      | job or give it a longer deadline             |
| could not run: replay without a recording, a      | 400  | bad input (the CLI exits 2 for the same)     |
|   fan-out child the parent's ids made invalid     |      |                                              |
| could not run: state store unreachable            | 503  |                                              |
| could not run: bad proxy/state configuration, bug | 500  |                                              |

A fan-out answers the highest code among its parent and children (200: every run ended success,
no_data or partial). Every code above carries the run's view with its typed result. Requests that
start nothing answer 400 (malformed, unknown scraper, bad options, a batch larger than the in-flight
cap), 401, 404, 405, 408 (the body did not arrive in time), 413, 429 or 503 (shutting down; or, for
GET /runs/{id} of a run not in this replica, the shared state store unreachable) with
`{"error": ...}`. POST /pubsub/push answers Pub/Sub's way: pubsub.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapers.core.errors import CourtsideError


class ServiceError(CourtsideError):
    """A request the service answers without running anything; rendered as JSON `{"error": ...}`."""

    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def headers(self) -> Mapping[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.details}


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401

    @property
    def headers(self) -> Mapping[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="courtside"'}


class NotFound(ServiceError):
    status = 404


class RequestTimeout(ServiceError):
    """The request body did not arrive in time; the connection closes, since the rest of it may
    still be on its way and would otherwise be read as the next request."""

    status = 408

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Connection": "close"}


class PayloadTooLarge(ServiceError):
    status = 413


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after, **details)
        self.retry_after = retry_after

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ServiceError):
    """Something the answer needs is unreachable for now (the shared state store): retry."""

    status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ShuttingDown(ServiceError):
    status = 503

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "the service is shutting down; send the request again", retry_after_seconds=retry_after
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after), "Connection": "close"}
