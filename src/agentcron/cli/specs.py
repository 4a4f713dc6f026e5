"""Reading schedule specs (and partial specs) for the CLI from JSON or YAML files, or from stdin.

YAML needs PyYAML, which stays optional: it is imported only for a YAML file, with a clear message if missing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class SpecError(Exception):
    """A spec file that cannot be read or parsed: a usage error (exit code 2)."""


def read_spec(source: str) -> dict[str, Any]:
    """The object in ``source`` (a path, or ``-`` for stdin). ``.yaml``/``.yml`` files are YAML, others JSON;
    stdin is tried as JSON, then as YAML."""
    if source == "-":
        text, kind = sys.stdin.read(), "auto"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read {source}: {exc.strerror or exc}") from None
        kind = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "json"
    data = _parse(text, kind, source)
    if not isinstance(data, dict):
        raise SpecError(f"{source} must hold one object (a schedule spec), not {type(data).__name__}")
    return data


def _parse(text: str, kind: str, source: str) -> Any:
    if kind in ("json", "auto"):
        try:
            return json.loads(text)
        except ValueError as exc:
            if kind == "json":
                raise SpecError(f"{source} is not valid JSON: {exc}") from None
    return _yaml(text, source)


def _yaml(text: str, source: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise SpecError(
            f"reading {source} as YAML needs PyYAML: pip install pyyaml (or write the spec as JSON)"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is not valid YAML: {exc}") from None


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``--set key=value`` pairs as a partial spec; dotted keys nest (``run_config.model=echo``).

    A value that parses as JSON (``true``, ``5``, ``{"type": "daily", ...}``, ``null``) is taken as JSON,
    anything else as a string.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set needs key=value, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        target = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise SpecError(f"--set {key}: {part} is set to a value and an object")
            target = nested
        target[parts[-1]] = value
    return out
