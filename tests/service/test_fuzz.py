"""Property-based fuzz of the service from its own OpenAPI description (schemathesis + hypothesis).

For every operation, valid (positive) and invalid (negative) requests generated from
scrapers/service/openapi.yaml go to the running service in replay mode. However malformed the
input, the answer is never a 5xx, and every answer conforms to the description: a documented
status code, content type, headers and body schema. A second property goes deeper than a schema
can: real scraper names with arbitrary JSON for their real options, so option resolution, fan-out
and child options see hostile values too. Derandomized, so CI sees the same cases.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scrapers.core.registry import load_registry
from scrapers.pipeline.jobs import SERVICE_KEYS
from tests.service.harness import running_service

SPEC = Path(str(resources.files("scrapers.service").joinpath("openapi.yaml")))
SCHEMA = schemathesis.openapi.from_path(SPEC)
Operation = schemathesis.APIOperation[Any, Any, Any, Any]


def _operation(result: Ok[Operation] | Err[InvalidSchema]) -> Operation:
    assert isinstance(result, Ok), f"openapi.yaml has an invalid operation: {result.err()}"
    return result.ok()


OPERATIONS = [_operation(result) for result in SCHEMA.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# CI runs a fixed, derandomized sample; `COURTSIDE_FUZZ_EXAMPLES=500` runs a deeper random one locally.
DEEP = os.environ.get("COURTSIDE_FUZZ_EXAMPLES")
EXAMPLES = int(DEEP) if DEEP else 40


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service in replay mode on its own event loop in a thread (schemathesis calls are blocking)."""
    out = tmp_path_factory.mktemp("fuzz-out")
    started = threading.Event()
    state: dict[str, object] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        async with running_service(out) as svc:
            state.update(url=svc.url, stop=stop, loop=asyncio.get_running_loop())
            started.set()
            await stop.wait()

    def thread_main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - surfaced in the test thread below
            state["error"] = exc
            started.set()

    thread = threading.Thread(target=thread_main, name="service-under-fuzz", daemon=True)
    thread.start()
    started.wait()
    if "error" in state:
        raise AssertionError(f"the service did not start: {state['error']!r}")
    yield str(state["url"])
    loop = state["loop"]
    stop = state["stop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    assert isinstance(stop, asyncio.Event)
    loop.call_soon_threadsafe(stop.set)
    thread.join()


def test_the_description_lists_operations() -> None:
    assert {op.label for op in OPERATIONS} >= {"POST /scrape", "POST /batch", "GET /runs/{run_id}"}


# Negative cases exist only for operations that take some input.
CASES = [
    (operation, mode)
    for operation in OPERATIONS
    for mode in schemathesis.GenerationMode
    if mode is schemathesis.GenerationMode.POSITIVE
    or any((operation.body, operation.query, operation.path_parameters))
]


@pytest.mark.parametrize(
    ("operation", "mode"), CASES, ids=[f"{operation.label} {mode.value}" for operation, mode in CASES]
)
def test_no_input_gets_a_server_error_and_every_answer_matches_the_description(
    operation: Operation, mode: schemathesis.GenerationMode, service_url: str
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not DEEP,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Operation]) -> None:
        response = case.call(base_url=service_url, timeout=60)
        case.validate_response(response, checks=CHECKS)

    check()


REGISTRY = load_registry()
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
# Values a date, season or list option might plausibly get, besides arbitrary JSON.
NEAR_MISSES = st.sampled_from(
    [
        "2024-01-15",
        "TODAY",
        "YESTERDAY-3",
        "TODAY+99999",
        "20240115",
        "2023-24",
        "CURRENT",
        "",
        " ",
        "0",
        "-1",
    ]
)


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, object]:
    entry = REGISTRY.scrapers[draw(st.sampled_from(REGISTRY.names()))]
    names = [spec.name for spec in entry.options] + sorted(SERVICE_KEYS - {"scraper"}) + ["url", "gamedat"]
    keys = draw(st.lists(st.sampled_from(names), max_size=5))
    job: dict[str, object] = {key: draw(NEAR_MISSES | JSON_VALUES) for key in keys}
    job["scraper"] = entry.name
    return job


def test_real_scrapers_with_hostile_option_values_never_get_a_server_error(service_url: str) -> None:
    with httpx.Client(base_url=service_url, timeout=60) as client:

        @given(job=jobs(), wait=st.sampled_from(["true", "false"]))
        @settings(
            max_examples=4 * EXAMPLES,
            deadline=None,
            derandomize=not DEEP,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(job: dict[str, object], wait: str) -> None:
            response = client.post("/scrape", params={"wait": wait}, json=job)
            assert response.status_code < 500, (job, response.text)
            body = response.json()
            assert "error" in body or "run_id" in body

        check()
