"""Run routes: run now, backfill, the run history, one run, cancel.

Run-now and backfill record their runs themselves (``Store.create_run``: a conditional put, so a run id is
recorded once) and then send them through the normal run queue. A send that fails leaves the run ``queued``
with its redelivery deadline: the claim's outbox sends it later, so the request still answers 202.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from botocore.exceptions import BotoCoreError, ClientError

from agentcron import triggers
from agentcron.api.errors import ApiError, bad_request, run_not_found, schedule_not_found
from agentcron.api.idempotency import Idempotency, read_key
from agentcron.api.routes.common import (
    check_cursor,
    check_run_id,
    check_schedule_id,
    reply,
    reply_outcome,
    responses,
)
from agentcron.api.routes.schedules import IdempotencyKey
from agentcron.api.schemas import (
    MAX_BACKFILL_SLOTS,
    BackfillRequest,
    BackfillResponse,
    RunList,
    RunNowRequest,
    RunNowResponse,
)
from agentcron.api.services import Services
from agentcron.models import (
    OverlapPolicy,
    Run,
    RunMessage,
    RunStatus,
    RunTrigger,
    Schedule,
    run_now_id,
    slot_run_id,
    to_utc,
)
from agentcron.planner import effective_trigger
from agentcron.queue import QueueSendFailed

logger = logging.getLogger(__name__)
TAGS = ["runs"]
CANCEL_REASON = "cancelled by request"


def backfill_slots(schedule: Schedule, start_at: Any, end_at: Any) -> list[Any]:
    """The schedule's slots in ``[start_at, end_at)``, at most ``MAX_BACKFILL_SLOTS + 1`` of them."""
    return list(
        triggers.iter_fire_times(
            effective_trigger(schedule),
            start_at - timedelta(microseconds=1),
            until=end_at - timedelta(microseconds=1),
            limit=MAX_BACKFILL_SLOTS + 1,
            timezone=schedule.timezone,
            start_at=schedule.start_at,
            end_at=schedule.end_at,
            dst_policy=schedule.dst_policy,
        )
    )


def register(app: APIGatewayHttpResolver, services: Services, idempotency: Idempotency) -> None:
    store, queue, settings = services.store, services.queue, services.settings

    def existing_schedule(schedule_id: str) -> Schedule:
        check_schedule_id(schedule_id)
        schedule = store.get_schedule(schedule_id)
        if schedule is None:
            raise schedule_not_found(schedule_id)
        return schedule

    def send(run: Run, group_id: str) -> None:
        """Queue a recorded run; on failure the outbox re-sends it after the redelivery deadline."""
        try:
            queue.send(
                RunMessage(schedule_id=run.schedule_id, run_id=run.run_id),
                group_id=group_id,
                dedup_id=run.run_id,
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("run %s recorded but not sent (the outbox re-sends it): %r", run.run_id, exc)

    @app.post(
        "/schedules/<schedule_id>/run",
        summary="Run a schedule now",
        description="Starts a run at once, whether the schedule is enabled or not; optional task and overlap "
        "overrides. With an Idempotency-Key a retried request returns the first answer and creates no run.",
        tags=TAGS,
        responses=responses(202, "The run is recorded and queued", RunNowResponse, 400, 404, 409, 422),
    )
    def run_now(
        schedule_id: str,
        request: Annotated[RunNowRequest | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RunNowResponse]:
        key = read_key(app.current_event.headers)
        check_schedule_id(schedule_id)
        options = request or RunNowRequest()

        def start() -> dict[str, Any]:
            schedule = existing_schedule(schedule_id)
            now = services.clock()
            policy = options.overlap_policy or schedule.overlap_policy
            if options.overlap_policy == OverlapPolicy.skip and schedule.state.active_run_count > 0:
                raise ApiError(
                    HTTPStatus.CONFLICT,
                    "Schedule has a run queued or running (overlap_policy skip)",
                    type="overlap_skipped",
                    schedule_id=schedule_id,
                )
            if options.overlap_policy == OverlapPolicy.cancel_other:
                for status in (RunStatus.running, RunStatus.queued):
                    for active in store.list_runs(schedule_id, status=status, limit=100)[0]:
                        store.request_cancel(schedule_id, active.run_id)
            run = Run(
                run_id=run_now_id(schedule_id, now, key or uuid.uuid4().hex),
                schedule_id=schedule_id,
                scheduled_for=now,
                claimed_at=now,
                trigger=RunTrigger.run_now,
                task_message=options.task_message,
            )
            created = store.create_run(run, now, redelivery_seconds=settings.redelivery_seconds)
            existing = None if created else store.get_run(schedule_id, run.run_id)
            if created or (existing is not None and existing.status == RunStatus.queued):
                send(run, run.run_id if policy == OverlapPolicy.allow else schedule_id)
            body = RunNowResponse(schedule_id=schedule_id, run_id=run.run_id, enqueued_at=now)
            headers = {"Location": f"/schedules/{schedule_id}/runs/{run.run_id}"}
            return {"status": 202, "body": body.model_dump(mode="json"), "headers": headers}

        payload = app.current_event.json_body
        return reply_outcome(
            idempotency.run("run_now", key, {"schedule_id": schedule_id, "body": payload}, start)
        )

    @app.post(
        "/schedules/<schedule_id>/backfill",
        summary="Run every slot of a past time range",
        description="One run per slot of the trigger in [start_at, end_at), through the normal queue. A slot "
        "that already has a run (claimed, run now or backfilled before) is reported in `existing` and not "
        "run again. At most 1000 slots.",
        tags=TAGS,
        responses=responses(202, "The runs are recorded and queued", BackfillResponse, 400, 404),
    )
    def backfill(schedule_id: str, request: Annotated[BackfillRequest, Body()]) -> Response[BackfillResponse]:
        schedule = existing_schedule(schedule_id)
        now = services.clock()
        start_at, end_at = to_utc(request.start_at), to_utc(request.end_at)
        if start_at >= end_at:
            raise bad_request("start_at must be earlier than end_at")
        if end_at > now:
            raise bad_request("end_at must not be in the future")
        slots = backfill_slots(schedule, start_at, end_at)
        if len(slots) > MAX_BACKFILL_SLOTS:
            raise bad_request(f"end_at must leave at most {MAX_BACKFILL_SLOTS} slots after start_at")
        created: list[Run] = []
        existing: list[str] = []
        for slot in slots:
            run = Run(
                run_id=slot_run_id(schedule_id, slot),
                schedule_id=schedule_id,
                scheduled_for=slot,
                claimed_at=now,
                trigger=RunTrigger.backfill,
                was_catch_up=True,
            )
            if store.create_run(run, now, redelivery_seconds=settings.redelivery_seconds):
                created.append(run)
            else:
                existing.append(run.run_id)
        try:
            queue.send_runs(schedule, created)
        except (QueueSendFailed, ClientError, BotoCoreError) as exc:
            logger.warning(
                "backfill of %s recorded but not all sent (the outbox re-sends): %r", schedule_id, exc
            )
        body = BackfillResponse(
            schedule_id=schedule_id, created=[r.run_id for r in created], existing=existing, enqueued_at=now
        )
        return reply(HTTPStatus.ACCEPTED, body)

    @app.get(
        "/schedules/<schedule_id>/runs",
        summary="Runs of a schedule, newest first",
        tags=TAGS,
        responses=responses(200, "A page of runs", RunList, 400, 404),
    )
    def list_runs(
        schedule_id: str,
        status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    ) -> Response[RunList]:
        existing_schedule(schedule_id)
        check_cursor(cursor, {"schedule_id": schedule_id, "run_id": None})
        runs, next_cursor = store.list_runs(schedule_id, status=status, limit=limit, cursor=cursor)
        return reply(HTTPStatus.OK, RunList(schedule_id=schedule_id, runs=runs, next_cursor=next_cursor))

    @app.get(
        "/schedules/<schedule_id>/runs/<run_id>",
        summary="One run",
        tags=TAGS,
        responses=responses(200, "The run", Run, 404),
    )
    def get_run(schedule_id: str, run_id: str) -> Response[Run]:
        check_schedule_id(schedule_id)
        check_run_id(schedule_id, run_id)
        run = store.get_run(schedule_id, run_id)
        if run is None:
            raise run_not_found(schedule_id, run_id)
        return reply(HTTPStatus.OK, run)

    cancel_responses = responses(200, "Cancelled at once (the run had not started)", Run, 404, 409)
    cancel_responses[202] = {
        "description": "Cancellation requested: the running agent stops at its next round",
        "content": {"application/json": {"model": Run}},
    }

    @app.post(
        "/schedules/<schedule_id>/runs/<run_id>/cancel",
        summary="Cancel a run",
        description="A queued run is cancelled at once (200); a running one is flagged and its agent stops "
        "at its next round (202); a finished run cannot be cancelled (409).",
        tags=TAGS,
        responses=cancel_responses,
    )
    def cancel_run(schedule_id: str, run_id: str) -> Response[Run]:
        check_schedule_id(schedule_id)
        check_run_id(schedule_id, run_id)
        run = store.get_run(schedule_id, run_id)
        if run is None:
            raise run_not_found(schedule_id, run_id)
        # The flag first: an executor that starts the run before the finish below still sees it and stops.
        if not run.status.is_terminal and store.request_cancel(schedule_id, run_id):
            if run.status == RunStatus.queued:
                finished = store.finish_run(
                    schedule_id, run_id, RunStatus.cancelled, services.clock(), reason=CANCEL_REASON
                )
                if finished is not None:
                    return reply(HTTPStatus.OK, finished)
            return reply(HTTPStatus.ACCEPTED, store.get_run(schedule_id, run_id) or run)
        current = store.get_run(schedule_id, run_id)
        if current is None:
            raise run_not_found(schedule_id, run_id)
        raise ApiError(
            HTTPStatus.CONFLICT,
            f"Run is already {current.status.value}",
            type="run_terminal",
            schedule_id=schedule_id,
            run_id=run_id,
        )
