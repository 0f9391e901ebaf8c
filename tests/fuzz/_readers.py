"""Every public reader convo has, as a `Reader` of the fuzz harness.

Inputs start from the golden fixtures (`_mutations`). Readers that take a
credential (the client, a database URL) are given `SECRET`, and the server
side echoes it back wherever a hostile server could (headers, body, URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import strategies as st

from convo import Block, Conversation, Target, Turn
from convo.client import Client
from convo.client._sse import SSEParser
from convo.wire import anthropic, canonical, chat, responses
from tests.fuzz._harness import SECRET, Reader
from tests.fuzz._mutations import fixtures, json_mutations, mutated_bytes, pieces

__all__ = ["READERS"]

CANONICAL = fixtures("wire/fixtures/canonical/**/*.json")
CHAT_RESPONSES = fixtures(
    "client/fixtures/chat_completion.json",
    "wire/chat/fixtures/*response*.json",
    "wire/anthropic/fixtures/chat_claude_*.json",
)
CHAT_REQUESTS = fixtures("wire/chat/fixtures/*request*.json")
ANTHROPIC_RESPONSES = fixtures("wire/anthropic/fixtures/response_*.json")
ANTHROPIC_REQUESTS = fixtures("wire/anthropic/fixtures/request_*.json")
CHAT_STREAMS = fixtures("client/fixtures/*.sse", "wire/chat/fixtures/*.sse")
ANTHROPIC_STREAMS = fixtures("wire/anthropic/fixtures/*.sse")
ERRORS = fixtures("wire/anthropic/fixtures/error_*.json")
RESPONSES_RESPONSES = fixtures("wire/responses/fixtures/response_*.json")
RESPONSES_REQUESTS = fixtures("wire/responses/fixtures/request_*.json")
RESPONSES_ITEMS = fixtures("wire/responses/fixtures/import_items.json")
RESPONSES_STREAMS = fixtures("wire/responses/fixtures/*.sse")
GPT_RESPONSES = Target(name="databricks-gpt-5-1", wire="responses", family="gpt")

CLAUDE = Target(name="databricks-claude-sonnet-4-5", wire="chat", family="claude")
GPT = Target(name="databricks-gpt-5-1", wire="chat", family="gpt")
MESSAGES_API = Target(
    name="databricks-claude-sonnet-4-5", wire="anthropic", family="claude"
)


def _parsed(seeds: list[bytes]) -> list[Any]:
    return [json.loads(s) for s in seeds]


def _messages(seeds: list[bytes], key: str = "messages") -> list[Any]:
    """The `key` list of request fixtures (bare, or under `body` with a note)."""
    out = []
    for seed in seeds:
        document = json.loads(seed)
        body = document.get("body", document)
        if isinstance(body, dict) and isinstance(body.get(key), list):
            out.append(body[key])
    return out


# ----------------------------------------------------------------- canonical


def _canonical(case: tuple[str, bytes | str]) -> object:
    kind, data = case
    loader: Callable[[bytes | str], object] = {
        "block": canonical.loads_block,
        "turn": canonical.loads_turn,
        "conversation": canonical.loads_conversation,
    }[kind]
    value = loader(data)
    assert isinstance(value, Block | Turn | Conversation)
    canonical.dumps(value)  # whatever loads must dump again
    return value


canonical_inputs = st.tuples(
    st.sampled_from(["block", "turn", "conversation"]),
    st.one_of(
        mutated_bytes(CANONICAL),
        mutated_bytes(CANONICAL).map(lambda b: b.decode("utf-8", "replace")),
        st.sampled_from([None, 42, ["{}"], bytearray(b"{}")]),
    ),
)

# ----------------------------------------------------------------- wire decoding


def _json_bytes(value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except RecursionError:  # a planted deep nest: send it as text all the same
        return b'{"choices": ' + b"[" * 5000 + b"]" * 5000 + b"}"


def _as_body(draw_json: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A JSON value, or its bytes, or a value of a type no caller should pass."""
    return st.one_of(
        draw_json,
        draw_json.map(_json_bytes),
        st.sampled_from([None, 42, ["x"], b"\xff\xfe", "{}", object()]),
    )


chat_response_inputs = st.tuples(
    st.sampled_from([None, CLAUDE, GPT]),
    st.one_of(
        _as_body(json_mutations(_parsed(CHAT_RESPONSES))),
        mutated_bytes(CHAT_RESPONSES),
    ),
)
anthropic_response_inputs = st.tuples(
    st.sampled_from([None, MESSAGES_API]),
    st.one_of(
        _as_body(json_mutations(_parsed(ANTHROPIC_RESPONSES))),
        mutated_bytes(ANTHROPIC_RESPONSES),
    ),
)
chat_import_inputs = st.one_of(
    json_mutations(_messages(CHAT_REQUESTS)),
    st.sampled_from([None, 42, "messages", {"role": "user"}]),
)
anthropic_import_inputs = st.one_of(
    json_mutations(_messages(ANTHROPIC_REQUESTS)),
    st.sampled_from([None, 42, "messages", {"role": "user"}]),
)
responses_response_inputs = st.tuples(
    st.sampled_from([None, GPT_RESPONSES]),
    st.one_of(
        _as_body(json_mutations(_parsed(RESPONSES_RESPONSES))),
        mutated_bytes(RESPONSES_RESPONSES),
    ),
)
responses_import_inputs = st.one_of(
    json_mutations(
        _messages(RESPONSES_REQUESTS, key="input") + _parsed(RESPONSES_ITEMS)
    ),
    st.sampled_from([None, 42, "input", {"type": "message"}]),
)


def _pieces_of(seeds: list[bytes]) -> st.SearchStrategy[list[bytes]]:
    return mutated_bytes(seeds).flatmap(pieces)


def _assemble(make: Callable[[], Any]) -> Callable[[list[bytes]], object]:
    def run(parts: list[bytes]) -> object:
        assembler = make()
        events = []
        for part in parts:
            events.extend(assembler.feed(part))
        return events, assembler.finish()

    return run


def _sse(parts: list[bytes]) -> object:
    parser = SSEParser(max_line_bytes=1 << 20, max_events=10_000)
    return [event for part in parts for event in parser.feed(part)]


# ----------------------------------------------------------------- the client


@st.composite
def _server_answers(draw: st.DrawFn) -> tuple[int, dict[str, str], bytes, bool]:
    """A hostile endpoint's answer: any status, headers echoing the token, any body."""
    status = draw(st.sampled_from([200, 200, 200, 400, 401, 404, 429, 500, 529]))
    stream = draw(st.booleans())
    body = draw(
        mutated_bytes(
            CHAT_STREAMS if stream and status == 200 else CHAT_RESPONSES + ERRORS
        )
    )
    # The server's own words (body, request id) are the caller's to see; the
    # token echoed in other headers must never reach a value, error or log.
    headers = {
        "x-request-id": "req-1",
        "x-echo": f"Bearer {SECRET}",
        "set-cookie": f"session={SECRET}",
        "content-type": "text/event-stream" if stream else "application/json",
    }
    if status == 429:
        headers["retry-after"] = draw(st.sampled_from(["0", "1", "abc", "9" * 30]))
    return status, headers, body, stream


class _NoSleep:
    def __call__(self, seconds: float) -> None:
        return None


def _client(case: tuple[int, dict[str, str], bytes, bool]) -> object:
    status, headers, body, stream = case

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    with Client(
        host="https://fuzz.example",
        token=SECRET,
        headers={"x-api-key": SECRET},
        transport=httpx.MockTransport(handler),
        sleep=_NoSleep(),
        random=lambda: 0.0,
    ) as client:
        payload = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        if stream:
            return list(client.stream(payload, target=CLAUDE))
        return client.send(payload, target=CLAUDE)


READERS: dict[str, Reader] = {
    reader.name: reader
    for reader in (
        Reader("canonical.loads", _canonical, canonical_inputs),
        Reader(
            "chat.decode_response",
            lambda c: chat.decode_response(c[1], target=c[0]),
            chat_response_inputs,
        ),
        Reader("chat.import_messages", chat.import_messages, chat_import_inputs),
        Reader(
            "anthropic.decode_response",
            lambda c: anthropic.decode_response(c[1], target=c[0]),
            anthropic_response_inputs,
        ),
        Reader(
            "anthropic.import_messages",
            anthropic.import_messages,
            anthropic_import_inputs,
        ),
        Reader(
            "chat.StreamAssembler",
            _assemble(lambda: chat.StreamAssembler(target=CLAUDE)),
            _pieces_of(CHAT_STREAMS),
        ),
        Reader(
            "anthropic.StreamAssembler",
            _assemble(lambda: anthropic.StreamAssembler(target=MESSAGES_API)),
            _pieces_of(ANTHROPIC_STREAMS),
        ),
        Reader(
            "responses.decode_response",
            lambda c: responses.decode_response(c[1], target=c[0]),
            responses_response_inputs,
        ),
        Reader(
            "responses.import_messages",
            responses.import_messages,
            responses_import_inputs,
        ),
        Reader(
            "responses.StreamAssembler",
            _assemble(lambda: responses.StreamAssembler(target=GPT_RESPONSES)),
            _pieces_of(RESPONSES_STREAMS),
        ),
        Reader("client.SSEParser", _sse, _pieces_of(CHAT_STREAMS + ANTHROPIC_STREAMS)),
        Reader("Client.send/stream", _client, _server_answers(), secrets=(SECRET,)),
    )
}
