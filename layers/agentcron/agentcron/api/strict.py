"""Strict reading of API input: the JSON a request sends must have the exact shape of the model it fills.

The models themselves stay lenient where stored data and the original system's files need it (unknown keys
ignored, pydantic's lax coercions); the API checks every body here first, generically from the models'
field annotations, so a field added to a model is covered without a list to keep up to date:

- a key the model does not declare is refused, named by its path (``run_config.modle``);
- ``true``/``false`` only for booleans, JSON numbers only for numbers (``"3600"`` is no int, ``true`` no
  number), strings only for text, instants (RFC 3339 strings: ``0`` is no date), enums and tags;
- ``null`` only where the field is optional (``"run_config": null`` is refused: leave the key out for the
  default); an object only where an object goes (``"misfire_policy": "skip"`` is refused, write
  ``{"type": "skip"}``). The shorthands of the original system's files are spelled out by the import path
  (:func:`agentcron.domain.schedule.imported`), never by the API.

A PATCH may send ``null`` for any top-level field: it clears the field back to its default (JSON merge patch).
"""

from __future__ import annotations

import types
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

Problem = dict[str, str]


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _problem(path: str, message: str) -> Problem:
    return {"field": path or "body", "message": f"{path or 'body'} {message}", "type": "validation_error"}


def _wrong(path: str, expected: str, value: Any) -> list[Problem]:
    return [_problem(path, f"must be {expected}, not {_json_kind(value)}")]


def _discriminated(members: list[type[BaseModel]], value: dict[str, Any]) -> type[BaseModel] | None:
    for member in members:
        tag = member.model_fields.get("type")
        if tag is not None and tag.default == value.get("type"):
            return member
    return None


def _check(annotation: Any, value: Any, path: str) -> list[Problem]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _check(get_args(annotation)[0], value, path)
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(annotation) if a is not type(None)]
        if value is None:
            if len(options) < len(get_args(annotation)):
                return []
            return [_problem(path, "must not be null (leave it out for the default)")]
        models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
        if models and len(models) == len(options):
            if not isinstance(value, dict):
                return _wrong(path, "an object", value)
            member = models[0] if len(models) == 1 else _discriminated(models, value)
            return [] if member is None else fields_problems(member, value, path)  # bad tag: the model says
        if len(options) == 1:
            return _check(options[0], value, path)
        found = [_check(option, value, path) for option in options]
        return [] if any(not problems for problems in found) else found[0]
    if value is None:
        if annotation is Any or annotation is None or annotation is type(None):
            return []
        return [_problem(path, "must not be null (leave it out for the default)")]
    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, list):
            return _wrong(path, "an array", value)
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        item = args[0] if args else Any
        return [p for i, v in enumerate(value) for p in _check(item, v, f"{path}.{i}" if path else str(i))]
    if origin is dict:
        return [] if isinstance(value, dict) else _wrong(path, "an object", value)
    if origin is Literal:
        literals = get_args(annotation)
        if all(isinstance(x, str) for x in literals) and not isinstance(value, str):
            return _wrong(path, "a string", value)
        return []
    if not isinstance(annotation, type):
        return []
    if issubclass(annotation, BaseModel):
        return fields_problems(annotation, value, path) if isinstance(value, dict) else _wrong(
            path, "an object", value
        )
    if issubclass(annotation, bool):
        return [] if isinstance(value, bool) else _wrong(path, "a boolean (true or false)", value)
    if issubclass(annotation, Enum):
        kinds = {type(member.value) for member in annotation}
        if kinds == {str} and not isinstance(value, str):
            return _wrong(path, "a string", value)
        return []
    if issubclass(annotation, int):  # 3600.0 is an integer to JSON Schema too; "3600" is not
        ok = not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
        return [] if ok else _wrong(path, "an integer (a JSON number)", value)
    if issubclass(annotation, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else _wrong(path, "a number", value)
    if issubclass(annotation, datetime | date | time | timedelta):
        return [] if isinstance(value, str) else _wrong(path, "a date-time string (RFC 3339)", value)
    if issubclass(annotation, str):
        return [] if isinstance(value, str) else _wrong(path, "a string", value)
    return []


def fields_problems(
    model: type[BaseModel], data: dict[str, Any], path: str = "", *, nullable: bool = False
) -> list[Problem]:
    """What is wrong with ``data`` as the fields of ``model`` (``nullable``: any top-level key may be
    null)."""
    known: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        known[name] = info
        if info.alias:
            known[info.alias] = info
    problems: list[Problem] = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        info = known.get(key)
        if info is None:
            problems.append(_problem(where, "is not a known field"))
        elif not (nullable and value is None):
            problems.extend(_check(info.annotation, value, where))
    return problems


def problems(model: type[BaseModel], data: Any, *, patch: bool = False) -> list[Problem]:
    """Every strictness problem of the body ``data`` for ``model`` (empty: the body has the exact shape).

    ``patch``: a partial body where ``null`` resets a top-level field to its default.
    """
    if data is None:
        return []
    if not isinstance(data, dict):
        return _wrong("", "an object", data)
    return fields_problems(model, data, nullable=patch)
