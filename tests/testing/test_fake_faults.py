"""Injected faults, authentication and routing of the fake endpoint (through the httpx transport)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
import httpx
import pytest

from convo.testing.fake import (
    STREAM_ERROR_EVENT,
    FakeEndpoint,
    Fault,
    ScriptedCall,
    ScriptedReply,
    default_models,
)

CLAUDE = "databricks-claude-sonnet-4-5"
REQUEST: dict[str, Any] = {
    "model": CLAUDE,
    "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    "max_tokens": 4000,
}
STREAM: dict[str, Any] = {
    **REQUEST,
    "stream": True,
    "thinking": {"type": "enabled", "budget_tokens": 2048},
}
PATH = "/serving-endpoints/chat/completions"


class TestStatusFaults:
    def test_429_carries_retry_after_and_retry_after_ms(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.rate_limited(retry_after=2, retry_after_ms=1500))
        response = client.post(PATH, json=REQUEST)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        assert response.headers["retry-after-ms"] == "1500"
        assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"

    @pytest.mark.parametrize(
        ("status", "code"),
        [
            (500, "INTERNAL_ERROR"),
            (503, "TEMPORARILY_UNAVAILABLE"),
            (529, "TEMPORARILY_UNAVAILABLE"),
        ],
    )
    def test_server_errors_use_the_databricks_envelope(
        self, endpoint: FakeEndpoint, client: httpx.Client, status: int, code: str
    ) -> None:
        endpoint.inject(Fault.server_error(status))
        response = client.post(PATH, json=REQUEST)
        assert response.status_code == status
        assert response.json()["error_code"] == code

    def test_529_nests_anthropics_overloaded_error(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.server_error(529))
        upstream = json.loads(client.post(PATH, json=REQUEST).json()["message"])
        assert upstream["error"]["type"] == "overloaded_error"

    def test_a_fault_applies_to_the_next_n_requests_then_the_endpoint_recovers(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(
            Fault.server_error(503, times=2), Fault.rate_limited(retry_after=1)
        )
        statuses = [client.post(PATH, json=REQUEST).status_code for _ in range(5)]
        assert statuses == [503, 503, 429, 200, 200]

    def test_status_faults_answer_before_validation(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.server_error(500))
        assert (
            client.post(PATH, json={"model": CLAUDE, "messages": []}).status_code == 500
        )
        assert (
            client.post(PATH, json={"model": CLAUDE, "messages": []}).status_code == 400
        )


class TestStreamFaults:
    def test_a_dropped_connection_raises_mid_stream_after_n_events(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.drop(after_parts=3))
        received: list[str] = []

        def read() -> None:
            with client.stream("POST", PATH, json=STREAM) as response:
                assert response.status_code == 200
                received.extend(line for line in response.iter_lines() if line)

        with pytest.raises(httpx.RemoteProtocolError):
            read()
        assert len(received) == 3
        assert all(line.startswith("data: {") for line in received)

    def test_a_dropped_connection_cuts_a_whole_body_too(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.drop())
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(PATH, json=REQUEST)

    def test_a_trickle_waits_before_every_event(self, clock: Any) -> None:
        waits: list[float] = []
        endpoint = FakeEndpoint(
            clock=clock, sleep=waits.append, faults=[Fault.trickle(0.25)]
        )
        with httpx.Client(
            transport=endpoint.transport(),
            base_url="https://f",
            headers={"Authorization": "Bearer t"},
        ) as http:
            events = [e for e in http.post(PATH, json=STREAM).text.split("\n\n") if e]
        assert waits == [0.25] * len(events)

    def test_an_error_event_ends_the_stream_without_done(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.error_event(after_parts=2))
        events = [e for e in client.post(PATH, json=STREAM).text.split("\n\n") if e]
        assert len(events) == 3
        assert json.loads(events[-1][len("data: ") :]) == STREAM_ERROR_EVENT
        assert "choices" not in STREAM_ERROR_EVENT

    def test_malformed_json_comes_with_a_200(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        endpoint.inject(Fault.malformed())
        response = client.post(PATH, json=REQUEST)
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()

    def test_async_transport_drops_and_trickles_too(self, clock: Any) -> None:
        endpoint = FakeEndpoint(
            clock=clock, faults=[Fault.trickle(0.001), Fault.drop(after_parts=2)]
        )

        async def run() -> tuple[int, Any]:
            async with httpx.AsyncClient(
                transport=endpoint.async_transport(),
                base_url="https://f",
                headers={"Authorization": "Bearer t"},
            ) as http:
                first = await http.post(PATH, json=STREAM)
                try:
                    await http.post(PATH, json=STREAM)
                except httpx.RemoteProtocolError as exc:
                    return first.status_code, exc
                return first.status_code, None

        status, error = asyncio.run(run())
        assert status == 200
        assert isinstance(error, httpx.RemoteProtocolError)


class TestAuthAndRouting:
    @pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic abc", "Bearer    "])
    def test_requires_a_non_empty_bearer_token(
        self, endpoint: FakeEndpoint, header: str | None
    ) -> None:
        headers = {} if header is None else {"Authorization": header}
        with httpx.Client(transport=endpoint.transport(), base_url="https://f") as http:
            response = http.post(PATH, json=REQUEST, headers=headers)
        assert response.status_code == 401
        assert response.json()["error_code"] == "UNAUTHENTICATED"

    def test_records_requests_without_credentials(
        self, endpoint: FakeEndpoint, client: httpx.Client
    ) -> None:
        client.post(
            PATH,
            json=REQUEST,
            headers={"Authorization": "Bearer secret-token-123", "x-trace": "7"},
        )
        (recorded,) = endpoint.requests
        assert recorded.method == "POST"
        assert recorded.path == PATH
        assert recorded.json() == REQUEST
        assert recorded.header("x-trace") == "7"
        assert recorded.header("authorization") is None
        assert "secret-token-123" not in repr(recorded)

    def test_unknown_models_and_paths_are_404_and_other_methods_405(
        self, client: httpx.Client
    ) -> None:
        assert (
            client.post(PATH, json={**REQUEST, "model": "nope"}).json()["error_code"]
            == "RESOURCE_DOES_NOT_EXIST"
        )
        assert client.post("/api/2.0/other", json=REQUEST).status_code == 404
        assert client.get(PATH).status_code == 405

    def test_a_body_that_is_not_json_is_400(self, client: httpx.Client) -> None:
        response = client.post(PATH, content=b"{nope")
        assert response.status_code == 400
        assert response.headers["x-fake-rule"] == "schema"

    def test_every_answer_carries_a_request_id(self, client: httpx.Client) -> None:
        assert client.post(PATH, json=REQUEST).headers["x-request-id"]

    def test_oversize_requests_are_refused(self, clock: Any) -> None:
        endpoint = FakeEndpoint(clock=clock, max_request_bytes=1000)
        with httpx.Client(
            transport=endpoint.transport(),
            base_url="https://f",
            headers={"Authorization": "Bearer t"},
        ) as http:
            big = {**REQUEST, "messages": [{"role": "user", "content": "x" * 2000}]}
            assert http.post(PATH, json=big).headers["x-fake-rule"] == "R18"


class TestAnswers:
    def test_calls_a_tool_whose_subject_the_user_mentions_with_schema_arguments(
        self, post: Any
    ) -> None:
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "days": {"type": "integer"},
                        "unit": {"enum": ["c", "f"]},
                    },
                },
            },
        }
        other = {
            "type": "function",
            "function": {
                "name": "search_flights",
                "parameters": {"type": "object", "properties": {}},
            },
        }
        request = {
            **REQUEST,
            "tools": [tool, other],
            "messages": [
                {
                    "role": "user",
                    "content": "What will the weather be in Oslo for 3 days?",
                }
            ],
        }
        message = post(request).json()["choices"][0]["message"]
        (call,) = message["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {
            "city": "Oslo",
            "days": 3,
            "unit": "c",
        }

    def test_summarises_tool_results(self, post: Any) -> None:
        call = {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        }
        messages = [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "3 C"},
        ]
        text = post({**REQUEST, "messages": messages}).json()["choices"][0]["message"][
            "content"
        ]
        assert text == "Here is what the tools returned: get_weather returned: 3 C"

    def test_tool_choice_none_and_no_mention_answer_with_text(self, post: Any) -> None:
        tool = {"type": "function", "function": {"name": "get_weather"}}
        for request in (
            {
                **REQUEST,
                "tools": [tool],
                "tool_choice": "none",
                "messages": [{"role": "user", "content": "weather?"}],
            },
            {**REQUEST, "tools": [tool]},
        ):
            message = post(request).json()["choices"][0]["message"]
            assert "tool_calls" not in message

    def test_scripted_replies_come_first(
        self, endpoint: FakeEndpoint, post: Any
    ) -> None:
        endpoint.add_script(
            ScriptedReply(
                text="Scripted.",
                tool_calls=(ScriptedCall(name="lookup", arguments={"q": 1}),),
            )
        )
        message = post(REQUEST).json()["choices"][0]["message"]
        assert message["content"] == "Scripted."
        assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"q": 1}
        assert (
            post(REQUEST).json()["choices"][0]["message"]["content"]
            == "You said: Why is the sky blue?"
        )

    def test_answers_are_deterministic(self, clock: Any) -> None:
        bodies = []
        for _ in range(2):
            endpoint = FakeEndpoint(clock=clock, seed=7)
            with httpx.Client(
                transport=endpoint.transport(),
                base_url="https://f",
                headers={"Authorization": "Bearer t"},
            ) as http:
                bodies.append(http.post(PATH, json=STREAM).content)
        assert bodies[0] == bodies[1]


class TestModels:
    def test_serves_only_the_models_it_is_given(self, clock: Any) -> None:
        endpoint = FakeEndpoint(models=["databricks-gpt-oss-20b"], clock=clock)
        assert set(endpoint.models) == {"databricks-gpt-oss-20b"}
        with pytest.raises(ValueError, match="no built-in model named 'nope'"):
            FakeEndpoint(models=["nope"])

    def test_a_custom_endpoint_name_copies_a_built_in_models_rules(
        self, clock: Any
    ) -> None:
        base = next(m for m in default_models() if m.name == CLAUDE)
        endpoint = FakeEndpoint(
            models=[attrs.evolve(base, name="my-claude")], clock=clock
        )
        with httpx.Client(
            transport=endpoint.transport(),
            base_url="https://f",
            headers={"Authorization": "Bearer t"},
        ) as http:
            response = http.post(
                "/serving-endpoints/my-claude/invocations",
                json={
                    "messages": [{"role": "user", "content": "hi"}],
                    "parallel_tool_calls": True,
                },
            )
        assert response.headers["x-fake-rule"] == "R16"
