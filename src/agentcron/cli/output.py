"""Output formats of the CLI (``-o table|wide|json|yaml``) and the small YAML writer behind ``-o yaml``.

``-o yaml`` is written here rather than with PyYAML so the CLI's run-time dependencies stay those of the
Lambda layer: the writer emits YAML's block style with every scalar in JSON spelling (strings always
double-quoted, ``true``/``false``/``null``, numbers), which any YAML 1.2 parser (and PyYAML) reads back to
the same data. Reading YAML spec files does need PyYAML (optional: ``pip install 'agentcron[yaml]'``), since a
correct YAML reader is not small.
"""

from __future__ import annotations

import json
import re
from typing import Any

FORMATS = ("table", "wide", "json", "yaml")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def to_yaml(data: Any) -> str:
    """``data`` (JSON values) as a YAML document; block style, JSON-spelled scalars."""
    return "\n".join(_yaml_lines(data, 0)) + "\n"


def _key(name: Any) -> str:
    text = str(name)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED else json.dumps(text)


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _yaml_lines(data: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(data, dict):
        if not data:
            return [pad + "{}"]
        lines: list[str] = []
        for name, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{_key(name)}:")
                lines += _yaml_lines(value, indent + 2)
            else:
                lines.append(f"{pad}{_key(name)}: {_inline(value)}")
        return lines
    if isinstance(data, list):
        if not data:
            return [pad + "[]"]
        lines = []
        for item in data:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml_lines(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines += nested[1:]
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    return [pad + _inline(data)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(data: Any, fmt: str) -> str:
    """``data`` as ``json`` or ``yaml`` text."""
    return to_yaml(data).rstrip("\n") if fmt == "yaml" else to_json(data)
