"""Turns: one message of a conversation, with what matters for replaying it.

A turn holds a role, its blocks and replay metadata (model, finish reason,
usage, the digest of the request it was generated from). It holds no storage
identity and no timestamp: its id is computed from its content and its parent
(`convo._ids`), so the same turn in the same place always has the same id.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Literal, TypeAlias, TypeVar, cast

import attrs

from convo._blocks import (
    Block,
    ImageBlock,
    ReasoningBlock,
    TextBlock,
    ToolCallBlock,
    ToolResultBlock,
)
from convo._check import as_tuple, expect_instance
from convo._json import JSON, JSONObject, check_text, json_object
from convo.errors import UsageError

__all__ = [
    "FinishReason",
    "MemoKey",
    "PartialTurn",
    "Role",
    "Turn",
    "Usage",
    "assistant",
    "expect_turn",
    "system",
    "tool_results",
    "user",
]

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
_MISSING = object()

_T = TypeVar("_T")


@attrs.frozen
class MemoKey(Generic[_T]):
    """A typed key of `Turn.memo`, declared once next to the code that builds its value.

    `DIGEST: MemoKey[bytes] = MemoKey("convo.policies.digest")`, then
    `turn.memo(DIGEST, build)` is a `bytes` to the type checker, and `build`
    must return one. A value that depends on options (a target, a counter)
    lives under `KEY.variant(options)`: the same type, another name.
    """

    name: str

    def variant(self, options: str) -> MemoKey[_T]:
        """The key of the same value computed with `options` (any stable text)."""
        return MemoKey(f"{self.name}:{options}")


ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")


class FinishReason(enum.Enum):
    """Why the model stopped, normalised across providers (rule R19).

    The raw provider value is kept beside it on the turn; a value convo does not
    know becomes `UNKNOWN`, never `STOP`.
    """

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    PAUSE = "pause"
    REFUSAL = "refusal"
    CONTEXT_WINDOW_EXCEEDED = "context_window_exceeded"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> FinishReason:
        """No member has `value`: a `UsageError` (still a `ValueError`) listing them."""
        known = ", ".join(repr(member.value) for member in cls)
        raise UsageError(
            "Not a FinishReason value",
            where="FinishReason",
            received=value,
            fix=f"Pass one of {known}.",
        )


_FINISH_ALIASES: dict[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "eos": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "max_tokens": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "tool_use": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
    "pause_turn": FinishReason.PAUSE,
    "pause": FinishReason.PAUSE,
    "refusal": FinishReason.REFUSAL,
    "model_context_window_exceeded": FinishReason.CONTEXT_WINDOW_EXCEEDED,
    "context_window_exceeded": FinishReason.CONTEXT_WINDOW_EXCEEDED,
}


def normalise_finish_reason(raw: str | None) -> FinishReason | None:
    """Map a provider's finish or stop reason to `FinishReason` (None stays None)."""
    if raw is None:
        return None
    return _FINISH_ALIASES.get(raw, FinishReason.UNKNOWN)


def _count(
    _instance: object, attribute: attrs.Attribute[Any], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise UsageError(
            f"Usage.{attribute.name} must be a non-negative int or None",
            where=attribute.name,
            received=value,
            fix="Pass a token count of 0 or more, or None if unknown.",
        )


@attrs.frozen(kw_only=True)
class Usage:
    """Token counts reported for one answer; any may be absent."""

    prompt_tokens: int | None = attrs.field(default=None, validator=_count)
    completion_tokens: int | None = attrs.field(default=None, validator=_count)
    total_tokens: int | None = attrs.field(default=None, validator=_count)
    cache_read_tokens: int | None = attrs.field(default=None, validator=_count)
    cache_write_tokens: int | None = attrs.field(default=None, validator=_count)
    reasoning_tokens: int | None = attrs.field(default=None, validator=_count)


def _blocks(items: Iterable[Block]) -> tuple[Block, ...]:
    return _tuple_of_blocks(items, where="blocks")


def _tuple_of_blocks(items: object, *, where: str) -> tuple[Block, ...]:
    """`items` as a tuple; a value that is not a collection is a `UsageError`."""
    return as_tuple(
        cast("Iterable[Block]", items),
        where,
        expected="blocks",
        fix="Pass a list or tuple of TextBlock, ImageBlock, ... values.",
    )


def _metadata(value: Mapping[str, Any]) -> JSONObject:
    return json_object(value, path="$.metadata")


def _optional_text(path: str) -> Any:
    def validate(_instance: object, _attribute: object, value: str | None) -> None:
        if value is not None:
            check_text(value, path=path)

    return validate


def _role(_instance: object, _attribute: object, value: str) -> None:
    if value not in ROLES:
        raise UsageError(
            "Unknown turn role",
            where="role",
            received=value,
            fix=f"Use one of {', '.join(ROLES)}.",
        )


@attrs.frozen(kw_only=True)
class Turn:
    """One message: a role, its blocks, and replay metadata.

    Turns are values: build a changed copy with `attrs.evolve(turn, ...)` or
    `turn.with_blocks(...)`. Where a turn may stand is the graph's business
    (`Conversation.append`).
    """

    role: Role = attrs.field(validator=_role)
    blocks: tuple[Block, ...] = attrs.field(converter=_blocks)
    model: str | None = attrs.field(default=None, validator=_optional_text("$.model"))
    """The model that wrote an assistant turn, as the response named it."""
    finish_reason: FinishReason | None = None
    finish_reason_raw: str | None = attrs.field(
        default=None, validator=_optional_text("$.finish_reason_raw")
    )
    """The provider's own value, e.g. `end_turn` or `model_context_window_exceeded`."""
    usage: Usage | None = None
    generated_from: str | None = attrs.field(
        default=None, validator=_optional_text("$.generated_from")
    )
    """Digest of the request view this assistant turn answered (prefix binding, R5)."""
    metadata: Mapping[str, JSON] = attrs.field(
        factory=dict, converter=_metadata, hash=False
    )
    """Application data to replay with the turn; part of its identity."""
    _memo: dict[str, Any] = attrs.field(
        factory=dict, init=False, eq=False, hash=False, repr=False
    )
    """Encoded forms of this immutable turn, computed once (canonical, wire formats)."""

    def with_blocks(self, blocks: Iterable[Block]) -> Turn:
        """A copy of this turn with other blocks and the same metadata."""
        items = _blocks(blocks)
        own = self.blocks
        for item in items:  # loops, not all()/any(): this runs per turn per request
            for block in own:
                if item is block:
                    break
            else:
                return attrs.evolve(self, blocks=items)
        # Only blocks of this very turn (a policy dropping some): every field is
        # one this turn's validators accepted, so the copy is built without them.
        derived = _new(Turn)
        for name in _REPLAY_FIELDS:
            _set(derived, name, getattr(self, name))
        _set(derived, "blocks", items)
        _set(derived, "_memo", {})
        return derived

    def memo(self, key: MemoKey[_T], build: Callable[[], _T]) -> _T:
        """Return `build()` computed once per turn and key (turns never change)."""
        value: Any = self._memo.get(key.name, _MISSING)
        if value is _MISSING:
            value = self._memo[key.name] = build()
        return value  # type: ignore[no-any-return]

    def memoized(self, key: MemoKey[_T]) -> _T | None:
        """The value `memo` holds under `key`, or None if none was built yet.

        For paths that run per turn per request: checking first spares
        building a `build` closure on every hit.
        """
        value: _T | None = self._memo.get(key.name)
        return value

    @property
    def text(self) -> str:
        """The text of every text block, joined."""
        return "".join(b.text for b in self.blocks if isinstance(b, TextBlock))

    @property
    def reasoning(self) -> tuple[ReasoningBlock, ...]:
        """The reasoning blocks, in order."""
        return tuple(b for b in self.blocks if isinstance(b, ReasoningBlock))

    @property
    def tool_calls(self) -> tuple[ToolCallBlock, ...]:
        """The tool call blocks, in order."""
        return tuple(b for b in self.blocks if isinstance(b, ToolCallBlock))

    @property
    def tool_results(self) -> tuple[ToolResultBlock, ...]:
        """The tool result blocks, in order."""
        return tuple(b for b in self.blocks if isinstance(b, ToolResultBlock))

    @property
    def is_genuine_user(self) -> bool:
        """A user turn that is not only tool results (the start of an exchange)."""
        return self.role == "user" and not all(
            isinstance(b, ToolResultBlock) for b in self.blocks
        )


_REPLAY_FIELDS = tuple(
    a.name for a in attrs.fields(Turn) if a.name not in {"blocks", "_memo"}
)
"""The fields `Turn.with_blocks` copies as they are."""
_new = object.__new__
_set = object.__setattr__


def expect_turn(value: object, where: str = "turn") -> Turn:
    """`value` if it is a `Turn`; else a `UsageError` naming `where`."""
    return expect_instance(
        value,
        Turn,
        where,
        fix="Pass a Turn, e.g. convo.user('...') or one from a conversation.",
    )


@attrs.frozen(kw_only=True)
class PartialTurn:
    """What arrived of an answer that never finished. It is not a `Turn`.

    A partial turn cannot be appended to a conversation by mistake: the graph
    takes only `Turn`. Call `salvage()` to keep what arrived as an explicit,
    flagged turn, if the application wants that.
    """

    turn: Turn
    """The blocks that arrived complete, plus the text of any block cut short."""
    missing: tuple[str, ...]
    """What never arrived, e.g. `finish_reason`, `tool_call:toolu_1 arguments`."""

    def salvage(self) -> Turn:
        """The received content as a turn flagged `metadata["convo.partial"] = True`.

        Tool calls whose arguments were cut off are left out: they must never run.
        """
        cut = {
            m.split(":", 1)[1].split()[0]
            for m in self.missing
            if m.startswith("tool_call:")
        }
        blocks = tuple(
            b
            for b in self.turn.blocks
            if not (isinstance(b, ToolCallBlock) and b.id in cut)
        )
        metadata = dict(self.turn.metadata)
        metadata["convo.partial"] = True
        metadata["convo.missing"] = list(self.missing)
        return attrs.evolve(self.turn, blocks=blocks, metadata=metadata)


def _content(content: str | Block | Iterable[Block]) -> tuple[Block, ...]:
    if isinstance(content, str):
        return (TextBlock(text=content),)
    if isinstance(
        content,
        TextBlock | ReasoningBlock | ImageBlock | ToolCallBlock | ToolResultBlock,
    ):
        return (content,)
    return _tuple_of_blocks(content, where="content")


def system(content: str | Block | Iterable[Block]) -> Turn:
    """A system turn from text or blocks."""
    return Turn(role="system", blocks=_content(content))


def user(content: str | Block | Iterable[Block]) -> Turn:
    """A user turn from text or blocks."""
    return Turn(role="user", blocks=_content(content))


def assistant(content: str | Block | Iterable[Block], **replay: Any) -> Turn:
    """An assistant turn from text or blocks; `replay` sets model, usage, ..."""
    return Turn(role="assistant", blocks=_content(content), **replay)


def tool_results(*results: ToolResultBlock) -> Turn:
    """A tool turn carrying one or more results, in order."""
    return Turn(role="tool", blocks=results)
