"""Decoded turns by content id, so a conversation loaded again is not decoded again.

A chatbot backend loads the same conversation on every request. Decoding a row
strictly (JSON, the canonical converter, every validator, the id recomputed)
costs several times the query itself, and the answer never changes: a turn id
names the turn's content and, through its parent's id, its whole history
(`convo._ids`).

So `_mapper.rebuild` keeps every node it decoded and verified here, with the
payload text it came from, and takes a node back only for a row that matches it
exactly: the same id, the same parent id and the same payload text, compared in
full (as str or as its UTF-8 bytes, whichever way the load read it). Any other
row is decoded strictly as if the cache were empty, so a row altered after it
was cached is still refused. Turns with images are never kept:
their bytes live in another table, which this exact-match test does not cover,
and they are large.

The cache is bounded by the payload characters it holds (counted in bytes
where the load reads payloads as UTF-8 bytes, as on SQLite), least recently
used first out, and is safe to share between threads. A load hands its nodes
over as one batch, entered (and the bound applied) when the cache is next
read: until then the batch holds what the conversation that load returned
holds anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from convo._graph import Node
from convo._ids import TurnId
from convo.errors import UsageError

__all__ = ["DEFAULT_CACHE_CHARS", "TurnCache", "turn_cache"]

DEFAULT_CACHE_CHARS = 16 * 1024 * 1024
"""Payload characters a store's cache holds by default (about 20,000 typical turns)."""


def turn_cache(max_chars: int) -> TurnCache | None:
    """A cache of `max_chars` payload characters, or None for 0 (validated either way)."""
    cache = TurnCache(max_chars)
    return cache if cache.max_chars else None


class TurnCache:
    """Verified nodes by turn id, each with the exact payload text it was decoded from.

    Not a value: a store owns one and it changes as the store loads.
    """

    __slots__ = ("_chars", "_entries", "_lock", "_pending", "max_chars")

    def __init__(self, max_chars: int = DEFAULT_CACHE_CHARS) -> None:
        if type(max_chars) is not int or max_chars < 0:
            raise UsageError(
                "The turn cache size must be a non-negative int",
                where="cache_chars",
                received=max_chars,
                fix="Pass a number of payload characters; 0 turns the cache off.",
            )
        self.max_chars = max_chars
        self._entries: OrderedDict[TurnId, tuple[str | bytes, Node]] = OrderedDict()
        self._chars = 0
        self._pending: list[list[tuple[Node, str | bytes]]] = []
        self._lock = threading.Lock()

    def match(
        self, turn_id: TurnId, parent_id: TurnId | None, payload: object
    ) -> Node | None:
        """The node kept for `turn_id` if this row is exactly the one it came from."""
        if self._pending:
            self._settle()
        entry = self._entries.get(turn_id)
        if entry is None:
            return None
        text, node = entry
        if node.parent != parent_id or not _same_text(text, payload):
            return None
        with self._lock:
            if turn_id in self._entries:
                self._entries.move_to_end(turn_id)
        return node

    def keep(self, node: Node, payload: str | bytes) -> None:
        """Remember `node`, decoded and verified from `payload`."""
        self.keep_all(((node, payload),))

    def keep_all(self, items: Iterable[tuple[Node, str | bytes]]) -> None:
        """Remember each node with its payload, in order.

        The batch is taken as it is and its entries are made when the cache is
        next read (`match`, `len`, `chars`), which the next load does first: a
        load does not pay for filling the cache it may never read (a process
        that loads once, as a serverless function does), and the nodes a batch
        holds are the ones the loaded conversation holds anyway.
        """
        batch = list(items)
        with self._lock:
            self._pending.append(batch)

    def _settle(self) -> None:
        """Make the entries of every batch kept since the last read, in order."""
        with self._lock:
            entries = self._entries
            limit = self.max_chars
            chars = self._chars
            for batch in self._pending:
                for node, payload in batch:
                    size = len(payload)
                    if size > limit:
                        continue
                    if node.id in entries:
                        entries.move_to_end(node.id)
                        continue
                    entries[node.id] = (payload, node)
                    chars += size
            self._pending.clear()
            # Evicting after the loop leaves what evicting per item would: the
            # least recently used first, in the order the items came.
            while chars > limit:
                _, (text, _) = entries.popitem(last=False)
                chars -= len(text)
            self._chars = chars

    def clear(self) -> None:
        """Forget every node."""
        with self._lock:
            self._entries.clear()
            self._pending.clear()
            self._chars = 0

    def __len__(self) -> int:
        if self._pending:
            self._settle()
        return len(self._entries)

    @property
    def chars(self) -> int:
        """Payload characters held now."""
        if self._pending:
            self._settle()
        return self._chars


def _same_text(kept: str | bytes, payload: object) -> bool:
    """Whether a row's payload is the one kept, the same text as str or as its UTF-8 bytes.

    One store reads payloads both ways (a streamed PostgreSQL load as bytes,
    `load_graph` and `AsyncStore` as str): the text is compared in full
    either way, so an altered row never matches.
    """
    if type(kept) is type(payload):
        return kept == payload
    try:
        if isinstance(payload, str):  # (kept as bytes)
            return kept == payload.encode()
        if isinstance(payload, bytes):  # (kept as str)
            return kept == payload.decode()
    except UnicodeError:  # a lone surrogate, or bytes that are not UTF-8: no match
        return False
    return False
