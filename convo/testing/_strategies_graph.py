"""Hypothesis strategies for turns and whole conversations.

Invariant: every conversation drawn here is built with `Conversation.append`
(and `fork`, `edit`, `regenerate`), so it satisfies the graph invariants by
construction. The next turn is always derived from the path so far: after a
user turn comes an assistant turn; after an assistant turn with tool calls come
tool turns answering some or all of them (or, sometimes, a user turn leaving the
calls dangling); after tool turns the assistant answers or calls more tools.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from convo._blocks import Block, ToolCallBlock
from convo._graph import Conversation
from convo._json import JSONObject
from convo._structure import open_tool_calls
from convo._turns import ROLES, Turn, normalise_finish_reason
from convo.testing._strategies_values import (
    ID_STYLES,
    check_bool,
    check_size,
    deferred_check,
    image_blocks,
    json_objects,
    reasoning_blocks,
    text_blocks,
    tool_call_blocks,
    tool_result_blocks,
    usages,
)

__all__ = ["conversations", "turns"]


@attrs.frozen(kw_only=True)
class _Options:
    reasoning: bool = True
    tool_calls: bool = True
    images: bool = True
    cache_control: bool = False
    metadata: bool = True


@attrs.define
class _Ids:
    """Hands out tool call ids unique within one drawn value."""

    style: str
    count: int = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.style}{self.count:04d}"


_MODELS = (
    None,
    "databricks-claude-sonnet-4-5",
    "databricks-gpt-oss-120b",
    "claude-opus-4-5-20251101",
)
_RAW_FINISH = (
    "end_turn",
    "stop",
    "tool_use",
    "tool_calls",
    "max_tokens",
    "length",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
    "something_new",
)


@functools.cache
def _metadata(options: _Options) -> st.SearchStrategy[JSONObject]:
    if not options.metadata:
        return st.just({})
    return st.one_of(st.just({}), st.just({}), json_objects(max_size=3))


@functools.cache
def _digests() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "b2:" + h),
    )


@functools.cache
def _system_turns(options: _Options) -> st.SearchStrategy[Turn]:
    return st.builds(
        lambda blocks, metadata: Turn(role="system", blocks=blocks, metadata=metadata),
        st.lists(
            text_blocks(cache_control=options.cache_control), min_size=1, max_size=2
        ).map(tuple),
        _metadata(options),
    )


@functools.cache
def _user_turns(options: _Options) -> st.SearchStrategy[Turn]:
    return _user_turn(options)


@st.composite
def _user_turn(draw: st.DrawFn, options: _Options) -> Turn:
    texts = text_blocks(cache_control=options.cache_control)
    parts: list[Block] = list(draw(st.lists(texts, min_size=1, max_size=2)))
    if options.images and draw(st.integers(0, 3)) == 0:
        image = draw(image_blocks(cache_control=options.cache_control))
        parts.insert(draw(st.integers(0, len(parts))), image)
    return Turn(role="user", blocks=tuple(parts), metadata=draw(_metadata(options)))


@functools.cache
def _assistant_turns(options: _Options, calls: bool) -> st.SearchStrategy[Turn]:
    """Assistant turns whose tool call ids are placeholders (see `_with_call_ids`)."""
    return _assistant_turn(options, calls)


@st.composite
def _assistant_turn(draw: st.DrawFn, options: _Options, calls: bool) -> Turn:
    marker = options.cache_control
    parts: list[Block] = []
    if options.reasoning:
        parts += draw(st.lists(reasoning_blocks(cache_control=marker), max_size=2))
    n_calls = draw(st.integers(0, 3)) if calls and options.tool_calls else 0
    if n_calls == 0 or draw(st.booleans()):
        parts += draw(
            st.lists(text_blocks(cache_control=marker), min_size=1, max_size=2)
        )
    if options.images and draw(st.integers(0, 9)) == 0:
        parts.append(draw(image_blocks()))
    for _ in range(n_calls):
        parts.append(draw(tool_call_blocks(cache_control=marker)))
        if options.reasoning and draw(st.integers(0, 4)) == 0:
            parts.append(draw(reasoning_blocks()))  # interleaved thinking
    if draw(st.integers(0, 19)) == 0:
        parts = []  # an empty answer happens (e.g. max_tokens at once)
    raw = draw(st.one_of(st.none(), st.sampled_from(_RAW_FINISH)))
    if n_calls and raw is not None and draw(st.booleans()):
        raw = "tool_use"
    finish = normalise_finish_reason(raw)
    if raw is not None and draw(st.integers(0, 4)) == 0:
        raw = None  # a normalised reason without the provider's own value
    return Turn(
        role="assistant",
        blocks=tuple(parts),
        model=draw(st.sampled_from(_MODELS)),
        finish_reason=finish,
        finish_reason_raw=raw,
        usage=draw(st.one_of(st.none(), usages())),
        generated_from=draw(_digests()),
        metadata=draw(_metadata(options)),
    )


def _with_call_ids(turn: Turn, ids: _Ids) -> Turn:
    """`turn` with every tool call renamed to a fresh id, unique in the drawn value."""
    if not turn.tool_calls:
        return turn
    return turn.with_blocks(
        attrs.evolve(b, id=ids.next()) if isinstance(b, ToolCallBlock) else b
        for b in turn.blocks
    )


def _draw_tool_turn(
    draw: st.DrawFn, options: _Options, call_ids: Sequence[str]
) -> Turn:
    results = tool_result_blocks(
        images=options.images, cache_control=options.cache_control
    )
    blocks = tuple(attrs.evolve(draw(results), call_id=call_id) for call_id in call_ids)
    return Turn(role="tool", blocks=blocks, metadata=draw(_metadata(options)))


@functools.cache
def _tool_turns(options: _Options) -> st.SearchStrategy[Turn]:
    return _tool_turn(options)


@st.composite
def _tool_turn(draw: st.DrawFn, options: _Options) -> Turn:
    ids = _Ids(style=draw(st.sampled_from(ID_STYLES)) or "call_")
    call_ids = [ids.next() for _ in range(draw(st.integers(1, 3)))]
    return _draw_tool_turn(draw, options, call_ids)


@st.composite
def _fresh_assistant_turn(draw: st.DrawFn, options: _Options) -> Turn:
    turn = draw(_assistant_turns(options, True))
    ids = _Ids(style=draw(st.sampled_from(ID_STYLES)) or "call_")
    return _with_call_ids(turn, ids)


def turns(
    *,
    roles: Iterable[str] | None = None,
    reasoning: bool = True,
    tool_calls: bool = True,
    images: bool = True,
    cache_control: bool = False,
    metadata: bool = True,
) -> st.SearchStrategy[Turn]:
    """Single turns of any role (or of `roles`), each valid for its role's blocks.

    Args:
        roles: some of system, user, assistant, tool (None: all four).
        reasoning: assistant turns may carry reasoning blocks.
        tool_calls: assistant turns may call tools.
        images: user, assistant and tool-result content may hold images.
        cache_control: blocks may carry cache-control markers.
        metadata: turns may carry application metadata.
    """

    def build() -> st.SearchStrategy[Turn]:
        for name, value in (
            ("reasoning", reasoning),
            ("tool_calls", tool_calls),
            ("images", images),
            ("cache_control", cache_control),
            ("metadata", metadata),
        ):
            check_bool(name, value)
        if isinstance(roles, str):
            msg = f"roles={roles!r} must be an iterable of roles, not one string"
            raise InvalidArgument(msg)
        chosen = tuple(dict.fromkeys(ROLES if roles is None else roles))
        unknown = [r for r in chosen if r not in ROLES]
        if unknown or not chosen:
            msg = f"roles={roles!r} must be a non-empty selection of {ROLES!r}"
            raise InvalidArgument(msg)
        options = _Options(
            reasoning=reasoning,
            tool_calls=tool_calls,
            images=images,
            cache_control=cache_control,
            metadata=metadata,
        )
        table: dict[str, st.SearchStrategy[Turn]] = {
            "system": _system_turns(options),
            "user": _user_turns(options),
            "assistant": _fresh_assistant_turn(options),
            "tool": _tool_turns(options),
        }
        return st.one_of([table[r] for r in chosen])

    return deferred_check(build)


def _next_turn(
    draw: st.DrawFn, path: Sequence[Turn], options: _Options, ids: _Ids
) -> Turn:
    """A turn that may follow `path` (see the module docstring)."""
    last = path[-1] if path else None
    if last is None or last.role == "system":
        return draw(_user_turns(options))
    if last.role == "user":
        return _with_call_ids(draw(_assistant_turns(options, True)), ids)
    state = open_tool_calls(path)
    unanswered = [] if state is None else [c for c, n in state[1].items() if n == 0]
    if last.role == "assistant":
        if not unanswered or draw(st.integers(0, 5)) == 0:
            return draw(_user_turns(options))  # a finished answer, or dangling calls
        return _draw_tool_turn(draw, options, _some_of(draw, unanswered))
    # a tool turn: answer the remaining calls, or let the assistant go on
    if unanswered and draw(st.integers(0, 2)) == 0:
        return _draw_tool_turn(draw, options, _some_of(draw, unanswered))
    return _with_call_ids(draw(_assistant_turns(options, True)), ids)


def _some_of(draw: st.DrawFn, call_ids: Sequence[str]) -> list[str]:
    how = draw(st.integers(0, 2))
    if how == 0:
        return list(call_ids)
    if how == 1:
        return draw(st.permutations(list(call_ids)))
    return draw(st.lists(st.sampled_from(list(call_ids)), min_size=1, unique=True))


@st.composite
def _conversation(
    draw: st.DrawFn,
    *,
    min_turns: int,
    max_turns: int,
    system: bool,
    branching: bool,
    options: _Options,
) -> Conversation:
    ids = _Ids(style=draw(st.sampled_from(ID_STYLES)) or "call_")
    target = draw(st.integers(min_turns, max_turns))
    conversation = Conversation.new()
    path: list[Turn] = []
    if target and system and draw(st.booleans()):
        path.append(draw(_system_turns(options)))
        conversation = conversation.append(path[-1])
    while len(path) < target:
        path.append(_next_turn(draw, path, options, ids))
        conversation = conversation.append(path[-1])
    if branching:
        conversation = _branch(draw, conversation, options, ids)
    return conversation


def _continue(
    draw: st.DrawFn, conversation: Conversation, options: _Options, ids: _Ids
) -> Conversation:
    path = list(conversation.path())
    for _ in range(draw(st.integers(0, 3))):
        path.append(_next_turn(draw, path, options, ids))
        conversation = conversation.append(path[-1])
    return conversation


def _branch(
    draw: st.DrawFn, conversation: Conversation, options: _Options, ids: _Ids
) -> Conversation:
    for number in range(1, draw(st.integers(0, 3)) + 1):
        name = f"branch-{number}"
        nodes = conversation.ancestry(conversation.head())
        operation = draw(st.sampled_from(["fork", "edit", "regenerate"]))
        if operation == "edit":
            users = [n for n in nodes if n.turn.is_genuine_user]
            if users:
                node = draw(st.sampled_from(users))
                conversation = conversation.edit(
                    node.id, draw(_user_turns(options)), branch=name
                )
                conversation = _continue(draw, conversation, options, ids)
                continue
        if operation == "regenerate":
            answers = [n for n in nodes if n.turn.role == "assistant"]
            if answers:
                node = draw(st.sampled_from(answers))
                answer = _with_call_ids(draw(_assistant_turns(options, True)), ids)
                conversation = conversation.regenerate(answer, branch=name, of=node.id)
                continue
        at = draw(st.sampled_from([None, *(n.id for n in nodes)]))
        conversation = conversation.fork(name, at=at)
        conversation = _continue(draw, conversation, options, ids)
    if draw(st.booleans()):
        conversation = conversation.switch(
            draw(st.sampled_from(sorted(conversation.heads)))
        )
    return conversation


def conversations(
    *,
    min_turns: int = 0,
    max_turns: int = 12,
    reasoning: bool = True,
    tool_sessions: bool = True,
    images: bool = False,
    branching: bool = False,
    system: bool = True,
    cache_control: bool = False,
    metadata: bool = True,
) -> st.SearchStrategy[Conversation]:
    """Conversations built with `Conversation.append`, so always structurally valid.

    Args:
        min_turns: fewest turns on the first branch (`main`).
        max_turns: most turns on the first branch.
        reasoning: assistant turns may carry reasoning (signed, unsigned,
            signature-only, encrypted; mostly Claude's, sometimes others').
        tool_sessions: assistant turns may call tools; sessions may be
            multi-step, in progress at the head, or left dangling.
        images: user turns and tool results may hold small PNG or GIF images.
        branching: also fork, edit a user turn or regenerate an answer onto
            up to three more branches, and maybe switch the active branch.
        system: the conversation may open with a system turn.
        cache_control: blocks may carry cache-control markers.
        metadata: turns may carry application metadata.
    """

    def build() -> st.SearchStrategy[Conversation]:
        low = check_size("min_turns", min_turns)
        high = check_size("max_turns", max_turns)
        if high < low:
            msg = f"max_turns={max_turns!r} must be >= min_turns={min_turns!r}"
            raise InvalidArgument(msg)
        for name, value in (
            ("reasoning", reasoning),
            ("tool_sessions", tool_sessions),
            ("images", images),
            ("branching", branching),
            ("system", system),
            ("cache_control", cache_control),
            ("metadata", metadata),
        ):
            check_bool(name, value)
        options = _Options(
            reasoning=reasoning,
            tool_calls=tool_sessions,
            images=images,
            cache_control=cache_control,
            metadata=metadata,
        )
        return _conversation(
            min_turns=low,
            max_turns=high,
            system=system,
            branching=branching,
            options=options,
        )

    return deferred_check(build)
