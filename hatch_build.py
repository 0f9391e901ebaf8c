"""Build hook: compile convo's C modules, the hot path of a store's load.

- `convo/wire/_canonical_c.c` builds each stored turn's values (see
  `convo/wire/_canonical_fast.py`);
- `convo/_graph_c.c` places it: its id and its node (see `convo/_graph.py`).

Together they make a cold load about a third faster. Each is optional and
has a Python twin that does the same work, slower: where no C compiler is
found, the build goes on without them and says so. Set `CONVO_PURE_PYTHON=1`
at build time to leave them out on purpose (at run time it turns them off).

setuptools compiles them (its `build_ext` knows each platform's compiler and
flags), in place, so an editable install imports them from the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

EXTENSIONS = {
    "convo.wire._canonical_c": "convo/wire/_canonical_c.c",
    "convo._graph_c": "convo/_graph_c.c",
}
"""convo's C modules (module name: source), each optional, each with a Python twin."""


class CExtensionsHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the C modules into the wheel (or, editable, into the source tree)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("CONVO_PURE_PYTHON"):
            return
        try:
            built = _compile(Path(self.root))
        except Exception as exc:  # noqa: BLE001 - any failure leaves the Python twins
            self.app.display_warning(
                f"convo: the C modules were not built ({type(exc).__name__}: {exc}); "
                "their Python twins do the work, slower."
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            for path in built:
                relative = path.relative_to(self.root).as_posix()
                build_data["force_include"][str(path)] = relative


def _compile(root: Path) -> list[Path]:
    """Compile the extensions in place under `root`; return the built files."""
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]

    # build_ext places an in-place build relative to the working directory.
    here = Path.cwd()
    os.chdir(root)
    try:
        modules = [Extension(name, [source]) for name, source in EXTENSIONS.items()]
        dist = Distribution({"name": "convo", "ext_modules": modules})
        command = dist.get_command_obj("build_ext")
        command.inplace = True
        dist.run_command("build_ext")
        built = [Path(root, command.get_ext_fullpath(name)) for name in EXTENSIONS]
    finally:
        os.chdir(here)
    for path in built:
        if not path.is_file():
            raise FileNotFoundError(path)
    return built
