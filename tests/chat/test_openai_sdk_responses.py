"""The real `openai` SDK's `responses.create` against the fake server: convo's payload, convo's turn."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from convo import Conversation, Effort, RequestParams, Tool, ToolResultBlock, Turn
from convo._json import canonical_bytes
from convo.client import Client
from convo.targets import route_target
from convo.testing.fake import FakeEndpoint, serve
from convo.wire import responses

TARGET = route_target("responses", "databricks-gpt-5-1")
WEATHER = Tool(
    name="get_weather",
    description="Current weather for one city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
PARAMS = RequestParams(max_tokens=2000, reasoning=Effort(level="low"))


@pytest.fixture
def server() -> Iterator[tuple[FakeEndpoint, str]]:
    """The fake endpoint on a loopback port; yields it and its serving-endpoints URL."""
    endpoint = FakeEndpoint()
    with serve(endpoint) as url:
        yield endpoint, url.rstrip("/") + "/serving-endpoints"


def tool_loop(client: Client) -> Conversation:
    """A conversation whose head is tool results after a reasoning tool call."""
    conversation = Conversation.new().user("Please use get_weather for Oslo.")
    payload = responses.encode_request(
        conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
    )
    answer = client.send(payload, target=TARGET).turn
    assert answer.tool_calls
    assert answer.reasoning
    results = [ToolResultBlock(call_id=c.id, content="3 C") for c in answer.tool_calls]
    return conversation.append(answer).tool_results(*results)


@pytest.fixture
def sdks() -> Iterator[list[openai.OpenAI]]:
    """The SDK clients a test made, closed after it."""
    made: list[openai.OpenAI] = []
    yield made
    for sdk in made:
        sdk.close()


class TestResponsesCreate:
    def test_the_sdk_sends_convos_payload_unchanged(
        self, server: tuple[FakeEndpoint, str], sdks: list[openai.OpenAI]
    ) -> None:
        endpoint, base = server
        with Client(base_url=base, token="sdk-test") as client:
            conversation = tool_loop(client)
            body = responses.encode_request_bytes(
                conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
            )
            client.send(json.loads(body), target=TARGET)
            by_convo = endpoint.requests[-1]
        sdk = openai.OpenAI(base_url=base, api_key="sdk-test", max_retries=0)
        sdks.append(sdk)
        response = sdk.responses.create(**json.loads(body))
        by_sdk = endpoint.requests[-1]
        assert by_sdk.path == by_convo.path == "/serving-endpoints/responses"
        assert by_convo.body == body
        assert canonical_bytes(by_sdk.json()) == body
        assert response.status == "completed"
        assert "get_weather returned: 3 C" in response.output_text
        assert [r.status for r in endpoint.responses] == [200, 200, 200]

    def test_the_sdk_posts_the_exact_bytes_when_given_them(
        self, server: tuple[FakeEndpoint, str], sdks: list[openai.OpenAI]
    ) -> None:
        endpoint, base = server
        with Client(base_url=base, token="sdk-test") as client:
            conversation = tool_loop(client)
        body = responses.encode_request_bytes(
            conversation.path(), target=TARGET, params=PARAMS, tools=(WEATHER,)
        )
        sdk = openai.OpenAI(base_url=base, api_key="sdk-test", max_retries=0)
        sdks.append(sdk)
        sdk.post(
            "/responses",
            content=body,
            cast_to=openai.types.responses.Response,
            options={"headers": {"Content-Type": "application/json"}},
        )
        assert endpoint.requests[-1].body == body
        assert endpoint.responses[-1].status == 200

    def test_a_streamed_sdk_answer_assembles_to_the_turn_convos_client_gets(
        self, server: tuple[FakeEndpoint, str], sdks: list[openai.OpenAI]
    ) -> None:
        endpoint, base = server
        streamed = RequestParams(
            max_tokens=2000, reasoning=Effort(level="low"), stream=True
        )
        with Client(base_url=base, token="sdk-test") as client:
            conversation = tool_loop(client)
            payload = responses.encode_request(
                conversation.path(), target=TARGET, params=streamed, tools=(WEATHER,)
            )
            events = list(client.stream(payload, target=TARGET))
        by_convo = events[-1].turn  # type: ignore[union-attr]
        assert isinstance(by_convo, Turn)
        sdk = openai.OpenAI(base_url=base, api_key="sdk-test", max_retries=0)
        sdks.append(sdk)
        kwargs = {k: v for k, v in payload.items() if k != "stream"}
        assembler = responses.StreamAssembler(target=TARGET)
        with sdk.responses.create(**kwargs, stream=True) as stream:
            for event in stream:
                assembler.feed_chunk(
                    event.model_dump(exclude_unset=True, warnings=False)
                )
        by_sdk = assembler.finish()
        assert isinstance(by_sdk, Turn)
        # The very bytes the SDK read, through convo's own stream path:
        raw = endpoint.responses[-1].body
        mine = responses.StreamAssembler(target=TARGET)
        for line in raw.split(b"\n"):
            if line.startswith(b"data: {"):
                mine.feed_chunk(json.loads(line[6:]))
        assert by_sdk == mine.finish()
        # And the same answer as convo's client got for the same request (ids
        # and blobs are per response):
        assert by_sdk.text == by_convo.text
        assert by_sdk.tool_calls == by_convo.tool_calls
        assert by_sdk.finish_reason == by_convo.finish_reason
        assert by_sdk.usage == by_convo.usage
        assert by_sdk.reasoning
        assert by_sdk.reasoning[0].text == by_convo.reasoning[0].text
