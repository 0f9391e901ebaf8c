"""Image bytes a load needs, read once per load from `convo_blobs`.

A stored turn refers to each image by `"blob": "sha256:<hex>"` (`_mapper`);
before decoding, a load collects the references of all its rows and reads
those blobs in one query. Both readers (`_queries`, and `_statements` when an
append checks a tool turn's chain) share this.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BindParameter, Connection, Exists, exists, select

from convo.store._mapper import blob_refs
from convo.store._schema import BLOBS

__all__ = ["blobs_exist", "blobs_for"]

_SCAN_WITHOUT_ASKING = 64
"""Payloads scanned for blob references without first asking whether the
conversation has any blobs: a scan costs about 0.6 µs per payload, the indexed
query about 100 µs, and most long conversations have no images."""


def blobs_for(
    conn: Connection,
    cid: str,
    payloads: Sequence[str | bytes],
    *,
    any_stored: bool | None = None,
) -> dict[str, bytes]:
    """The image bytes `payloads` refer to, by SHA-256 (missing ones left out).

    `any_stored`: whether the conversation has any blob, when the caller
    already asked (`blobs_exist`, as a column of a query it runs anyway).
    """
    if any_stored is None and len(payloads) > _SCAN_WITHOUT_ASKING:
        any_stored = _has_blobs(conn, cid)
    if any_stored is False:
        return {}  # a reference to a blob that is not there is decode_payload's to report
    refs: set[str] = set()
    for payload in payloads:
        refs |= blob_refs(payload)
    if not refs:
        return {}
    rows = conn.execute(
        select(BLOBS.c.sha256, BLOBS.c.data).where(
            BLOBS.c.conversation_id == cid, BLOBS.c.sha256.in_(sorted(refs))
        )
    )
    return {r.sha256: bytes(r.data) for r in rows}


def blobs_exist(cid: str | BindParameter[str]) -> Exists:
    """Whether conversation `cid` (an id or a bound parameter) has any blob, as a column of another query."""
    return exists().where(BLOBS.c.conversation_id == cid)


def _has_blobs(conn: Connection, cid: str) -> bool:
    found = conn.execute(
        select(BLOBS.c.sha256).where(BLOBS.c.conversation_id == cid).limit(1)
    ).first()
    return found is not None
