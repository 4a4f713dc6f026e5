"""Validation errors as ``{field, message}`` pairs a client can act on."""

import re

from pydantic import BaseModel, ValidationError

from agentcron.domain.policies import MISFIRE_TYPES
from agentcron.domain.triggers import TRIGGER_TYPES

class FieldError(BaseModel):
    field: str
    message: str
    type: str = "validation_error"


_LEADING_FIELD = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*) (?:is|must|are) ")


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn a pydantic error into ``{field, message}`` pairs a client can act on.

    Our own messages start with the field path; for pydantic's built-in errors (wrong type, missing) the path
    comes from the error location, without the union tags pydantic adds.
    """
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        match = _LEADING_FIELD.match(message)
        if match:
            out.append(FieldError(field=match.group(1), message=message))
            continue
        parts = [str(p) for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
        path = ".".join(parts) or "body"
        kind = err["type"]
        if kind == "missing":
            message = f"{path} is required"
        else:
            message = f"{path}: {message}"
        out.append(FieldError(field=path, message=message))
    return out


_UNION_TAGS = set(TRIGGER_TYPES) | set(MISFIRE_TYPES)
