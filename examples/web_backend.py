"""An async chatbot backend: an ASGI app that keeps conversations with convo.

No web framework is needed: the app is a plain ASGI callable, served here
in-process through `httpx.ASGITransport` so the example runs offline. Put the
same `app` behind uvicorn (or port the three handlers to FastAPI) to serve it.

Routes:
    POST /conversations                 -> {"id": ...}
    POST /conversations/{id}/messages   {"text": ...} -> {"answer": ..., "usage": ...}
    GET  /conversations/{id}            -> the conversation's tree, as text

Run: python examples/web_backend.py [sqlite:///path.db]
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx

import convo.store
from convo import AsyncChat, get_target, render_tree
from convo.client import AsyncClient
from convo.errors import ConvoError, NotFoundError
from convo.store import AsyncStore
from convo.testing.fake import FakeEndpoint

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Backend:
    """The ASGI app: each request is one short AsyncChat call."""

    def __init__(self, chat: AsyncChat) -> None:
        self.chat = chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        status, payload = await self.route(scope["method"], scope["path"], body)
        data = (
            payload.encode()
            if isinstance(payload, str)
            else json.dumps(payload).encode()
        )
        kind = b"text/plain" if isinstance(payload, str) else b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind)],
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        try:
            if method == "POST" and parts == ["conversations"]:
                cid = await self.chat.start(
                    system_prompt="You are a helpful assistant."
                )
                return 201, {"id": cid}
            if method == "POST" and len(parts) == 3 and parts[2] == "messages":
                text = json.loads(body)["text"]
                reply = await self.chat.send(parts[1], text)
                usage = reply.usage
                return 200, {
                    "answer": reply.text,
                    "turn": reply.turn_id,
                    "prompt_tokens": usage.prompt_tokens if usage else None,
                }
            if method == "GET" and len(parts) == 2:
                graph = await self.chat.store.load_graph(parts[1])
                return 200, render_tree(graph)
        except NotFoundError:
            return 404, {"error": "no such conversation"}
        except ConvoError as exc:
            return 502, {"error": type(exc).__name__}
        return 404, {"error": "no such route"}


async def main(url: str) -> None:
    convo.store.upgrade(url)
    endpoint = FakeEndpoint()
    async with (
        AsyncStore(url, tenant="web-demo") as store,
        AsyncClient(
            host="https://fake.convo.invalid",
            token="offline",
            transport=endpoint.async_transport(),
        ) as client,
    ):
        chat = AsyncChat(
            store=store, client=client, target=get_target("databricks-gpt-oss-120b")
        )
        app = Backend(chat)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://backend"
        ) as http:

            async def one_user(name: str) -> str:
                created = (await http.post("/conversations")).json()["id"]
                for question in (f"Hi, I am {name}.", "What did I just tell you?"):
                    response = await http.post(
                        f"/conversations/{created}/messages", json={"text": question}
                    )
                    response.raise_for_status()
                return str(created)

            ids = await asyncio.gather(
                *(one_user(n) for n in ("Ada", "Grace", "Linus"))
            )
            print(f"{len(ids)} users chatted concurrently; one conversation each.")
            tree = (await http.get(f"/conversations/{ids[0]}")).text
            print(tree)
            missing = await http.get("/conversations/cv_missing")
            print("unknown id ->", missing.status_code)
            assert missing.status_code == 404


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(f"sqlite:///{Path(tmp) / 'web.db'}"))
