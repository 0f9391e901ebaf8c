"""Build hook: compile convo's C decoder of stored turns (`convo/wire/_canonical_c.c`).

The store's loader builds every stored turn through it (see
`convo/wire/_canonical_fast.py`); it makes a cold load about a quarter
faster. It is optional: where no C compiler is found, the build goes on
without it, says so, and convo's Python decoder does the same work, slower.
Set `CONVO_PURE_PYTHON=1` at build time to leave it out on purpose.

setuptools compiles it (its `build_ext` knows each platform's compiler and
flags), in place, so an editable install imports it from the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "convo/wire/_canonical_c.c"
MODULE = "convo.wire._canonical_c"


class CDecoderHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the C decoder into the wheel (or, editable, into the source tree)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("CONVO_PURE_PYTHON"):
            return
        try:
            built = _compile(Path(self.root))
        except Exception as exc:  # noqa: BLE001 - any failure leaves the Python decoder
            self.app.display_warning(
                f"convo: the C decoder was not built ({type(exc).__name__}: {exc}); "
                "the Python decoder does its work, slower."
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            relative = built.relative_to(self.root).as_posix()
            build_data["force_include"][str(built)] = relative


def _compile(root: Path) -> Path:
    """Compile the extension in place under `root`; return the built file."""
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]

    # build_ext places an in-place build relative to the working directory.
    here = Path.cwd()
    os.chdir(root)
    try:
        dist = Distribution(
            {"name": "convo", "ext_modules": [Extension(MODULE, [SOURCE])]}
        )
        command = dist.get_command_obj("build_ext")
        command.inplace = True
        dist.run_command("build_ext")
        built = Path(root, command.get_ext_fullpath(MODULE))
    finally:
        os.chdir(here)
    if not built.is_file():
        raise FileNotFoundError(built)
    return built
