"""One store serving many tenants: per-request views, the usage ledger, retention, erasure.

Offline: two tenants chat with convo's fake Databricks endpoint through `Chat`;
the example reads each conversation's token totals without loading it, renames
a title by compare-and-set, prunes all but each user's latest conversation and
erases one conversation completely. Set CONVO_DATABASE_URL to choose the
database (default: a temporary SQLite file).

Run: .venv/bin/python examples/tenants_and_retention.py
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import convo.store
from convo import Chat, RequestParams, get_target
from convo.client import Client
from convo.store import Store
from convo.testing.fake import FakeEndpoint

TARGET = "databricks-claude-sonnet-4-5"


def main() -> None:
    default = f"sqlite:///{Path(tempfile.mkdtemp()) / 'tenants.db'}"
    url = os.environ.get("CONVO_DATABASE_URL", default)
    convo.store.upgrade(url)
    endpoint = FakeEndpoint()
    with (
        Store(url) as store,
        Client(
            host="https://fake.convo.invalid",
            token="offline",
            transport=endpoint.transport(),
        ) as client,
    ):
        started = dt.datetime.now(dt.UTC)
        for tenant in ("acme", "globex"):
            view = store.for_tenant(tenant)  # cheap: one per request
            chat = Chat(
                store=view,
                client=client,
                target=get_target(TARGET),
                params=RequestParams(max_tokens=256),
            )
            for user in ("ann", "bob"):
                for topic in ("billing", "shipping"):
                    cid = view.create(title=f"{user}: {topic}", metadata={"user": user})
                    chat.send(cid, f"A question about {topic}.")
                    chat.send(cid, "And a follow-up.")
            detail = view.info(view.list().items[0].id)
            print(
                f"{tenant}: latest {detail.title!r}, {detail.turn_count} turns, "
                f"{detail.usage.input_tokens} in / {detail.usage.output_tokens} out"
            )
            version = view.update(
                detail.id, expected_version=detail.version, title="renamed"
            )
            assert view.info(detail.id).title == "renamed"
            assert version == detail.version + 1

        acme = store.for_tenant("acme")
        total = acme.usage(since=started)
        print(f"acme this run: {total.input_tokens} in / {total.output_tokens} out")
        assert total.output_tokens > 0

        dry = acme.prune(keep_latest=1, per_key="user", dry_run=True)
        print(f"acme: prune would erase {len(dry.conversation_ids)} conversation(s)")
        done = acme.prune(keep_latest=1, per_key="user")
        assert set(done.conversation_ids) == set(dry.conversation_ids)
        print(
            f"acme: erased {len(done.conversation_ids)} in {done.batches} batch(es), "
            f"longest write lock {done.longest_batch_ms:.1f} ms"
        )
        left = acme.list().items
        assert sorted(str(i.metadata["user"]) for i in left) == ["ann", "bob"]

        acme.erase(left[0].id)
        assert len(acme.list().items) == 1
        assert len(store.for_tenant("globex").list().items) == 4  # untouched
        print("globex still has its 4 conversations; acme has 1 left")


if __name__ == "__main__":
    main()
