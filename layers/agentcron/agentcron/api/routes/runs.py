"""Run routes: run now, backfill, the run history, one run, cancel.

Each route calls one use case of :mod:`agentcron.application.runs`. Run-now and backfill record their runs
first (one record per run id) and send them through the normal run queue second; a send that fails leaves
the run ``queued`` for the claim's outbox to send later, so the request still answers 202.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agentcron.api.dependencies import CallerDep, IdempotencyDep, JsonBody, ServicesDep
from agentcron.api.errors import ApiError
from agentcron.api.idempotency import Outcome, read_key
from agentcron.api.routes.common import (
    IdempotencyKey,
    check_cursor,
    check_run_id,
    fit_page,
    check_schedule_id,
    reply,
    reply_outcome,
    responses,
)
from agentcron.api.schemas import BackfillRequest, BackfillResponse, RunList, RunNowRequest, RunNowResponse
from agentcron.application import Services, jobs, schedules
from agentcron.domain.access import Caller
from agentcron.models import OverlapPolicy, Run, RunStatus

from agentcron import lazy

use_cases = lazy.module("agentcron.application.runs")  # loaded by the first request about runs

TAGS = ["runs"]

router = APIGatewayHttpRouter()


def _run_now(
    services: Services, caller: Caller, schedule_id: str, options: RunNowRequest, key: str | None
) -> Outcome:
    run = use_cases.run_now(
        services,
        caller,
        schedule_id,
        request_id=key,
        task_message=options.task_message,
        overlap_policy=options.overlap_policy,
    )
    cancel_job = None
    if options.overlap_policy == OverlapPolicy.cancel_other:
        cancel_job = jobs.get_job(services, jobs.cancel_job_id(run.run_id))
    body = RunNowResponse(
        schedule_id=schedule_id,
        run_id=run.run_id,
        enqueued_at=run.claimed_at,
        cancel_job_id=cancel_job.job_id if cancel_job else None,
    )
    headers = {"Location": f"/schedules/{schedule_id}/runs/{run.run_id}"}
    return {"status": HTTPStatus.ACCEPTED.value, "body": body.model_dump(mode="json"), "headers": headers}


@router.post(
    "/schedules/<schedule_id>/run",
    summary="Run a schedule now",
    description="Starts a run at once, whether the schedule is enabled or not; optional task and overlap "
    "overrides. With an Idempotency-Key a retried request returns the first answer and creates no run.",
    tags=TAGS,
    responses=responses(202, "The run is recorded and queued", RunNowResponse, 400, 404, 409, 422),
)
def run_now(
    schedule_id: str,
    services: ServicesDep,
    caller: CallerDep,
    idempotency: IdempotencyDep,
    raw_body: JsonBody,
    request: Annotated[RunNowRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[RunNowResponse]:
    key = read_key(idempotency_key)
    check_schedule_id(schedule_id)
    options = request or RunNowRequest()
    outcome = idempotency.run(
        "run_now",
        key,
        {"schedule_id": schedule_id, "body": raw_body},
        lambda: _run_now(services, caller, schedule_id, options, key),
        principal=caller.principal,
    )
    return reply_outcome(outcome)


@router.post(
    "/schedules/<schedule_id>/backfill",
    summary="Run every slot of a past time range",
    description="One run per slot of the trigger in [start_at, end_at), through the normal queue. A slot "
    "that already has a run (claimed, run now or backfilled before) is reported in `existing` and not "
    "run again. At most 1000 slots; start_at must be before end_at, end_at not in the future, and the range "
    "must hold a slot (400 says why not). The request records the first 50 slots; the rest are recorded "
    "by a job (`job_id`, `remaining`, Location: /jobs/{job_id}).",
    tags=TAGS,
    responses=responses(202, "The runs are recorded and queued", BackfillResponse, 400, 404),
)
def backfill(
    schedule_id: str, request: Annotated[BackfillRequest, Body()], services: ServicesDep, caller: CallerDep
) -> Response[BackfillResponse]:
    check_schedule_id(schedule_id)
    enqueued_at = services.clock()
    result = use_cases.backfill(services, caller, schedule_id, request.start_at, request.end_at)
    body = BackfillResponse(
        schedule_id=schedule_id,
        created=[run.run_id for run in result.created],
        existing=result.existing,
        enqueued_at=enqueued_at,
        remaining=result.remaining,
        job_id=result.job.job_id if result.job else None,
    )
    headers = {"Location": f"/jobs/{result.job.job_id}"} if result.job else None
    return reply(HTTPStatus.ACCEPTED, body, headers)


@router.get(
    "/schedules/<schedule_id>/runs",
    summary="Runs of a schedule, newest first",
    tags=TAGS,
    responses=responses(200, "A page of runs", RunList, 400, 404),
)
def list_runs(
    schedule_id: str,
    services: ServicesDep,
    caller: CallerDep,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> Response[RunList]:
    check_schedule_id(schedule_id)
    try:
        check_cursor(cursor, {"schedule_id": schedule_id, "run_id": None})
    except ApiError:
        schedules.get_schedule(services, caller, schedule_id)  # an unknown schedule: 404 before a bad cursor
        raise
    runs, next_cursor = use_cases.list_runs(
        services, caller, schedule_id, status=status, limit=limit, cursor=cursor
    )
    runs, next_cursor = fit_page(
        runs, next_cursor, lambda r: {"schedule_id": r.schedule_id, "run_id": r.run_id}
    )
    return reply(HTTPStatus.OK, RunList(schedule_id=schedule_id, runs=runs, next_cursor=next_cursor))


@router.get(
    "/schedules/<schedule_id>/runs/<run_id>",
    summary="One run",
    tags=TAGS,
    responses=responses(200, "The run", Run, 404),
)
def get_run(schedule_id: str, run_id: str, services: ServicesDep, caller: CallerDep) -> Response[Run]:
    check_schedule_id(schedule_id)
    check_run_id(schedule_id, run_id)
    return reply(HTTPStatus.OK, use_cases.get_run(services, caller, schedule_id, run_id))


_CANCEL_RESPONSES = responses(200, "Cancelled at once (the run had not started)", Run, 404, 409)
_CANCEL_RESPONSES[202] = {
    "description": "Cancellation requested: the running agent stops at its next round",
    "content": {"application/json": {"model": Run}},
}


@router.post(
    "/schedules/<schedule_id>/runs/<run_id>/cancel",
    summary="Cancel a run",
    description="A queued run is cancelled at once (200); a running one is flagged and its agent stops "
    "at its next round (202); a finished run cannot be cancelled (409).",
    tags=TAGS,
    responses=_CANCEL_RESPONSES,
)
def cancel_run(schedule_id: str, run_id: str, services: ServicesDep, caller: CallerDep) -> Response[Run]:
    check_schedule_id(schedule_id)
    check_run_id(schedule_id, run_id)
    run, at_once = use_cases.cancel_run(services, caller, schedule_id, run_id)
    return reply(HTTPStatus.OK if at_once else HTTPStatus.ACCEPTED, run)
