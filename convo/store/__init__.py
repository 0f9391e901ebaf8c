"""Persistence: conversations in SQLite or PostgreSQL, with Alembic migrations.

```python
import convo.store

convo.store.upgrade("sqlite:///convo.db")          # once, or `convo db upgrade`
store = convo.store.Store("sqlite:///convo.db", tenant="acme")
cid = store.create(title="Support")
turn_id = store.append(cid, convo.user("Hi"), expected_head=None)
conversation = store.load(cid)
```

Turns are immutable rows keyed by their content id; branch heads are the only
mutable rows and move by compare-and-set, so a stale writer gets
`ConflictError` and nothing is written. An append is idempotent by content:
a turn already on the branch's path (after the same `expected_head`) answers
its id and writes nothing. Every operation is scoped to the
store's tenant: another tenant's id answers exactly like a missing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convo.store._engine import DEFAULT_URL, default_url
from convo.store._ledger import UsageTotals
from convo.store._manage import UNSET
from convo.store._migrate import HEAD, current_revision, downgrade, upgrade
from convo.store._queries import BranchInfo, ConversationDetail, ConversationInfo, Page
from convo.store._retention import PruneReport
from convo.store._sync import Store

if TYPE_CHECKING:
    from convo.store._async import AsyncStore

__all__ = [
    "DEFAULT_URL",
    "HEAD",
    "UNSET",
    "AsyncStore",
    "BranchInfo",
    "ConversationDetail",
    "ConversationInfo",
    "Page",
    "PruneReport",
    "Store",
    "UsageTotals",
    "current_revision",
    "default_url",
    "downgrade",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    """`AsyncStore`, imported on first use: most hosts never need the async machinery."""
    if name == "AsyncStore":
        from convo.store._async import AsyncStore

        globals()["AsyncStore"] = AsyncStore
        return AsyncStore
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
