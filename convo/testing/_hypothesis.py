"""The testing kit's entry to Hypothesis: the names it uses, or how to install it.

`convo.testing.strategies` and `convo.testing.laws` import this module before
anything else that needs Hypothesis, so without the `testing` extra the error
says what to install instead of only naming a missing module.
"""

from __future__ import annotations

try:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
except ModuleNotFoundError as exc:  # pragma: no cover - run in a subprocess test
    msg = (
        "convo.testing.strategies and convo.testing.laws need Hypothesis, "
        "which is not installed. Install the testing extra: "
        "pip install 'convo[testing]' (convo.testing.fake works without it)."
    )
    raise ModuleNotFoundError(msg, name="hypothesis") from exc

__all__ = ["HealthCheck", "Phase", "given", "settings", "st"]
