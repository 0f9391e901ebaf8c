"""Rules every convo converter shares, and cattrs errors turned into convo's.

- bytes are standard base64 text;
- `FinishReason` is its value;
- `extra` and `metadata` mappings pass through the value class's own validation;
- a block union dispatches on its `type` tag and an unknown tag raises
  `UnknownBlockTypeError` naming the tag, the allowed tags and the path.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from convo.errors import (
    ConvoError,
    DecodeError,
    InvalidContentError,
    UnknownBlockTypeError,
    excerpt,
)

__all__ = [
    "configure_base",
    "decode_errors",
    "register_tagged_union",
]


def _structure_bytes(value: object, _type: object) -> bytes:
    if not isinstance(value, str):
        msg = f"expected base64 text, got {type(value).__name__}"
        raise TypeError(msg)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        msg = "invalid base64"
        raise ValueError(msg) from None


def _passthrough(value: object, _type: object) -> object:
    if not isinstance(value, Mapping):
        msg = f"expected an object, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def configure_base(converter: cattrs.Converter, classes: tuple[type, ...]) -> None:
    """Register the shared rules, and per-class hooks that always emit `type`."""
    converter.register_unstructure_hook(
        bytes, lambda b: base64.b64encode(b).decode("ascii")
    )
    converter.register_structure_hook(bytes, _structure_bytes)
    for cls in classes:
        names = {a.name for a in attrs.fields(cls)}
        unstruct: dict[str, Any] = {}
        struct: dict[str, Any] = {}
        if "type" in names:
            unstruct["type"] = override(omit_if_default=False)
        for mapping_field in ("extra", "metadata"):
            if mapping_field in names:
                unstruct[mapping_field] = override(unstruct_hook=dict)
                struct[mapping_field] = override(struct_hook=_passthrough)
        converter.register_unstructure_hook(
            cls,
            make_dict_unstructure_fn(
                cls,
                converter,
                _cattrs_omit_if_default=converter.omit_if_default,
                **unstruct,
            ),
        )
        converter.register_structure_hook(
            cls,
            make_dict_structure_fn(
                cls,
                converter,
                _cattrs_forbid_extra_keys=converter.forbid_extra_keys,
                _cattrs_detailed_validation=converter.detailed_validation,
                **struct,
            ),
        )


def register_tagged_union(
    converter: cattrs.Converter,
    union: Any,
    members: Mapping[str, type],
    *,
    what: str,
) -> None:
    """Structure `union` by its `type` tag; unknown tags raise `UnknownBlockTypeError`."""
    allowed = tuple(members)

    def structure(value: object, _type: object) -> object:
        if not isinstance(value, Mapping):
            msg = f"expected a {what} object, got {type(value).__name__}"
            raise TypeError(msg)
        tag = value.get("type")
        cls = members.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise UnknownBlockTypeError(
                f"Unknown {what} type {excerpt(tag)}",
                tag=tag,
                allowed=allowed,
                path=None,
                errors=(),
                fix=f"Use one of: {', '.join(allowed)}.",
            )
        return converter.structure(value, cls)

    converter.register_structure_hook(union, structure)
    _register_tuple_of(converter, union, members, what=what)
    hooks: dict[type, Callable[[Any], Any]] = {}

    def unstructure(value: Any) -> Any:
        # Look each member's hook up once (on first use, after configuration).
        cls = type(value)
        hook = hooks.get(cls)
        if hook is None:
            hook = hooks[cls] = converter.get_unstructure_hook(cls)
        return hook(value)

    converter.register_unstructure_hook(union, unstructure)


def _register_tuple_of(
    converter: cattrs.Converter,
    union: Any,
    members: Mapping[str, type],
    *,
    what: str,
) -> None:
    """Structure `tuple[union, ...]` from a list of tagged objects, fast.

    cattrs' generic tuple hook dispatches every item through the converter;
    this one calls each member's structure hook directly. Any item it cannot
    take (not an object, an unknown tag, a failing hook) sends the whole list
    back through the generic hook, so every error is exactly cattrs' own, with
    its paths. A value that is not a list at all is refused as such (the
    generic hook would iterate a string or a mapping).
    """
    many = tuple[union, ...]
    generic = converter.get_structure_hook(many)
    hooks: dict[str, tuple[Callable[[Any, Any], Any], type]] = {}

    def member(tag: object) -> tuple[Callable[[Any, Any], Any], type] | None:
        found = hooks.get(tag) if isinstance(tag, str) else None
        if found is None and isinstance(tag, str) and tag in members:
            # Looked up on first use: the member hooks are registered after this.
            cls = members[tag]
            found = hooks[tag] = (converter.get_structure_hook(cls), cls)
        return found

    def structure_many(value: object, type_: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            msg = f"expected a list of {what}s, got {type(value).__name__}"
            raise TypeError(msg)
        if isinstance(value, list):
            out = []
            for item in value:
                found = member(item.get("type")) if isinstance(item, dict) else None
                if found is None:
                    break
                try:
                    out.append(found[0](item, found[1]))
                except Exception:  # noqa: BLE001 - redone below, for cattrs' own error
                    break
            else:
                return tuple(out)
        result: tuple[Any, ...] = generic(value, type_)
        return result

    converter.register_structure_hook_func(lambda t: t == many, structure_many)


def _walk(exc: BaseException, path: str, out: list[tuple[str, BaseException]]) -> None:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, others = exc.group_exceptions()
        for inner, note in with_notes:
            name = getattr(note, "name", None)
            index = getattr(note, "index", None)
            if name is not None:
                sub = f"{path}.{name}"
            elif isinstance(index, int):
                sub = f"{path}[{index}]"
            else:
                sub = f"{path}[{index!r}]"
            _walk(inner, sub, out)
        for inner in others:
            _walk(inner, path, out)
    elif isinstance(exc, ExceptionGroup):
        for inner in exc.exceptions:
            _walk(inner, path, out)
    else:
        out.append((path, exc))


def _describe(path: str, exc: BaseException) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unknown keys {sorted(exc.extra_fields)} @ {path}"
    if isinstance(exc, KeyError):
        return f"required field missing @ {path}"
    if isinstance(exc, ConvoError):
        return f"{exc.message} @ {path}"
    return f"{exc} @ {path}"


def _leaf_path(path: str, exc: BaseException) -> str:
    """Extend `path` with a value error's own relative path (`$.text` -> `<path>.text`)."""
    inner = getattr(exc, "path", None)
    if (
        isinstance(exc, InvalidContentError)
        and isinstance(inner, str)
        and inner.startswith("$")
        and not path.endswith(inner[1:])
    ):
        return path + inner[1:]
    return path


def decode_errors(
    exc: BaseException, *, root: str, what: str, received: object
) -> DecodeError:
    """Turn a cattrs failure into one `DecodeError` (or `UnknownBlockTypeError`) with paths."""
    leaves: list[tuple[str, BaseException]] = []
    _walk(exc, root, leaves)
    leaves = [(_leaf_path(p, e), e) for p, e in leaves]
    errors = tuple(_describe(p, e) for p, e in leaves)
    first_path = leaves[0][0] if leaves else root
    for path, leaf in leaves:
        if isinstance(leaf, UnknownBlockTypeError):
            return UnknownBlockTypeError(
                f"Unknown block type {excerpt(leaf.tag)}",
                tag=leaf.tag,
                allowed=leaf.allowed,
                path=path,
                errors=errors,
                fix=f"Use one of: {', '.join(leaf.allowed)}.",
            )
    detail = "; ".join(errors[:5]) + (
        f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    )
    kind = (
        "invalid content"
        if any(isinstance(e, InvalidContentError) for _, e in leaves)
        else "shape"
    )
    return DecodeError(
        f"{what} does not decode ({kind}): {detail}",
        path=first_path,
        errors=errors,
        received=received,
    )


def guarded(fn: Callable[[], Any], *, root: str, what: str, received: object) -> Any:
    """Run a structuring call and turn any failure into a convo `DecodeError`."""
    try:
        return fn()
    except DecodeError:
        raise
    except (ClassValidationError, IterableValidationError, ExceptionGroup) as exc:
        raise decode_errors(exc, root=root, what=what, received=received) from exc
    except (
        ConvoError,
        AttributeError,  # cattrs on a non-object, e.g. a list where a turn belongs
        KeyError,
        TypeError,
        ValueError,
        RecursionError,
    ) as exc:
        raise decode_errors(exc, root=root, what=what, received=received) from exc
