"""Modules loaded on first use, for cold starts: a use case module that only some requests reach is bound
where it is used, and loaded (with what it imports) by the first request that touches one of its names.

It is the standard library's :class:`importlib.util.LazyLoader`; a module already loaded is returned as is.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """``name``, executed on its first attribute access (its parent packages are imported now)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    found = importlib.util.module_from_spec(spec)
    sys.modules[name] = found
    spec.loader.exec_module(found)
    return found
