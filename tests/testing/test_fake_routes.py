"""The fake endpoint's route table: a path resolves to its surface, and a new route is one entry."""

from __future__ import annotations

import attrs
import pytest

from convo.testing._fake._routes import (
    AI_GATEWAY_SURFACE,
    CHAT,
    MESSAGES,
    OPEN_RESPONSES_SURFACE,
    OPENAI_RESPONSES_SURFACE,
    ROUTES,
    Route,
    route_for,
)


class TestRouteFor:
    @pytest.mark.parametrize(
        ("path", "surface", "name"),
        [
            ("/serving-endpoints/chat/completions", CHAT, None),
            ("/serving-endpoints/anthropic/v1/messages", MESSAGES, None),
            ("/serving-endpoints/my-model/invocations", CHAT, "my-model"),
            ("/serving-endpoints/my-model/invocations/", CHAT, "my-model"),
            ("/serving-endpoints/open-responses", OPEN_RESPONSES_SURFACE, None),
            ("/serving-endpoints/responses", OPENAI_RESPONSES_SURFACE, None),
            ("/ai-gateway/mlflow/v1/responses", AI_GATEWAY_SURFACE, None),
        ],
    )
    def test_each_built_in_path_reaches_its_surface(
        self, path: str, surface: object, name: str | None
    ) -> None:
        assert route_for(path) == (surface, name)

    @pytest.mark.parametrize(
        "path",
        [
            "/serving-endpoints/",
            "/serving-endpoints//invocations",
            "/serving-endpoints/a/b/invocations",
            "/serving-endpoints/anthropic/v1/complete",
            "/other/chat/completions",
        ],
    )
    def test_anything_else_is_no_route(self, path: str) -> None:
        assert route_for(path) is None

    def test_a_new_route_is_one_entry_in_the_table(self) -> None:
        surface = attrs.evolve(CHAT, id_prefix="resp_")
        table = (*ROUTES, Route(path="/serving-endpoints/new-route", surface=surface))
        assert route_for("/serving-endpoints/new-route", table) == (surface, None)
        assert route_for("/serving-endpoints/new-route") is None

    def test_the_messages_surface_serves_only_claude(self) -> None:
        from convo.testing._fake._models import default_models

        served = {m.family for m in default_models() if MESSAGES.serves(m)}
        assert served == {"claude"}
        assert all(CHAT.serves(m) for m in default_models())
