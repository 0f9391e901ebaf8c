"""Where exchanges and tool-use sessions begin, on any path of turns.

These are pure functions over a sequence of turns, shared by the graph (which
validates appends with them) and by policies (which decide with them).

- An *exchange* starts at a genuine user turn and runs to the next one.
- A *tool-use session* is the run of assistant turns with tool calls and the
  tool turns that answer them, after the last genuine user turn; it is *in
  progress* while the path ends inside it (calls or results, no final answer yet).
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._turns import Turn

__all__ = [
    "current_exchange_start",
    "last_assistant_index",
    "last_user_index",
    "open_tool_calls",
    "tool_session_start",
]


def last_user_index(turns: Sequence[Turn], *, before: int | None = None) -> int | None:
    """Index of the last genuine user turn (before `before`, if given), or None."""
    stop = len(turns) if before is None else before
    for i in range(stop - 1, -1, -1):
        if turns[i].is_genuine_user:
            return i
    return None


def last_assistant_index(turns: Sequence[Turn]) -> int | None:
    """Index of the last assistant turn, or None."""
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == "assistant":
            return i
    return None


def current_exchange_start(turns: Sequence[Turn]) -> int:
    """Index where the last exchange starts (0 when there is no user turn)."""
    index = last_user_index(turns)
    return 0 if index is None else index


def tool_session_start(turns: Sequence[Turn]) -> int | None:
    """Index of the first assistant turn of a tool-use session in progress, or None.

    The session is in progress when the path ends with a tool turn, or with an
    assistant turn that made tool calls.
    """
    if not turns:
        return None
    last = turns[-1]
    if not (last.role == "tool" or (last.role == "assistant" and last.tool_calls)):
        return None
    start: int | None = None
    for i in range(len(turns) - 1, -1, -1):
        turn = turns[i]
        if turn.role == "tool":
            continue
        if turn.role == "assistant" and turn.tool_calls:
            start = i
            continue
        break
    return start


def open_tool_calls(turns: Sequence[Turn]) -> tuple[int, dict[str, int]] | None:
    """The assistant turn whose calls the path's trailing tool turns answer.

    Returns (index of that assistant turn, {call id: number of results so far}),
    or None when the path does not end in that assistant turn or its tool turns.
    """
    answered: dict[str, int] = {}
    for i in range(len(turns) - 1, -1, -1):
        turn = turns[i]
        if turn.role == "tool":
            for result in turn.tool_results:
                answered[result.call_id] = answered.get(result.call_id, 0) + 1
            continue
        if turn.role == "assistant" and turn.tool_calls:
            counts = {call.id: answered.get(call.id, 0) for call in turn.tool_calls}
            for call_id, n in answered.items():
                if call_id not in counts:
                    counts[call_id] = n
            return i, counts
        return None
    return None
