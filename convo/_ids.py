"""Content-addressed turn ids.

A `TurnId` is `"b2:"` + the hex blake2b-256 digest of the canonical JSON
`{"parent": <parent id or null>, "turn": <canonical turn>}`. The algorithm tag
makes a future change of hash detectable; the parent makes the id name a whole
history, so forks share their prefixes' ids and a stored chain can be verified.
"""

from __future__ import annotations

import hashlib
import re
from typing import NewType

from convo._converter import turn_bytes
from convo._turns import Turn

__all__ = ["ID_PATTERN", "TurnId", "compute_turn_id", "is_turn_id"]

TurnId = NewType("TurnId", str)
"""The content hash naming a turn in its place in history."""

ID_PATTERN = re.compile(r"b2:[0-9a-f]{64}")


def is_turn_id(value: object) -> bool:
    """Whether `value` has the form of a turn id."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def compute_turn_id(parent: TurnId | None, turn: Turn) -> TurnId:
    """The id of `turn` placed after `parent` (None for a root turn)."""
    head = (
        _ROOT if parent is None else b'{"parent":"%s","turn":' % parent.encode("ascii")
    )
    # Fed in pieces: the turn's bytes (a kilobyte or more) are hashed where
    # they lie, never copied into one document first (a sixth of the id's cost).
    digest = hashlib.blake2b(head, digest_size=32)
    digest.update(turn_bytes(turn))
    digest.update(b"}")
    return TurnId("b2:" + digest.hexdigest())


_ROOT = b'{"parent":null,"turn":'
