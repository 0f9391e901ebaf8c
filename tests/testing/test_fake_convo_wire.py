"""What convo's own encoders send is accepted by the fake endpoint, turn after turn.

The fake checks raw JSON independently of convo's wire code, so a multi-step tool
loop encoded by `convo.wire.chat` / `convo.wire.anthropic`, with every answer
decoded (whole or streamed) and replayed, is a cross-check of both sides.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest

import convo
from convo.wire import anthropic as anthropic_wire
from convo.wire import chat as chat_wire

TOOLS = (
    convo.Tool(
        name="get_weather",
        description="Current weather for one city",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    ),
    convo.Tool(
        name="get_time",
        description="Local time",
        parameters={"type": "object", "properties": {"zone": {"type": "string"}}},
    ),
)
BUDGET = convo.RequestParams(
    max_tokens=4000, reasoning=convo.ThinkingBudget(budget_tokens=2048)
)
PARAMS = {
    "databricks-claude-sonnet-4-5": BUDGET,
    "databricks-gpt-oss-120b": convo.RequestParams(
        max_tokens=4000, reasoning=convo.Effort(level="high")
    ),
    "databricks-gemini-3-pro": convo.RequestParams(max_tokens=4000),
    "databricks-gpt-5-1": convo.RequestParams(max_tokens=4000),
}


def _run_loop(
    client: httpx.Client,
    wire: Any,
    target: convo.Target,
    params: convo.RequestParams,
    path: str,
) -> list[convo.Turn]:
    turns: list[convo.Turn] = [
        convo.system("Be brief."),
        convo.user("What is the weather and time in Oslo?"),
    ]
    for step in range(4):
        payload = wire.encode_request(turns, target=target, params=params, tools=TOOLS)
        whole = client.post(path, json=payload)
        assert whole.status_code == 200, (
            step,
            whole.headers.get("x-fake-rule"),
            whole.text,
        )
        streamed = client.post(path, json={**payload, "stream": True})
        assembler = wire.StreamAssembler(target=target)
        assembler.feed(streamed.content)
        answer = (
            assembler.finish()
            if step % 2
            else wire.decode_response(whole.content, target=target)
        )
        assert isinstance(answer, convo.Turn)
        turns.append(answer)
        if answer.tool_calls:
            turns.append(
                convo.tool_results(
                    *(
                        convo.ToolResultBlock(call_id=c.id, content="3 C")
                        for c in answer.tool_calls
                    )
                )
            )
        else:
            turns.append(convo.user("And the weather and time tomorrow?"))
    return turns


class TestConvoWiresAgainstTheFake:
    @pytest.mark.parametrize("model", sorted(PARAMS))
    def test_chat_wire_tool_loops_are_accepted(
        self, client: httpx.Client, model: str
    ) -> None:
        turns = _run_loop(
            client,
            chat_wire,
            convo.get_target(model),
            PARAMS[model],
            "/serving-endpoints/chat/completions",
        )
        assert sum(1 for t in turns if t.tool_calls) == 2

    def test_anthropic_wire_tool_loops_are_accepted(self, client: httpx.Client) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = anthropic_wire.anthropic_target(
                convo.get_target("databricks-claude-sonnet-4-5")
            )
        turns = _run_loop(
            client,
            anthropic_wire,
            target,
            BUDGET,
            "/serving-endpoints/anthropic/v1/messages",
        )
        assert [len(t.tool_calls) for t in turns if t.tool_calls] == [2, 2]
