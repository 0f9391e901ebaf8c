"""The real `openai` SDK against the fake server: the same bytes as convo's client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai.types.chat import ChatCompletion

from convo import (
    Conversation,
    RequestParams,
    ThinkingBudget,
    Tool,
    ToolResultBlock,
    Turn,
    get_target,
)
from convo._json import canonical_bytes
from convo.client import Client
from convo.testing.fake import FakeEndpoint, serve
from convo.wire import chat

TARGET = get_target("databricks-claude-sonnet-4-5")
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
PARAMS = RequestParams(max_tokens=8000, reasoning=ThinkingBudget(budget_tokens=2048))


@pytest.fixture
def server() -> Iterator[tuple[FakeEndpoint, str]]:
    """The fake endpoint on a loopback port; yields it and its serving-endpoints URL."""
    endpoint = FakeEndpoint()
    with serve(endpoint) as url:
        yield endpoint, url.rstrip("/") + "/serving-endpoints"


def tool_loop_conversation(client: Client) -> Conversation:
    """A conversation whose head is tool results after a signed-reasoning tool call."""
    conversation = Conversation.new().user("Please use get_weather for Oslo.")
    payload = chat.encode_request(
        conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
    )
    answer = client.send(payload, target=TARGET).turn
    assert answer.tool_calls
    assert answer.reasoning
    conversation = conversation.append(answer)
    results = [ToolResultBlock(call_id=c.id, content="3 C") for c in answer.tool_calls]
    return conversation.tool_results(*results)


class TestOpenAISDK:
    def test_a_payload_sent_through_the_sdk_reaches_the_server_byte_identical(
        self, server: tuple[FakeEndpoint, str]
    ):
        endpoint, base = server
        with Client(base_url=base, token="sdk-test") as client:
            conversation = tool_loop_conversation(client)
            body = chat.encode_request_bytes(
                conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
            )
            client.send(json.loads(body), target=TARGET)
            by_convo = endpoint.requests[-1].body
        sdk = openai.OpenAI(base_url=base, api_key="sdk-test", max_retries=0)
        completion = sdk.post(
            "/chat/completions",
            content=body,
            cast_to=ChatCompletion,
            options={"headers": {"Content-Type": "application/json"}},
        )
        by_sdk = endpoint.requests[-1].body
        assert by_sdk == by_convo == body
        assert completion.choices[0].message.content
        assert [r.status for r in endpoint.responses] == [200, 200, 200]

    def test_create_with_the_split_kwargs_sends_the_same_json(
        self, server: tuple[FakeEndpoint, str]
    ):
        endpoint, base = server
        with Client(base_url=base, token="sdk-test") as client:
            conversation = tool_loop_conversation(client)
        payload = chat.encode_request(
            conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
        )
        sdk = openai.OpenAI(base_url=base, api_key="sdk-test", max_retries=0)
        completion = sdk.chat.completions.create(**chat.to_openai_kwargs(payload))
        received = endpoint.requests[-1].json()
        assert received == payload
        assert canonical_bytes(received) == chat.encode_request_bytes(
            conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
        )
        assert completion.choices[0].finish_reason == "stop"

    def test_the_sdk_streams_a_reasoning_answer_from_the_fake(
        self, server: tuple[FakeEndpoint, str]
    ):
        _endpoint, base = server
        sdk = openai.OpenAI(base_url=base, api_key="sdk-test", max_retries=0)
        payload = chat.encode_request(
            Conversation.new().user("Hello there").path(),
            target=TARGET,
            params=PARAMS,
        )
        kwargs = chat.to_openai_kwargs(payload)
        stream = sdk.chat.completions.create(**kwargs, stream=True)
        chunks = list(stream)
        assert chunks[-1].choices[0].finish_reason == "stop"
        assembler = chat.StreamAssembler(target=TARGET)
        for chunk in chunks:
            # The SDK types `delta.content` as a string; Databricks sends lists too.
            assembler.feed_chunk(chunk.model_dump(exclude_unset=True, warnings=False))
        turn = assembler.finish()
        assert isinstance(turn, Turn)
        assert turn.text == "You said: Hello there"
