"""Who is asking: a caller (a principal, the projects granted to it, read or also write).

Every schedule belongs to one project; runs, sessions and events inherit it. The application layer receives
a :class:`Caller` in every use case and checks it there, once (:mod:`agentcron.application.access`): a
resource outside the caller's projects is reported as not found (its existence is not revealed), a
read-only caller may change nothing, and nobody creates in a project not granted to it.

Callers come from the entry points: the API turns IAM or JWT authorizer context into one
(:mod:`agentcron.api.auth`), the scheduler tool acts as its run (its project only, ``actor`` = the run id),
and the system itself (claims, queue messages) is :data:`SYSTEM`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PROJECT = "default"
ALL_PROJECTS = "*"  # in a grant: every project
PROJECT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROJECT_ID_RULE = "project_id must be 1-64 characters of letters, digits, '-' or '_'"


@dataclass(frozen=True)
class Caller:
    """A principal, its projects (None: every project, an administrator) and whether it may change things.

    ``run_id`` is set when an agent run acts (the scheduler tool): changes are then recorded with the run id.
    """

    principal: str
    projects: frozenset[str] | None = None
    can_write: bool = True
    run_id: str | None = None

    def sees(self, project_id: str) -> bool:
        return self.projects is None or project_id in self.projects

    @property
    def is_admin(self) -> bool:
        return self.projects is None

    @property
    def actor(self) -> str:
        """What ``created_by`` / ``updated_by`` record: the run id for an agent, else the principal id."""
        return self.run_id or self.principal

    @classmethod
    def of(
        cls, principal: str, projects: list[str] | set[str] | frozenset[str] | None, *, write: bool
    ) -> Caller:
        """A caller granted ``projects`` (``"*"`` among them, or None: every project)."""
        if projects is None or ALL_PROJECTS in projects:
            return cls(principal, None, write)
        return cls(principal, frozenset(projects), write)


SYSTEM = Caller("agentcron")
"""The system itself: the claim, the executor acting on a queue message, the local stack's loader."""


def parse_projects(raw: object) -> list[str]:
    """The project ids of a grant claim: a JSON list, a space- (or comma-) separated string, or the
    ``[a b]`` text API Gateway's JWT authorizer makes of a list claim. Invalid ids are dropped."""
    import json

    if isinstance(raw, list):
        values = [str(item) for item in raw]
    else:
        text = str(raw or "").strip()
        values = []
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                values = [str(item) for item in parsed]
            else:
                text = text.strip("[]")
        if not values:
            values = [part.strip().strip('"') for part in re.split(r"[\s,]+", text)]
    return [v for v in dict.fromkeys(values) if v == ALL_PROJECTS or PROJECT_ID_PATTERN.match(v)]
