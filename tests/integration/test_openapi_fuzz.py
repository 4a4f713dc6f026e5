"""Schemathesis against the API's own OpenAPI document, over HTTP on the local adapter (moto server behind).

Every operation gets generated requests, valid ones (positive) and invalid ones (negative: wrong types,
missing fields, out-of-range values, unknown fields), half of them aimed at a schedule that exists, then the
coverage phase's boundary cases (each keyword's edge: minimum, maximum, length, enum, missing required...).
The checks: no 5xx, every status and content type documented, every body matching its documented schema,
invalid data refused (``negative_data_rejection``) and valid data accepted (``positive_data_acceptance``).
A valid request may still be refused for a rule no JSON Schema can say (one field against another or the
clock): such a 400 passes only when its message is one of the rules the document lists
(``info.x-cross-field-rules``, :data:`agentcron.api.openapi.CROSS_FIELD_RULES`).
Bounded: a fixed number of examples per operation, derandomized, and the first ``COVERAGE_CASES`` coverage
cases per operation, so a run takes the same (short) time and finds the same things.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agentcron.clock import utcnow
from agentcron.local.http import ApiServer
from agentcron.models import Run, ScheduleSpec, slot_run_id

KNOWN = "fuzz-known"
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
SPEC_EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 20}
SPEC_OPERATIONS = {"POST /schedules", "POST /schedules/preview", "PATCH /schedules/{schedule_id}"}
COVERAGE_CASES = 40  # per operation, positive and negative together


def valid_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, except a 400 for a cross-field rule the document lists (a valid
    ``once`` trigger may name a past instant; a schema cannot compare it with the clock)."""
    if response.status_code == 422:  # a key the earlier cases used with another body: documented state
        return None
    if response.status_code == 400:
        error = response.json()["error"]
        if error["field"] in ("trigger.expr", "cursor") or any(f in error["message"] for f in CROSS_FIELD_MESSAGES):
            return None
    return positive_data_acceptance(ctx, response, case)


# The messages of the rules in agentcron.api.openapi.CROSS_FIELD_RULES.
CROSS_FIELD_MESSAGES = (
    "must be earlier than end_at",
    "must be in the future",
    "has no next run",
    "must not be in the future",
    "slots after start_at",
    "must hold a slot",
    "a whole schedule is at most",
    "task_message is required when auto_execute is true",
    "project_id cannot change",
    "must be the first of triggers",
    "exclude",
    "notify",
    "nothing was imported",
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    valid_data_accepted,
]
BUDGET_SECONDS = 150  # a guard against a runaway strategy; ~25 s on an idle 2-core machine


@pytest.fixture
def served(server_stack: Any, load_handler: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """functions/api/app.py behind the local adapter, on the test's resources of the moto server."""
    for name, value in server_stack.environment().items():
        monkeypatch.setenv(name, value)
    handler = load_handler("api").lambda_handler
    with ApiServer(handler, port=0, on_error=lambda line: None) as server:
        yield server, server_stack


def _ensure_known(stack: Any) -> None:
    """A schedule (with a run) that half of the generated requests name; re-created when a case deleted it."""
    if stack.store.get_schedule(KNOWN) is not None:
        return
    now = utcnow()
    spec = ScheduleSpec.model_validate(
        {
            "id": KNOWN,
            "name": "fuzz",
            "trigger": {"type": "interval", "every_seconds": 3600},
            "created_at": now,
        }
    )
    stack.create_schedule(spec, now)
    run = Run(run_id=slot_run_id(KNOWN, now), schedule_id=KNOWN, scheduled_for=now, claimed_at=now)
    stack.store.create_run(run, now, redelivery_seconds=stack.settings.redelivery_seconds)


def _strategy(operation: Any, mode: GenerationMode) -> st.SearchStrategy:
    names = {p.name for p in operation.path_parameters}
    random_ids = operation.as_strategy(generation_mode=mode)
    if "schedule_id" not in names:
        return random_ids
    known = operation.as_strategy(generation_mode=mode, path_parameters={"schedule_id": KNOWN})
    return st.one_of(random_ids, known)


def _fuzz(
    operation: Any, mode: GenerationMode, examples: int, url: str, stack: Any, tried: dict[str, int]
) -> None:
    @given(case=_strategy(operation, mode))
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        _ensure_known(stack)
        case.call_and_validate(base_url=url, checks=CHECKS)
        tried[operation.label] = tried.get(operation.label, 0) + 1

    check()


def _coverage(operation: Any, schema: Any, url: str, stack: Any, tried: dict[str, int]) -> None:
    cases = schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=schema.config.generation_for(operation=operation),
    )
    for case in itertools.islice(cases, COVERAGE_CASES):
        _ensure_known(stack)
        if "schedule_id" in case.path_parameters and case.path_parameters["schedule_id"] == "":
            continue
        case.call_and_validate(base_url=url, checks=CHECKS)
        tried[operation.label] = tried.get(operation.label, 0) + 1


def test_no_server_error_and_no_schema_violation(served: Any) -> None:
    server, stack = served
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 18, [op.label for op in operations]  # every route but /openapi.json and /api/v1
    started = time.monotonic()
    tried: dict[str, int] = {}
    for operation in operations:
        budget = SPEC_EXAMPLES if operation.label in SPEC_OPERATIONS else EXAMPLES
        for mode, examples in budget.items():
            try:
                _fuzz(operation, mode, examples, server.url, stack, tried)
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (e.g. only a free-form string path
                # parameter): the negative phase has no case to try.
                assert mode == GenerationMode.NEGATIVE, operation.label
            except InvalidArgument as exc:
                # A negative string longer than a 32,768-character cap is more than Hypothesis generates;
                # the coverage phase below sends the cap + 1 case instead.
                assert mode == GenerationMode.NEGATIVE and "min_size is larger" in str(exc), operation.label
        _coverage(operation, schema, server.url, stack, tried)
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS, f"fuzzing took {elapsed:.0f} s"
    assert all(tried.get(op.label, 0) > 0 for op in operations), tried
