"""Job routes: follow the long work a request handed off (a purge, a backfill's rest, a cancel of many).

A request whose work outlasts one bounded page answers 202 with the job and ``Location: /jobs/{job_id}``;
the claim sweeps advance it a page at a time (:mod:`agentcron.application.jobs`). Finished jobs stay
readable for the run history's lifetime.
"""

from __future__ import annotations

import re
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agentcron.api.dependencies import ServicesDep
from agentcron.api.errors import ApiError
from agentcron.api.routes.common import reply, responses
from agentcron.application import jobs as use_cases
from agentcron.domain.jobs import Job

TAGS = ["jobs"]
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

router = APIGatewayHttpRouter()


@router.get(
    "/jobs/<job_id>",
    summary="Follow a job",
    description="The progress of work a request handed off: `status` pending or done, `done_count` of "
    "`total` (when known).",
    tags=TAGS,
    responses=responses(200, "The job", Job, 404),
)
def get_job(job_id: str, services: ServicesDep) -> Response[Job]:
    job = use_cases.get_job(services, job_id) if JOB_ID_PATTERN.match(job_id) else None
    if job is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "Job not found", type="not_found")
    return reply(HTTPStatus.OK, job)
