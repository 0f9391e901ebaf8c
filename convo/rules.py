"""Provider rules: the table every refusal in convo cites, shipped with the library.

Each `Rule` is one line of `docs/provider-rules.md` (id, what the provider
requires, what convo does about it, and the anchor of its section there). An
error that refuses a request names its rule as `(rule R16, target 'name')`
and ends with `See docs/provider-rules.md#r16.`; `RULES[rule_id]` gives the
value back.

Invariant: the ids here and the ids in `docs/provider-rules.md` are the same
set (a test checks both ways), and every id is cited on every route with the
same meaning.
"""

from __future__ import annotations

import attrs

from convo._check import expect_text

__all__ = ["DOC", "RULES", "Rule", "rule"]

DOC = "docs/provider-rules.md"
"""The page of the repository that defines every rule."""


@attrs.frozen(kw_only=True)
class Rule:
    """One provider rule: what a provider requires and what convo does about it."""

    id: str
    """`R1` to `R22`."""
    title: str
    """The rule in a few words."""
    requires: str
    """What the provider requires (what breaks when it is not kept)."""
    convo_does: str
    """How convo keeps it: by construction, or by refusing before sending."""

    @property
    def anchor(self) -> str:
        """The anchor of the rule on its docs page (`r16`)."""
        return self.id.lower()

    @property
    def link(self) -> str:
        """`docs/provider-rules.md#r16`: where an error message points."""
        return f"{DOC}#{self.anchor}"


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.id: r for r in rules}


RULES: dict[str, Rule] = _rules(
    Rule(
        id="R1",
        title="Signed reasoning is replayed byte-identical",
        requires='Signed reasoning is replayed byte-identical: text, signature, part order, including signature-only parts with empty text (the "omitted" display mode) and `summary_encrypted_text` parts',
        convo_does="stores reasoning verbatim, never merges, re-wraps or drops empty-text signed parts; round-trip tests compare bytes",
    ),
    Rule(
        id="R2",
        title="A tool loop with thinking on resumes with its reasoning",
        requires="With thinking on, the assistant message that continues a tool loop must start with its reasoning",
        convo_does="`keep_last_reasoning` keeps the whole current tool session; a validator refuses a request that would drop it",
    ),
    Rule(
        id="R3",
        title="Databricks takes reasoning back only as content blocks",
        requires='Databricks takes reasoning back only as `{"type":"reasoning","summary":[...]}` blocks inside the assistant `content` list; message-level `reasoning_content` / `thinking_blocks` are a 400',
        convo_does="the chat encoder emits reasoning only as content blocks",
    ),
    Rule(
        id="R4",
        title="Reasoning is bound to the model that made it",
        requires="Reasoning is bound to the model that made it; a foreign or unsigned block sent as text makes the model leak or refuse",
        convo_does="provenance on every reasoning block; `drop_foreign_reasoning`; never textify by default",
    ),
    Rule(
        id="R5",
        title="Claude binds a thinking block to its exact prefix",
        requires="Newer Claude models bind a thinking block to its exact prefix (system, tools, earlier messages, earlier thinking); a changed prefix is a 400 or a silent drop",
        convo_does="record what each assistant turn was generated from, as the target's server sees it (a server that discards earlier reasoning never saw it); detect a changed prefix before sending; policies that claim prefix stability prove it",
    ),
    Rule(
        id="R6",
        title="At most 4 cache markers per request",
        requires="At most 4 `cache_control` markers per request (tools + system + messages); markers left on replayed history pile up",
        convo_does="markers are request-view decorations, never stored; the placement policy counts every marker and evicts the oldest message markers first",
    ),
    Rule(
        id="R7",
        title="No cache marker on reasoning, empty text or string content",
        requires="`cache_control` never on a reasoning block, an empty text block or a string `content` (convert to a one-block list)",
        convo_does="encoder and placement policy enforce it",
    ),
    Rule(
        id="R8",
        title="Cache ttls never shorter before longer",
        requires="An earlier breakpoint may not have a shorter ttl than a later one (1h before 5m)",
        convo_does="placement raises earlier ttls to the longest later one",
    ),
    Rule(
        id="R9",
        title="Prompts below the minimum cacheable length are not cached",
        requires="Prompts below the model's minimum cacheable length are silently not cached",
        convo_does="placement skips useless markers, using a token estimate per target",
    ),
    Rule(
        id="R10",
        title="Every tool call has exactly one result, right after it",
        requires="Every tool call has exactly one result before the next user message; no orphan results; Claude wants all results consecutively right after the call",
        convo_does="`repair_tool_pairs`, validator, trimming only by whole tool sessions",
    ),
    Rule(
        id="R11",
        title="A tool message needs the tool calls right before it",
        requires="Non-Claude Databricks endpoints reject a `tool` message unless the message right before it carries `tool_calls`",
        convo_does="the target's tool-ordering rule splits parallel calls when needed",
    ),
    Rule(
        id="R12",
        title="No empty or whitespace-only text to Claude",
        requires="No empty or whitespace-only text blocks to Claude; an assistant message with tool calls and no text sends `content` null/omitted",
        convo_does="encoder rule",
    ),
    Rule(
        id="R13",
        title="No assistant message of reasoning only",
        requires="After pruning, no assistant message may consist of reasoning only",
        convo_does="policies drop such messages whole, with their pairing kept",
    ),
    Rule(
        id="R14",
        title="Thinking budgets, adaptive models and sampling with thinking",
        requires="`budget_tokens` ≥ 1024 and < `max_tokens`; adaptive-only models reject budgets and sampling parameters; thinking allows `tool_choice` auto/none only, no `temperature`/`top_k`, `top_p` in [0.95, 1]",
        convo_does="target validation before sending",
    ),
    Rule(
        id="R15",
        title="Reasoning effort values differ per family",
        requires="`reasoning_effort` values and defaults differ per family (GPT OSS low/medium/high, default medium; GPT-5.1 default none; Gemini 3 Pro default low); Claude rejects the field",
        convo_does="target validation; never send a value a target rejects",
    ),
    Rule(
        id="R16",
        title="Only the request fields a target takes",
        requires="Databricks answers unknown request fields with 400 (`parallel_tool_calls`, `stream_options` on Claude and Gemini, message `name`, `strict` on non-GPT tools)",
        convo_does="each target lists the fields it takes; the encoder never emits others",
    ),
    Rule(
        id="R17",
        title="Gemini's thought signatures are echoed on tool calls",
        requires="Gemini 3 requires its thought signatures echoed on function calls",
        convo_does="unknown fields on tool calls and deltas are kept verbatim and echoed back on the same call",
    ),
    Rule(
        id="R18",
        title="Images and request size within the target's limits",
        requires="Images: base64 data URLs only on Databricks; jpeg/png/gif/webp; about 5 MB per image, 8000 px per side; request size limits",
        convo_does="refused at construction or before sending, naming the limit",
    ),
    Rule(
        id="R19",
        title="Finish reasons beyond stop/length/tool_calls",
        requires="`finish_reason` has more values than stop/length/tool_calls/content_filter (`pause_turn`, `refusal`, `model_context_window_exceeded`)",
        convo_does="normalised enum plus the raw value; unknown values surface as unknown, never as stop",
    ),
    Rule(
        id="R20",
        title="Streamed usage is a cumulative snapshot",
        requires="Streamed usage is a cumulative snapshot on every chunk; summing double-counts",
        convo_does="keep the last snapshot",
    ),
    Rule(
        id="R21",
        title="Streamed Claude reasoning ends with a signature-only part",
        requires="Streamed Claude reasoning ends with a part whose text is empty and whose signature is the real one",
        convo_does="assembler appends text and keeps the last non-empty signature; never drops the signature-only part",
    ),
    Rule(
        id="R22",
        title="Databricks error bodies nest the upstream error",
        requires='Databricks error bodies are `{"error_code","message"}`, often with the upstream JSON nested as a string in `message`',
        convo_does="the client parses both layers into the typed error",
    ),
)
"""Every provider rule, by id."""


def rule(rule_id: str) -> Rule | None:
    """The provider rule `rule_id` names (None for a format's own shape rule).

    Raises:
        UsageError: `rule_id` is not a str.
    """
    expect_text(rule_id, "rule_id", fix="Pass a rule id such as 'R14'.")
    return RULES.get(rule_id)
