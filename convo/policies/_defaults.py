"""The default policy chain of a target, and why each element is there.

Invariant: the chain's content-changing policies come first, `bind_prefixes`
after all of them, and marker placement last (see `convo.policies._prefix`).
"""

from __future__ import annotations

from convo._targets import Target, expect_target
from convo.policies._cache import cache_breakpoints
from convo.policies._fit import Fit
from convo.policies._prefix import bind_prefixes
from convo.policies._reasoning import drop_foreign_reasoning, keep_last_reasoning
from convo.policies._repair import repair_tool_pairs
from convo.policies._summary import apply_summaries
from convo.policies._view import Policy

__all__ = ["default_policies"]


def default_policies(target: Target, *, fit: Fit | None = None) -> tuple[Policy, ...]:
    """The policies `Chat` applies to a request for `target`, in order.

    - `apply_summaries`: a compaction summary on the path stands in for the
      turns it covers (`convo.policies.apply_summaries`); first, so every
      later policy sees the view the server will see.

    - `keep_last_reasoning`, only for a target whose server discards earlier
      reasoning (`keeps_reasoning_in_context` False): earlier reasoning is dead
      weight there, while the current exchange's must come back (R2). A target
      that keeps earlier reasoning in context and binds it to its prefix keeps
      all of it instead: dropping older blocks would change the prefix of every
      later one (R5).
    - `drop_foreign_reasoning`: another family's or unsigned reasoning is
      refused or leaks (R4).
    - `repair_tool_pairs`: a dangling call or an orphan result is a 400 (R10).
    - `fit`, when given (`convo.policies.fit(...)`): the view is kept within
      the context window, removing or shrinking the oldest exchanges; after
      the reasoning policies (so dropped reasoning is not counted) and before
      `bind_prefixes` (which checks what `fit` kept).
    - `bind_prefixes()`: reasoning whose prefix changed since it was generated
      is dropped with a note rather than sent to be refused (R5); after every
      content-changing policy. The prefix is what the target's server sees: on
      a stripping server, reasoning before an answer's own user turn is not
      part of it, so `keep_last_reasoning` dropping an older exchange's
      reasoning unbinds nothing. The last answer's reasoning and every step of
      the current tool session are sent byte-exact (R1, R2).
    - `cache_breakpoints()`, where `target.cache.supported`: markers within the
      budget, in the right places and ttl order (R6-R9); last, because it only
      decorates.

    Raises:
        UsageError: `target` is not a Target.
    """
    expect_target(target)
    chain: list[Policy] = [apply_summaries()]
    if not target.keeps_reasoning_in_context:
        chain.append(keep_last_reasoning())
    chain.extend((drop_foreign_reasoning(), repair_tool_pairs()))
    if fit is not None:
        chain.append(fit)
    chain.append(bind_prefixes())
    if target.cache.supported:
        chain.append(cache_breakpoints())
    return tuple(chain)
