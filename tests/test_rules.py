"""`convo.rules`: the provider-rule table ships with the library and matches its docs page."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

import convo.wire.chat as chat
from convo import RequestParams, TextBlock, Tool, Turn, get_target
from convo.errors import RequestRejectedError
from convo.rules import DOC, RULES, Rule, rule
from convo.wire._shared._reject import reject

ROOT = Path(__file__).parent.parent
PAGE = (ROOT / DOC).read_text("utf-8")


class TestTheTable:
    def test_the_docs_page_and_the_module_define_the_same_ids(self) -> None:
        in_docs = set(re.findall(r"^\| <a id=\"r\d+\"></a>(R\d+) \|", PAGE, re.M))
        assert in_docs == set(RULES)

    @pytest.mark.parametrize("rule_id", sorted(RULES))
    def test_every_rule_has_its_anchor_on_the_page(self, rule_id: str) -> None:
        found = RULES[rule_id]
        assert f'<a id="{found.anchor}"></a>{rule_id} |' in PAGE
        assert found.link == f"docs/provider-rules.md#{rule_id.lower()}"

    @pytest.mark.parametrize("rule_id", sorted(RULES))
    def test_every_rule_says_what_is_required_and_what_convo_does(
        self, rule_id: str
    ) -> None:
        found = RULES[rule_id]
        assert found.title
        assert found.requires in PAGE
        assert found.convo_does in PAGE

    def test_rules_are_frozen_values(self) -> None:
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            RULES["R1"].title = "x"  # type: ignore[misc]
        assert isinstance(rule("R16"), Rule)
        assert rule("anthropic.first_user") is None


class TestRefusalsCiteTheRule:
    def test_a_provider_rule_is_cited_with_its_target_and_its_link(self) -> None:
        target = get_target("databricks-claude-sonnet-4-5")
        error = reject("No", rule="R16", target=target, path="$", fix="Do X.")
        assert "(rule R16, target 'databricks-claude-sonnet-4-5')" in error.message
        assert error.message.endswith("See docs/provider-rules.md#r16.")

    def test_a_shape_rule_cites_no_link(self) -> None:
        target = get_target("databricks-claude-sonnet-4-5")
        error = reject("No", rule="anthropic.first_user", target=target)
        assert "docs/provider-rules.md" not in error.message

    def test_a_real_refusal_points_at_the_docs_page(self) -> None:
        target = get_target("databricks-gpt-oss-20b")
        tool = Tool(name="t", strict=True)
        with pytest.raises(RequestRejectedError) as caught:
            chat.encode_request(
                [Turn(role="user", blocks=(TextBlock(text="q"),))],
                target=target,
                params=RequestParams(),
                tools=[tool],
            )
        assert caught.value.rule == "R16"
        assert "See docs/provider-rules.md#r16." in caught.value.message
