"""Client.send over httpx.MockTransport: URLs, auth, status tables, retries, caps."""

from __future__ import annotations

import base64
import email.utils
import gzip
import json
import logging
import time
from typing import Any

import anyio
import httpx
import pytest

from convo import SummaryText, Target
from convo.client import Client, OAuthM2M, RetryConfig
from convo.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    EndpointNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    UnexpectedRedirectError,
)
from tests.client._client_support import (
    HOST,
    INVOCATIONS,
    PAYLOAD,
    TARGET,
    FakeClock,
    FakeWire,
    Sleeps,
    async_client,
    client,
    completion,
    databricks_error,
)


class Script:
    """A MockTransport handler answering from a list, recording requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok() -> httpx.Response:
    return httpx.Response(200, json=completion(), headers={"x-request-id": "req-ok"})


class TestSendSuccess:
    def test_decodes_the_answer_and_reports_the_exchange(self):
        script = Script(ok())
        response = client(script).send(PAYLOAD, target=TARGET)
        assert response.turn.text == "The average speed is 80 km/h."
        assert response.turn.reasoning[0].parts[0] == SummaryText(
            text="Distance 120 km, time 1.5 h, so speed = 120 / 1.5 = 80 km/h.",
            signature="SIG-OPAQUE-0001",
        )
        assert response.raw == completion()
        assert (response.request_id, response.attempts, response.status) == (
            "req-ok",
            1,
            200,
        )
        assert response.headers["x-request-id"] == "req-ok"

    def test_posts_canonical_json_with_the_bearer_token_to_the_invocations_url(self):
        script = Script(ok())
        client(script, token="dapi-abc").send(PAYLOAD, target=TARGET)
        request = script.requests[0]
        assert str(request.url) == INVOCATIONS
        assert request.method == "POST"
        assert request.headers["authorization"] == "Bearer dapi-abc"
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == PAYLOAD

    def test_an_openai_style_base_url_posts_to_chat_completions(self):
        script = Script(ok())
        client(script, host=None, base_url="https://api.example/v1").send(
            PAYLOAD, target=TARGET
        )
        assert str(script.requests[0].url) == "https://api.example/v1/chat/completions"

    def test_an_anthropic_target_uses_the_messages_route_and_wire(self):
        body = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
        script = Script(httpx.Response(200, json=body))
        target = Target(
            name="databricks-claude-opus-4-5", wire="anthropic", family="claude"
        )
        response = client(script).send({"messages": []}, target=target)
        assert (
            str(script.requests[0].url)
            == f"{HOST}/serving-endpoints/anthropic/v1/messages"
        )
        assert response.turn.text == "hi"

    def test_any_object_with_the_wire_protocol_is_accepted(self):
        script = Script(httpx.Response(200, json={"text": "from a fake wire"}))
        response = client(script).send(PAYLOAD, target=TARGET, wire=FakeWire())
        assert response.turn.text == "from a fake wire"

    def test_a_body_that_is_not_json_is_a_decode_error(self):
        with pytest.raises(DecodeError):
            client(Script(httpx.Response(200, content=b"<html>"))).send(
                PAYLOAD, target=TARGET
            )

    @pytest.mark.parametrize(
        "body", [b"<html>", b"[1, 2]", b'{"choices": "not a list"}']
    )
    def test_a_200_body_that_does_not_decode_names_the_request_and_attempt(
        self, body: bytes
    ):
        script = Script(
            httpx.Response(503, headers={"x-request-id": "req-1"}),
            httpx.Response(200, content=body, headers={"x-request-id": "req-2"}),
        )
        with pytest.raises(DecodeError) as info:
            client(script).send(PAYLOAD, target=TARGET)
        assert info.value.request_id == "req-2"
        assert info.value.attempts == 2

    def test_a_body_over_the_cap_is_refused(self):
        big = httpx.Response(200, content=b"x" * 2000)
        with pytest.raises(ResponseTooLargeError):
            client(Script(big), max_response_bytes=1000).send(PAYLOAD, target=TARGET)


class TestStatusErrors:
    @pytest.mark.parametrize(
        ("status", "cls", "attempts"),
        [
            (400, BadRequestError, 1),
            (401, AuthenticationError, 1),
            (403, PermissionDeniedError, 1),
            (404, EndpointNotFoundError, 1),
            (422, BadRequestError, 1),
            (408, APIStatusError, 3),
            (409, APIStatusError, 3),
            (429, RateLimitError, 3),
            (500, ServerError, 3),
            (502, ServerError, 3),
            (503, ServerError, 3),
            (529, ServerError, 3),
        ],
    )
    def test_each_status_maps_to_its_class_after_the_right_number_of_attempts(
        self, status, cls, attempts
    ):
        script = Script(databricks_error(status, "SOME_CODE", "upstream says no"))
        sleeps = Sleeps()
        with pytest.raises(cls) as info:
            client(script, sleeps).send(PAYLOAD, target=TARGET)
        assert len(script.requests) == attempts
        assert info.value.attempts == attempts
        assert info.value.status_code == status
        assert len(sleeps.waits) == attempts - 1

    def test_errors_carry_code_unwrapped_message_request_id_and_a_bounded_excerpt(self):
        script = Script(
            databricks_error(
                400,
                "BAD_REQUEST",
                "messages.98.thinking_blocks: Extra inputs are not permitted",
            )
        )
        with pytest.raises(BadRequestError) as info:
            client(script).send(PAYLOAD, target=TARGET)
        error = info.value
        assert error.error_code == "BAD_REQUEST"
        assert "messages.98.thinking_blocks: Extra inputs are not permitted" in str(
            error
        )
        assert '\\"message\\"' not in str(error)
        assert error.request_id == "req-400"
        assert len(error.body_excerpt) <= 8192

    def test_waits_without_hints_follow_the_backoff(self):
        sleeps = Sleeps()
        with pytest.raises(ServerError):
            client(Script(httpx.Response(503)), sleeps).send(PAYLOAD, target=TARGET)
        assert sleeps.waits == [0.5, 1.0]

    def test_a_retry_that_succeeds_reports_the_attempts(self):
        script = Script(httpx.Response(503), httpx.Response(502), ok())
        response = client(script).send(PAYLOAD, target=TARGET)
        assert response.attempts == 3
        assert [r.headers["x-convo-retry-count"] for r in script.requests] == [
            "0",
            "1",
            "2",
        ]
        assert len({r.content for r in script.requests}) == 1


NOW = time.time()


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("headers", "waits"),
        [
            ({"retry-after-ms": "1500"}, [1.5, 1.5]),
            ({"retry-after-ms": "250", "retry-after": "9"}, [0.25, 0.25]),
            ({"retry-after": "2"}, [2.0, 2.0]),
            ({"retry-after": "0"}, [0.5, 1.0]),
            ({"retry-after": "-10"}, [0.5, 1.0]),
            ({"retry-after": "Fri, 31 Dec 100000 23:59:59 GMT"}, [0.5, 1.0]),
            (
                {"retry-after": email.utils.formatdate(NOW - 60, usegmt=True)},
                [0.5, 1.0],
            ),
        ],
    )
    def test_hints_are_honoured_or_fall_back_to_backoff(self, headers, waits):
        sleeps = Sleeps()
        script = Script(httpx.Response(429, headers=headers))
        with pytest.raises(RateLimitError):
            client(script, sleeps).send(PAYLOAD, target=TARGET)
        assert sleeps.waits == waits

    def test_a_future_http_date_is_honoured(self):
        sleeps = Sleeps()
        when = email.utils.formatdate(time.time() + 30, usegmt=True)
        with pytest.raises(RateLimitError):
            client(
                Script(httpx.Response(429, headers={"retry-after": when})), sleeps
            ).send(PAYLOAD, target=TARGET)
        assert all(28 <= w <= 30.5 for w in sleeps.waits)
        assert len(sleeps.waits) == 2

    def test_a_hint_above_the_cap_surfaces_immediately_with_retry_after(self):
        script = Script(httpx.Response(429, headers={"retry-after": "121"}))
        sleeps = Sleeps()
        with pytest.raises(RateLimitError) as info:
            client(script, sleeps).send(PAYLOAD, target=TARGET)
        assert len(script.requests) == 1
        assert sleeps.waits == []
        assert info.value.retry_after == 121.0

    def test_the_cap_is_configurable(self):
        script = Script(httpx.Response(429, headers={"retry-after": "5"}))
        with pytest.raises(RateLimitError):
            client(script, retry=RetryConfig(max_retry_after=4.0)).send(
                PAYLOAD, target=TARGET
            )
        assert len(script.requests) == 1

    def test_an_invalid_date_never_masks_the_status_error(self):
        bad = httpx.Response(
            400, headers={"retry-after": "Fri, 31 Dec 100000 23:59:59 GMT"}
        )
        with pytest.raises(BadRequestError):
            client(Script(bad)).send(PAYLOAD, target=TARGET)

    def test_x_should_retry_false_stops_retries(self):
        script = Script(httpx.Response(503, headers={"x-should-retry": "false"}))
        with pytest.raises(ServerError):
            client(script).send(PAYLOAD, target=TARGET)
        assert len(script.requests) == 1

    def test_x_should_retry_true_retries_a_400(self):
        script = Script(httpx.Response(400, headers={"x-should-retry": "true"}), ok())
        assert client(script).send(PAYLOAD, target=TARGET).attempts == 2

    def test_a_spend_limit_429_is_sent_once(self):
        body = {"error": {"type": "rate_limit_error", "message": "spend limit reached"}}
        script = Script(httpx.Response(429, json=body))
        with pytest.raises(RateLimitError):
            client(script).send(PAYLOAD, target=TARGET)
        assert len(script.requests) == 1

    def test_max_retries_zero_means_one_attempt(self):
        script = Script(httpx.Response(503))
        with pytest.raises(ServerError):
            client(script, retry=RetryConfig(max_retries=0)).send(
                PAYLOAD, target=TARGET
            )
        assert len(script.requests) == 1


class TestConnectionErrors:
    def test_connection_errors_are_retried_then_translated_with_the_cause(self):
        script = Script(httpx.ConnectError("refused"))
        with pytest.raises(APIConnectionError) as info:
            client(script).send(PAYLOAD, target=TARGET)
        assert len(script.requests) == 3
        assert info.value.attempts == 3
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        assert not isinstance(info.value, APITimeoutError)

    def test_timeouts_become_api_timeout_errors(self):
        with pytest.raises(APITimeoutError):
            client(Script(httpx.ReadTimeout("slow"))).send(PAYLOAD, target=TARGET)

    def test_a_connection_error_then_success_recovers(self):
        script = Script(httpx.RemoteProtocolError("closed"), ok())
        assert client(script).send(PAYLOAD, target=TARGET).attempts == 2

    def test_a_redirect_is_never_followed(self):
        script = Script(
            httpx.Response(
                302, headers={"location": "https://evil.example/steal?tok=abc"}
            ),
            ok(),
        )
        with pytest.raises(UnexpectedRedirectError) as info:
            client(script).send(PAYLOAD, target=TARGET)
        assert len(script.requests) == 1
        assert info.value.location == "https://evil.example/steal"


class TestDeadline:
    def test_retries_stop_when_the_next_wait_would_pass_the_deadline(self):
        clock = FakeClock()
        sleeps = Sleeps()

        def sleep(seconds: float) -> None:
            sleeps(seconds)
            clock.now += seconds

        script = Script(httpx.Response(429, headers={"retry-after": "3"}))
        with pytest.raises(RateLimitError):
            client(script, sleep, clock=clock, deadline=5.0).send(
                PAYLOAD, target=TARGET
            )
        assert sleeps.waits == [3.0]
        assert len(script.requests) == 2

    def test_an_attempt_that_starts_past_the_deadline_raises_a_timeout(self):
        clock = FakeClock()

        def slow(request: httpx.Request) -> httpx.Response:
            clock.now += 10
            return httpx.Response(503)

        with pytest.raises(APITimeoutError) as info:
            client(slow, clock=clock, deadline=5.0).send(PAYLOAD, target=TARGET)
        assert info.value.attempts == 1

    def test_each_attempt_timeout_is_cut_to_the_remaining_deadline(self):
        script = Script(ok())
        client(script, deadline=2.0).send(PAYLOAD, target=TARGET)
        timeout = script.requests[0].extensions["timeout"]
        assert 0 < timeout["read"] <= 2.0


class TestCredentials:
    def test_host_and_token_come_from_the_environment(self):
        script = Script(ok())
        env = {
            "DATABRICKS_HOST": "adb-9.azuredatabricks.net",
            "DATABRICKS_TOKEN": "dapi-env",
        }
        Client(transport=httpx.MockTransport(script), environ=env, sleep=Sleeps()).send(
            PAYLOAD, target=TARGET
        )
        request = script.requests[0]
        assert request.url.host == "adb-9.azuredatabricks.net"
        assert request.url.scheme == "https"
        assert request.headers["authorization"] == "Bearer dapi-env"

    def test_no_credentials_is_refused_at_construction(self):
        with pytest.raises(ValueError, match="No credentials"):
            Client(host=HOST, environ={})

    def test_no_endpoint_is_refused_at_construction(self):
        with pytest.raises(ValueError, match="No endpoint"):
            Client(token="t", environ={})

    def test_any_httpx_auth_is_used(self):
        script = Script(ok())
        client(script, token=None, auth=httpx.BasicAuth("u", "p")).send(
            PAYLOAD, target=TARGET
        )
        assert script.requests[0].headers["authorization"].startswith("Basic ")

    def test_context_manager_closes_an_owned_http_client(self):
        with client(Script(ok())) as c:
            pass
        assert c._http.is_closed

    def test_a_caller_supplied_http_client_is_left_open(self):
        http = httpx.Client(transport=httpx.MockTransport(Script(ok())))
        with Client(host=HOST, token="t", http_client=http):
            pass
        assert not http.is_closed
        http.close()


class OAuthServer:
    """Token endpoint plus serving endpoint; tokens are numbered."""

    def __init__(
        self, *, expires_in: int = 3600, reject: set[str] | None = None
    ) -> None:
        self.issued = 0
        self.expires_in = expires_in
        self.reject = reject or set()
        self.token_requests: list[httpx.Request] = []
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oidc/v1/token":
            self.token_requests.append(request)
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"oauth-{self.issued}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                },
            )
        token = request.headers["authorization"].removeprefix("Bearer ")
        self.calls.append(token)
        if token in self.reject:
            return httpx.Response(
                401, json={"error_code": "UNAUTHENTICATED", "message": "expired"}
            )
        return ok()


class TestOAuthM2M:
    def oauth(self, clock: FakeClock) -> OAuthM2M:
        return OAuthM2M(
            host=HOST, client_id="sp-id", client_secret="sp-secret", clock=clock
        )

    def test_fetches_a_client_credentials_token_with_basic_auth_and_caches_it(self):
        server, clock = OAuthServer(), FakeClock()
        c = client(server, token=None, auth=self.oauth(clock))
        c.send(PAYLOAD, target=TARGET)
        c.send(PAYLOAD, target=TARGET)
        assert server.issued == 1
        assert server.calls == ["oauth-1", "oauth-1"]
        token_request = server.token_requests[0]
        assert str(token_request.url) == f"{HOST}/oidc/v1/token"
        form = dict(x.split("=") for x in token_request.content.decode().split("&"))
        assert form == {"grant_type": "client_credentials", "scope": "all-apis"}
        basic = base64.b64encode(b"sp-id:sp-secret").decode()
        assert token_request.headers["authorization"] == f"Basic {basic}"

    def test_renews_the_token_shortly_before_it_expires(self):
        server, clock = OAuthServer(expires_in=600), FakeClock()
        c = client(server, token=None, auth=self.oauth(clock))
        c.send(PAYLOAD, target=TARGET)
        clock.now += 530
        c.send(PAYLOAD, target=TARGET)
        clock.now += 50
        c.send(PAYLOAD, target=TARGET)
        assert server.calls == ["oauth-1", "oauth-1", "oauth-2"]

    def test_refreshes_once_on_a_401_and_replays_the_request(self):
        server, clock = OAuthServer(reject={"oauth-1"}), FakeClock()
        response = client(server, token=None, auth=self.oauth(clock)).send(
            PAYLOAD, target=TARGET
        )
        assert server.calls == ["oauth-1", "oauth-2"]
        assert response.attempts == 1

    def test_a_second_401_surfaces_as_an_authentication_error(self):
        server, clock = (
            OAuthServer(reject={"oauth-1", "oauth-2", "oauth-3"}),
            FakeClock(),
        )
        with pytest.raises(AuthenticationError):
            client(server, token=None, auth=self.oauth(clock)).send(
                PAYLOAD, target=TARGET
            )
        assert server.issued == 2

    def test_a_failing_token_endpoint_is_an_authentication_error(self):
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, json={"error": "invalid_client"})

        auth = OAuthM2M(host=HOST, client_id="id", client_secret="wrong")
        with pytest.raises(AuthenticationError) as info:
            client(handler, token=None, auth=auth).send(PAYLOAD, target=TARGET)
        assert info.value.error_code == "invalid_client"

    def test_oauth_comes_from_the_environment_without_a_token(self):
        server = OAuthServer()
        env = {
            "DATABRICKS_HOST": HOST,
            "DATABRICKS_CLIENT_ID": "sp-id",
            "DATABRICKS_CLIENT_SECRET": "sp-secret",
        }
        Client(transport=httpx.MockTransport(server), environ=env).send(
            PAYLOAD, target=TARGET
        )
        assert server.issued == 1


class TestAsyncSend:
    def test_the_async_twin_retries_and_decodes(self):
        script = Script(httpx.Response(503), ok())
        sleeps = Sleeps()

        async def main() -> Any:
            async with async_client(script, sleeps) as c:
                return await c.send(PAYLOAD, target=TARGET)

        response = anyio.run(main)
        assert response.attempts == 2
        assert sleeps.waits == [0.5]
        assert response.turn.text == "The average speed is 80 km/h."

    def test_the_async_twin_raises_the_same_typed_errors(self):
        script = Script(httpx.Response(404))

        async def main() -> None:
            async with async_client(script, Sleeps()) as c:
                await c.send(PAYLOAD, target=TARGET)

        with pytest.raises(EndpointNotFoundError):
            anyio.run(main)

    def test_async_oauth_caches_and_refreshes(self):
        server, clock = OAuthServer(reject={"oauth-1"}), FakeClock()

        async def main() -> None:
            auth = OAuthM2M(host=HOST, client_id="a", client_secret="b", clock=clock)
            async with async_client(server, Sleeps(), token=None, auth=auth) as c:
                await c.send(PAYLOAD, target=TARGET)
                await c.send(PAYLOAD, target=TARGET)

        anyio.run(main)
        assert server.calls == ["oauth-1", "oauth-2", "oauth-2"]


class TestDiagnostics:
    def test_logs_method_url_without_query_status_attempt_and_wait(self, caplog):
        caplog.set_level(logging.DEBUG, logger="convo.client")
        script = Script(httpx.Response(503, headers={"retry-after-ms": "250"}), ok())
        client(script, host=None, base_url="https://api.example/v1?tenant=t1").send(
            PAYLOAD, target=TARGET
        )
        lines = [r.getMessage() for r in caplog.records if r.name == "convo.client"]
        assert lines == [
            "POST https://api.example/v1/chat/completions attempt 1",
            "POST https://api.example/v1/chat/completions status 503 attempt 1",
            "POST https://api.example/v1/chat/completions retry after attempt 1 in 0.250 s (status 503)",
            "POST https://api.example/v1/chat/completions attempt 2",
            "POST https://api.example/v1/chat/completions status 200 attempt 2",
        ]

    def test_a_gzip_bomb_body_is_cut_at_the_cap(self):
        bomb = gzip.compress(b"\0" * (32 * 1024 * 1024))
        response = httpx.Response(
            200, content=iter([bomb]), headers={"content-encoding": "gzip"}
        )
        with pytest.raises(ResponseTooLargeError) as info:
            client(Script(response), max_response_bytes=1024 * 1024).send(
                PAYLOAD, target=TARGET
            )
        assert info.value.limit == 1024 * 1024

    def test_repr_names_the_endpoint_and_hides_credentials(self):
        c = client(Script(ok()), token="dapi-hidden")
        assert repr(c) == f"Client(host={HOST!r}, auth=BearerToken(token=<hidden>))"

    def test_a_too_large_body_error_carries_request_id_and_attempts(self):
        big = httpx.Response(
            200, content=b"x" * 2000, headers={"x-request-id": "req-big"}
        )
        with pytest.raises(ResponseTooLargeError) as info:
            client(Script(big), max_response_bytes=1000).send(PAYLOAD, target=TARGET)
        assert (info.value.request_id, info.value.attempts) == ("req-big", 1)
