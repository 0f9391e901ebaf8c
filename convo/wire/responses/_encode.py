"""Encode a request view into a Responses request body (dict or canonical bytes).

Body (docs/responses.md, "What convo sends"): `model` (the endpoint or
service name), `input` (items, `_encode_items`), `instructions`, and the
fields of `_encode_fields`. Never `previous_response_id` (RR1).

Invariant: `encode_request_bytes(...) == canonical_bytes(encode_request(...))`;
`validate_request` runs first, so a refused request raises before any body
exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convo._json import canonical_bytes
from convo._params import RequestParams
from convo._targets import Target
from convo._tools import Tool
from convo._turns import Turn
from convo.wire._shared._check import check_size
from convo.wire.responses._encode_fields import body_fields
from convo.wire.responses._encode_items import encode_items, instructions_of
from convo.wire.responses._validate import validate_request

__all__ = ["encode_request", "encode_request_bytes"]

_DEFAULT = RequestParams()


def encode_request(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> dict[str, Any]:
    """The request body for `turns` (a policy-applied request view).

    Raises:
        RequestRejectedError: the request breaks a rule of the target's route
            (see `validate_request`).
    """
    params = params or _DEFAULT
    validate_request(turns, target=target, params=params, tools=tools)
    body: dict[str, Any] = {"model": target.name, "input": encode_items(turns, target)}
    instructions = instructions_of(turns)
    if instructions is not None:
        body["instructions"] = instructions
    body.update(body_fields(target, params, tools))
    check_size(len(canonical_bytes(body)), target)
    return body


def encode_request_bytes(
    turns: Sequence[Turn],
    *,
    target: Target,
    params: RequestParams | None = None,
    tools: Sequence[Tool] = (),
) -> bytes:
    """The exact bytes `encode_request` describes (sorted keys, no spaces)."""
    return canonical_bytes(
        encode_request(turns, target=target, params=params, tools=tools)
    )
