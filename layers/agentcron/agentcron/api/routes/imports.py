"""Import route: ``POST /imports`` takes the original system's store file (``schedules.json``) as its body.

A route of its own rather than a loop of creates in the client: what an entry becomes needs the deployment's
settings (the default model provider), the whole file must be checked before anything is written, and a
second identical import must be recognised as such; all of it is the use case's
(:mod:`agentcron.application.imports`), so a deployed stack imports exactly as the local one. The body may be
up to :data:`MAX_IMPORT_BYTES` (larger than other bodies: a file carries run history).
"""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from agentcron.api.dependencies import CallerDep, ServicesDep
from agentcron.api.errors import ApiError
from agentcron.api.routes.common import reply, responses

MAX_IMPORT_BYTES = 5 * 1024 * 1024  # below Lambda's 6 MB request payload
IMPORT_PATH = "/imports"

router = APIGatewayHttpRouter()


class StoreFile(BaseModel):
    """The original system's store file as it is: each entry is read leniently (its shorthands and legacy
    fields are the original's), and every problem is reported by entry id and field."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use: see schemas._Later

    version: int | None = Field(default=None, description="The file's format version (4 in current files).")
    updated_at: str | None = Field(default=None, description="When the original last rewrote it.")
    schedules: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Schedule id -> the original's schedule entry."
    )
    run_records: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Run id -> the original's run record (its run history)."
    )


class ImportReportView(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: see schemas._Later

    dry_run: bool
    created: list[str] = Field(description="Schedule ids created (or that would be, with dry_run).")
    updated: list[str] = Field(description="Schedule ids whose spec or run history changed.")
    unchanged: list[str] = Field(description="Schedule ids already as the file says: nothing written.")
    workflow_disabled: list[str] = Field(
        description="Schedules that used workflow_target: imported disabled with a pause note."
    )
    runs_imported: int = Field(description="Run records added.")
    orphan_runs: int = Field(description="Run records of no schedule in the file: not imported.")


@router.post(
    IMPORT_PATH,
    summary="Import the original system's store file",
    description="The body is the original's schedules.json. Each schedule keeps its id, state and run "
    "history; next_fire_at is recomputed from now. A file with any invalid entry is refused whole (400, "
    "`errors` naming each entry and field) and nothing is written; an import of a file already imported "
    "changes nothing. `dry_run=true` reports what would be created, updated or left unchanged.",
    tags=["imports"],
    responses=responses(200, "What was (or would be) imported", ImportReportView, 400),
)
def import_store(
    store_file: Annotated[StoreFile, Body()],
    services: ServicesDep,
    caller: CallerDep,
    dry_run: Annotated[bool, Query(description="Report only; write nothing.")] = False,
) -> Response[ImportReportView]:
    from agentcron.application import imports as use_cases  # only this route reads the original's file

    data = store_file.model_dump(exclude_none=True)
    try:
        report = use_cases.import_store(services, caller, data, dry_run=dry_run)
    except use_cases.ImportRefused as exc:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, str(exc), type="validation_error", field=exc.field, problems=exc.problems
        ) from None
    return reply(HTTPStatus.OK, ImportReportView(**dataclasses.asdict(report)))
