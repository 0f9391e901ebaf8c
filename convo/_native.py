"""convo's optional C modules: each one, or None where it is not to be used.

Each C module has a Python twin that does the same work, slower, and that
decides whenever the C module answers None. A module is None where it was not
compiled (no C compiler when convo was installed, see `hatch_build.py`) or
when `CONVO_PURE_PYTHON` is set, which turns them all off.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["native"]


def native(name: str) -> ModuleType | None:
    """The C module `name` (e.g. `convo._graph_c`), or None (see the module docstring)."""
    if os.environ.get("CONVO_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
