"""`convo.wire.wire_for`: the one place a target's wire format is chosen."""

from __future__ import annotations

import attrs
import pytest

import convo.wire.anthropic
import convo.wire.chat
from convo._targets import Target
from convo.errors import LookupFailedError
from convo.wire import WireFormat, registered_wires, wire_for

_FORMATS: dict[str, WireFormat] = {
    "chat": convo.wire.chat,
    "anthropic": convo.wire.anthropic,
}


class TestWireFor:
    @pytest.mark.parametrize("name", sorted(_FORMATS))
    def test_returns_the_module_named_by_the_targets_wire(self, name: str) -> None:
        target = Target(name="m", wire=name)
        assert wire_for(target) is _FORMATS[name]
        assert name == wire_for(target).NAME

    def test_every_built_in_format_is_registered(self) -> None:
        assert set(_FORMATS) <= set(registered_wires())

    def test_an_unregistered_wire_is_a_lookup_error_naming_the_choices(self) -> None:
        with pytest.raises(LookupFailedError) as caught:
            wire_for(Target(name="m", wire="smoke-signals"))
        assert caught.value.key == "smoke-signals"
        assert "registered: " in str(caught.value)
        assert "register_wire" in str(caught.value)


class TestEndpointSuffix:
    def test_chat_names_the_endpoint_on_databricks_and_not_on_a_base_url(self) -> None:
        target = Target(name="my model")
        assert (
            convo.wire.chat.endpoint_suffix(target, databricks=True)
            == "/serving-endpoints/my%20model/invocations"
        )
        assert (
            convo.wire.chat.endpoint_suffix(target, databricks=False)
            == "/chat/completions"
        )

    def test_anthropic_uses_one_route_for_every_model(self) -> None:
        a = Target(name="a", wire="anthropic")
        b = attrs.evolve(a, name="b")
        for databricks in (True, False):
            assert convo.wire.anthropic.endpoint_suffix(
                a, databricks=databricks
            ) == convo.wire.anthropic.endpoint_suffix(b, databricks=databricks)
