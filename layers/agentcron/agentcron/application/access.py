"""The checks every use case makes of its caller (see :mod:`agentcron.domain.access` for the model).

Order matters and is the same everywhere: first whether the caller may see the resource's project (if not,
the use case's own not-found error: nothing about the resource is revealed), then whether it may change it
(403). A create is checked against the project it names.
"""

from __future__ import annotations

from agentcron.domain.access import Caller
from agentcron.exceptions import Forbidden


def check_visible(caller: Caller, project_id: str, not_found: Exception) -> None:
    """Raise ``not_found`` when ``project_id`` is not one of the caller's projects."""
    if not caller.sees(project_id):
        raise not_found


def check_writable(caller: Caller, project_id: str, not_found: Exception) -> None:
    """:func:`check_visible`, then ``Forbidden`` for a read-only caller."""
    check_visible(caller, project_id, not_found)
    if not caller.can_write:
        raise Forbidden("this caller may read but not change (it lacks the agentcron/write scope)")


def check_creatable(caller: Caller, project_id: str) -> None:
    """``Forbidden`` unless the caller may write and ``project_id`` is one of its projects."""
    if not caller.can_write:
        raise Forbidden("this caller may read but not change (it lacks the agentcron/write scope)")
    if not caller.sees(project_id):
        raise Forbidden(f"project {project_id!r} is not granted to this caller")
