"""Every error convo raises, as one tree rooted at `ConvoError`.

```text
ConvoError                                        .what .where .received .fix — every error
├── UsageError(ConvoError, ValueError)                             — a caller's mistake: wrong type, name or state
├── InvalidContentError(ConvoError, ValueError)   .path            — a value refused at construction
│   ├── InvalidTextError                                           — NUL or a lone surrogate
│   ├── InvalidImageError                                          — URL, media type, base64, size
│   └── ToolArgumentsError                                         — arguments are not valid JSON
├── InvalidConversationError(ConvoError, ValueError) .path .turn_id — a graph invariant is broken
│   ├── ToolPairingError                                           — a result answers no open call
│   ├── RoleOrderError                                             — a turn cannot follow its parent
│   ├── PendingTurnError                                           — the head still waits for its answer
│   └── NothingPendingError                                        — the head needs no answer (or tool results)
├── LookupFailedError(ConvoError, LookupError)      .key
│   ├── UnknownBranchError                                         — no branch of that name
│   ├── UnknownTurnError                                           — no turn with that id here
│   └── UnknownTargetError                                         — no target registered by that name
├── PolicyError(ConvoError)                         .policy .path   — a policy cannot produce a valid view
│   ├── PrefixChangedError                                         — strict mode: signed reasoning lost its prefix
│   └── ContextWindowError   .window .budget .minimum …            — even the minimum request is over the window
├── RequestRejectedError(ConvoError, ValueError)    .rule .target .path .link — the target would answer 400
│   └── PayloadTooLargeError                                       — a size limit of the target
├── WireError(ConvoError)
│   └── DecodeError(WireError, ValueError)          .path .errors (+ .request_id .attempts from a client)
│       ├── UnknownBlockTypeError                   .tag .allowed
│       └── UnsupportedVersionError                 .version .supported
├── StoreError(ConvoError)
│   ├── NotFoundError(StoreError, LookupError)      .kind .key     — missing, or another tenant's
│   ├── ConflictError(StoreError)                   .expected .actual — a stale writer, nothing written
│   │   └── AnswerConflictError                     .reply .branch .turn_id — the answer went to a side branch
│   ├── StoreBusyError(StoreError)                                 — the database stayed locked
│   ├── CorruptRecordError(StoreError)              .table .key    — a stored row is not convo's
│   ├── SchemaOutOfDateError(StoreError)            .current .head — names the upgrade command
│   └── DatabaseURLError(StoreError, ValueError)    .url           — unparsable URL or unknown scheme
└── APIError(ConvoError)                            .request_id .attempts
    ├── APIConnectionError                                         — no response at all
    │   └── APITimeoutError                         .partial       — deadline, read or idle timeout
    ├── APIStatusError                              .status_code .error_code .body_excerpt
    │   ├── BadRequestError (400)
    │   ├── AuthenticationError (401)
    │   ├── PermissionDeniedError (403)
    │   ├── EndpointNotFoundError (404)
    │   ├── RateLimitError (429)                    .retry_after
    │   └── ServerError (5xx, 529)
    ├── StreamError                                 .partial .error_type — an error after the stream began
    │   └── StreamInterruptedError                                  — the stream ended without its finish
    ├── ResponseTooLargeError                       .limit
    └── UnexpectedRedirectError                     .location
```

An error builds its own message from its fields, in the house order: what is
wrong, then where (its `path` detail, such as `$.turns[3].blocks[0]`, or
`where`), then what was received, then the fix. A raise site passes each fact
once: `InvalidImageError("Not a base64 data URL", path="$.url", received=url,
fix="Use the form data:image/png;base64,<data>.")`. Each class declares its
details as annotations (drawn above); the constructor takes only those (a
misspelt or missing detail is a `TypeError` at the raise site, and the type
checker reads every error class as a dataclass, so mypy reports it first).
Every detail is also an attribute, and every error survives `pickle` (they
cross process boundaries in backends).

Wire code (`convo.wire`) knows no request: what it raises carries no
`request_id` or `attempts`; the client re-raises it with them.
Nothing secret is ever put into a message: callers pass content excerpts
through `excerpt()`, which bounds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AnswerConflictError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ContextWindowError",
    "ConvoError",
    "CorruptRecordError",
    "DatabaseURLError",
    "DecodeError",
    "EndpointNotFoundError",
    "InvalidContentError",
    "InvalidConversationError",
    "InvalidImageError",
    "InvalidTextError",
    "LookupFailedError",
    "NotFoundError",
    "NothingPendingError",
    "PayloadTooLargeError",
    "PendingTurnError",
    "PermissionDeniedError",
    "PolicyError",
    "PrefixChangedError",
    "RateLimitError",
    "RequestRejectedError",
    "ResponseTooLargeError",
    "RoleOrderError",
    "SchemaOutOfDateError",
    "ServerError",
    "StoreBusyError",
    "StoreError",
    "StreamError",
    "StreamInterruptedError",
    "ToolArgumentsError",
    "ToolPairingError",
    "UnexpectedRedirectError",
    "UnknownBlockTypeError",
    "UnknownBranchError",
    "UnknownTargetError",
    "UnknownTurnError",
    "UnsupportedVersionError",
    "UsageError",
    "WireError",
    "excerpt",
    "message",
]

_EXCERPT = 200
_DEPTH = 6


def _bounded_repr(value: object, out: list[str], budget: list[int], depth: int) -> bool:
    """Append the repr of `value` to `out`; False once `budget` characters are spent.

    Bounded in depth and stopped at the budget: a value nested thousands deep,
    or a container of millions of items, costs about `budget` characters of
    work, never a `RecursionError`.
    """

    def emit(text: str) -> bool:
        out.append(text)
        budget[0] -= len(text)
        return budget[0] >= 0

    if isinstance(value, str | bytes | bytearray):
        return emit(repr(value[: budget[0] + 1]))
    if isinstance(value, bool | float | complex | None):
        return emit(repr(value))
    if isinstance(value, int):
        if value.bit_length() > 4 * budget[0] + 8:
            return emit(f"<int of {value.bit_length()} bits>")
        return emit(repr(value))
    brackets = _BRACKETS.get(type(value))
    if brackets is None:
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001 - a foreign __repr__ that fails or recurses
            text = f"<{type(value).__name__}>"
        return emit(text)
    opening, closing = brackets
    items: Any = value
    if depth >= _DEPTH and items:
        return emit(f"{opening}…{closing}")
    if not emit(opening):
        return False
    for index, item in enumerate(items):
        if index and not emit(", "):
            return False
        if not _bounded_repr(item, out, budget, depth + 1):
            return False
        if isinstance(items, dict) and not (
            emit(": ") and _bounded_repr(items[item], out, budget, depth + 1)
        ):
            return False
    if type(value) is tuple and len(items) == 1 and not emit(","):
        return False
    return emit(closing)


_BRACKETS: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
    dict: ("{", "}"),
}


def excerpt(value: object, *, limit: int = _EXCERPT) -> str:
    """The `repr` of a received value, cut to `limit` characters for a message.

    Bounded in time and depth whatever the value: strings are cut before they
    are repr'd, containers are walked at most six levels deep and only until
    `limit` characters are written.
    """
    if isinstance(value, str) and value.startswith("<"):
        # A placeholder such as "<3 bytes>" or "<OperationalError>", shown as is.
        if len(value) <= limit:
            return value
        return f"{value[:limit]}… ({len(value)} characters)"
    out: list[str] = []
    if not _bounded_repr(value, out, [limit], 0):
        text = "".join(out)[:limit]
        size = (
            f" ({len(value)} characters)"
            if isinstance(value, str)
            else f" ({type(value).__name__} of {len(value)} items)"
            if isinstance(value, list | tuple | dict | set | frozenset)
            else ""
        )
        return f"{text}…{size}"
    return "".join(out)


def message(
    what: str,
    *,
    where: str | None = None,
    received: object = ...,
    fix: str | None = None,
) -> str:
    """Build an error message in the house order: what, where, received, fix."""
    parts = [what]
    if where:
        parts.append(f"at {where}")
    text = " ".join(parts)
    if received is not ...:
        text += f" (got {excerpt(received)})"
    if not text.endswith((".", "?", "!")):
        text += "."
    if fix:
        text += f" {fix}"
    return text


_MISSING: Any = object()


class _NotGiven:
    """The value of a `received` detail a raise site did not pass."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()
"""`received` when nothing was received (the message then says no `got ...`)."""


def _detail(*, kw_only: bool = True, default: Any = _MISSING) -> Any:
    """Declare a detail with options (the type checker reads it as a field)."""
    del kw_only
    return default


def _rebuild(
    cls: type[ConvoError], facts: dict[str, Any], details: dict[str, Any]
) -> ConvoError:
    return cls(facts.pop("what"), **facts, **details)


def _declared(cls: type) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The details `cls` declares (annotations along its error bases) and their defaults."""
    names: list[str] = []
    defaults: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not issubclass(klass, BaseException):
            continue
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or name in _BASE_FIELDS:
                continue
            if "ClassVar" in str(annotation):
                continue
            if name not in names:
                names.append(name)
            default = vars(klass).get(name, _MISSING)
            if default is not _MISSING:
                defaults[name] = default
    return tuple(names), defaults


_BASE_FIELDS = frozenset({"what", "where", "received", "fix"})


@dataclass_transform(kw_only_default=True, field_specifiers=(_detail,))
class _ErrorType(type):
    """Collects each error class's declared details when the class is made.

    The type checker reads every error class as a dataclass: a raise site
    that passes an undeclared (misspelt) detail, or omits a required one, is
    a type error; at run time it is a `TypeError` at the raise site.
    """

    def __init__(cls, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> None:
        super().__init__(name, bases, ns)
        cls._details, cls._defaults = _declared(cls)


class ConvoError(Exception, metaclass=_ErrorType):
    """The root of every error convo raises."""

    _details: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict[str, Any]]
    _where: ClassVar[str] = "path"
    """The detail that says where (a path such as `$.turns[3]`), if declared."""

    what: str = _detail(kw_only=False)
    """What is wrong, in plain words (the message adds where, received and fix)."""
    where: str | None = None
    """Where, when the class declares no `path` detail (an argument name, say)."""
    received: object = NOT_GIVEN
    """The offending value as received (shown through `excerpt()`), if any."""
    fix: str | None = None
    """How to fix it, when the caller can."""

    if not TYPE_CHECKING:

        def __init__(
            self,
            what: str,
            /,
            *,
            where: str | None = None,
            received: object = NOT_GIVEN,
            fix: str | None = None,
            **details: Any,
        ):
            cls = type(self)
            unknown = sorted(set(details) - set(cls._details))
            if unknown:
                declared = ", ".join(cls._details) or "none"
                msg = (
                    f"{cls.__name__} has no detail {unknown[0]!r} (its details: "
                    f"{declared}). Pass only the details the class declares."
                )
                raise TypeError(msg)
            values: dict[str, Any] = {}
            for name in cls._details:
                if name in details:
                    values[name] = details[name]
                elif name in cls._defaults:
                    values[name] = cls._defaults[name]
                else:
                    msg = (
                        f"{cls.__name__} needs the detail {name!r}. Pass "
                        f"{name}=... where it is raised."
                    )
                    raise TypeError(msg)
            if where is not None and cls._where in cls._details:
                msg = f"{cls.__name__} says where in {cls._where}=, not where=."
                raise TypeError(msg)
            self._set(what, where, received, fix, values)
            super().__init__(self._message)

    def _set(
        self,
        what: str,
        where: str | None,
        received: object,
        fix: str | None,
        values: dict[str, Any],
    ) -> None:
        self.what = what
        self.where = where
        self.received = received
        self.fix = fix
        self._values = values
        for name, value in values.items():
            setattr(self, name, value)
        self._message = self._render()

    @property
    def message(self) -> str:
        """The whole message: what is wrong, where, what was received, the fix."""
        return self._message

    @message.setter
    def message(self, text: str) -> None:
        self._message = text

    @property
    def details(self) -> dict[str, Any]:
        """Every declared detail by name (each is also an attribute)."""
        return self._values

    def _render(self) -> str:
        """The message, built from the fields: what, where, received, fix."""
        where = self.details.get(self._where, self.where)
        return message(
            self.what,
            where=where if isinstance(where, str) else None,
            received=... if self.received is NOT_GIVEN else self.received,
            fix=self.fix,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        facts = {
            "what": self.what,
            "where": self.where,
            "received": self.received,
            "fix": self.fix,
        }
        return (_rebuild, (type(self), facts, self.details))

    def __str__(self) -> str:
        return self.message


class UsageError(ConvoError, ValueError):
    """A caller passed a value the function cannot take: a wrong type, name or state."""


class InvalidContentError(ConvoError, ValueError):
    """A block or turn was built from a value convo refuses to hold."""

    path: str | None = None


class InvalidTextError(InvalidContentError):
    """Text holds a NUL or a lone surrogate, which no database stores identically."""


class InvalidImageError(InvalidContentError):
    """An image is a URL, not base64, of an unknown media type, or too large."""


class ToolArgumentsError(InvalidContentError):
    """A tool call's arguments are not the JSON object they claim to be."""


class InvalidConversationError(ConvoError, ValueError):
    """Appending a turn would break a structural invariant of the graph."""

    path: str | None = None
    turn_id: str | None = None


class ToolPairingError(InvalidConversationError):
    """A tool result answers no open call of the assistant turn before it."""


class RoleOrderError(InvalidConversationError):
    """A turn's role, or a block's kind, cannot stand where it was put."""


class PendingTurnError(InvalidConversationError):
    """The branch head is a user turn (or tool results) still waiting for its answer."""


class NothingPendingError(InvalidConversationError):
    """The branch head needs no answer, or needs tool results before one."""


class LookupFailedError(ConvoError, LookupError):
    """A name or id was looked up in a value that does not hold it."""

    key: str


class UnknownBranchError(LookupFailedError):
    """No branch of that name exists in the conversation."""


class UnknownTurnError(LookupFailedError):
    """No turn with that id exists in the conversation."""


class UnknownTargetError(LookupFailedError):
    """No target is registered under that name."""


class PolicyError(ConvoError):
    """A policy cannot turn its input view into a valid output view."""

    policy: str
    path: str | None


class PrefixChangedError(PolicyError):
    """Strict mode: a kept signed reasoning block's prefix has changed since it was generated."""


class ContextWindowError(PolicyError):
    """Even the least a request must carry does not fit the target's context window."""

    window: int
    max_output: int
    tools: int
    margin: int
    budget: int
    minimum: int


class RequestRejectedError(ConvoError, ValueError):
    """The request breaks a rule of its target, which would answer it with a 400."""

    rule: str
    target: str
    path: str | None = None
    link: str | None = None
    """Where the rule is documented, when it is a known provider rule."""

    def _render(self) -> str:
        text = message(
            f"{self.what} (rule {self.rule}, target {self.target!r})",
            where=self.path,
            received=... if self.received is NOT_GIVEN else self.received,
            fix=self.fix,
        )
        return text if self.link is None else f"{text} See {self.link}."


class PayloadTooLargeError(RequestRejectedError):
    """An image or the whole request is over a limit of the target."""


class WireError(ConvoError):
    """A wire format could not encode or decode a value."""


class DecodeError(WireError, ValueError):
    """A document does not have the shape its format requires (a client's also names the call)."""

    path: str | None
    errors: tuple[str, ...]
    request_id: str | None = None
    attempts: int | None = None


class UnknownBlockTypeError(DecodeError):
    """A block carries a `type` tag the format does not know."""

    tag: object
    allowed: tuple[str, ...]


class UnsupportedVersionError(DecodeError):
    """A canonical document was written by a newer convo than this one."""

    version: object
    supported: tuple[int, ...]


class StoreError(ConvoError):
    """The store could not carry out an operation."""


class NotFoundError(StoreError, LookupError):
    """No such conversation, branch or turn for this tenant (another tenant's looks the same)."""

    kind: str
    key: str


class ConflictError(StoreError):
    """A branch head moved since the writer read it (from `append`: and the turn is not on it); nothing was written."""

    expected: str | int | None
    """The head turn id (or the metadata version) the writer read."""
    actual: str | int | None
    """The head turn id (or the metadata version) found at write time."""


class AnswerConflictError(ConflictError):
    """The branch moved while a request was in flight; its answer is on a side branch."""

    reply: Any
    branch: str
    turn_id: str


class StoreBusyError(StoreError):
    """The database stayed locked past the busy timeout; retrying later may succeed."""


class CorruptRecordError(StoreError):
    """A stored row does not decode as convo data; nothing was substituted for it."""

    table: str
    key: str


class SchemaOutOfDateError(StoreError):
    """The database schema is older (or newer) than this convo; the message names the upgrade."""

    current: str | None
    head: str


class DatabaseURLError(StoreError, ValueError):
    """A database URL does not parse, or names a database or driver convo cannot use."""

    url: str


class APIError(ConvoError):
    """Sending a request to a serving endpoint failed."""

    request_id: str | None = None
    attempts: int | None = None


class APIConnectionError(APIError):
    """No response arrived: the connection failed or dropped before headers."""


class APITimeoutError(APIConnectionError):
    """The total deadline, a read timeout or the stream's idle timeout passed."""

    partial: object = None


class APIStatusError(APIError):
    """The endpoint answered with an error status."""

    status_code: int
    error_code: str | None
    body_excerpt: str


class BadRequestError(APIStatusError):
    """The endpoint answered 400 (or 422): the request itself is wrong."""


class AuthenticationError(APIStatusError):
    """The endpoint answered 401: the token is missing, wrong or expired."""


class PermissionDeniedError(APIStatusError):
    """The endpoint answered 403: the token may not use this endpoint."""


class EndpointNotFoundError(APIStatusError):
    """The endpoint answered 404: no serving endpoint of that name."""


class RateLimitError(APIStatusError):
    """The endpoint answered 429; `retry_after` holds its hint in seconds, if any."""

    retry_after: float | None


class ServerError(APIStatusError):
    """The endpoint answered 5xx or 529: its side failed or is overloaded."""


class StreamError(APIError):
    """A stream carried an error after it began; `partial` holds what arrived."""

    partial: object
    error_type: str | None


class StreamInterruptedError(StreamError):
    """The stream ended, or the connection dropped, before its finish."""


class ResponseTooLargeError(APIError):
    """The response passed a size cap (decompressed bytes, line length or events)."""

    limit: int


class UnexpectedRedirectError(APIError):
    """The endpoint answered with a redirect, which convo never follows with credentials."""

    location: str | None
