"""The sans-I/O core: retry decisions, Retry-After parsing, URLs, requests."""

from __future__ import annotations

import email.utils
import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convo._targets import Target
from convo.client import RetryConfig
from convo.client._core import (
    GiveUp,
    Retry,
    build_request,
    endpoint_url,
    parse_retry_after,
    retry_decision,
)

NOW = 1_767_225_600.0
CONFIG = RetryConfig()


def decide(attempt: int, status: int | None, headers=None, **kw):
    kw.setdefault("now", NOW)
    kw.setdefault("random", lambda: 0.0)
    return retry_decision(
        attempt, status, headers, kw.pop("elapsed", 0.0), CONFIG, **kw
    )


def http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            ({"retry-after-ms": "1500"}, 1.5),
            ({"retry-after-ms": "300", "retry-after": "9"}, 0.3),
            ({"retry-after": "2"}, 2.0),
            ({"retry-after": "0.5"}, 0.5),
            ({"retry-after": "120"}, 120.0),
            ({"retry-after": "0"}, None),
            ({"retry-after": "-10"}, None),
            ({"retry-after": "nan"}, None),
            ({"retry-after": "inf"}, None),
            ({"retry-after": "soon"}, None),
            ({"retry-after-ms": "junk", "retry-after": "3"}, 3.0),
            ({"retry-after": http_date(3)}, 3.0),
            ({"retry-after": http_date(-30)}, None),
            ({"retry-after": "Fri, 31 Dec 100000 23:59:59 GMT"}, None),
            ({"retry-after": "Mon, 99 Foo 2026 99:99:99 GMT"}, None),
            ({}, None),
        ],
    )
    def test_reads_ms_then_seconds_then_http_dates(self, headers, expected):
        assert parse_retry_after(httpx.Headers(headers), now=NOW) == expected

    @given(st.text(max_size=40))
    def test_never_raises_on_any_header_value(self, value):
        """Whatever the server sends, parsing gives a positive float or None."""
        try:
            headers = httpx.Headers({"retry-after": value})
        except (UnicodeEncodeError, ValueError):
            return
        result = parse_retry_after(headers, now=NOW)
        assert result is None or result > 0


class TestRetryDecision:
    @pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529, None])
    def test_retries_transient_statuses_and_connection_errors(self, status):
        assert isinstance(decide(1, status), Retry)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
    def test_never_retries_other_client_errors(self, status):
        assert isinstance(decide(1, status), GiveUp)

    def test_gives_up_after_max_retries(self):
        assert isinstance(decide(2, 503), Retry)
        assert decide(3, 503) == GiveUp(reason="retries exhausted")

    def test_backoff_without_a_hint_doubles_and_jitters_into_the_documented_ranges(
        self,
    ):
        for attempt, (low, high) in [(1, (0.375, 0.5)), (2, (0.75, 1.0))]:
            top = decide(attempt, 500, random=lambda: 0.0)
            bottom = decide(attempt, 500, random=lambda: 0.999999)
            assert isinstance(top, Retry)
            assert isinstance(bottom, Retry)
            assert top.wait == pytest.approx(high)
            assert bottom.wait == pytest.approx(low, abs=1e-5)

    def test_backoff_is_capped_at_max_delay(self):
        config = RetryConfig(max_retries=50)
        decision = retry_decision(
            40, 500, None, 0.0, config, now=NOW, random=lambda: 0.0
        )
        assert decision == Retry(wait=8.0, reason="status 500")

    def test_honours_a_hint_up_to_the_cap(self):
        decision = decide(1, 429, {"retry-after": "60"})
        assert decision == Retry(wait=60.0, reason="status 429")

    def test_a_hint_above_the_cap_surfaces_the_error_with_the_hint(self):
        decision = decide(1, 429, {"retry-after": "61"})
        assert decision == GiveUp(
            reason="server hint above max_retry_after", retry_after=61.0
        )

    def test_x_should_retry_false_overrides_a_retryable_status(self):
        assert isinstance(decide(1, 503, {"x-should-retry": "false"}), GiveUp)

    def test_x_should_retry_true_overrides_a_non_retryable_status(self):
        assert isinstance(decide(1, 400, {"x-should-retry": "true"}), Retry)

    def test_x_should_retry_never_extends_past_max_retries(self):
        assert isinstance(decide(3, 400, {"x-should-retry": "true"}), GiveUp)

    def test_a_spend_limit_429_without_a_hint_is_not_retried(self):
        body = b'{"error":{"type":"rate_limit_error","message":"You have reached your spend limit"}}'
        assert decide(1, 429, body=body) == GiveUp(reason="spend limit reached")

    def test_a_wait_that_would_pass_the_deadline_gives_up(self):
        decision = decide(1, 429, {"retry-after": "5"}, elapsed=6.0, deadline=10.0)
        assert isinstance(decision, GiveUp)
        assert decision.retry_after == 5.0

    def test_an_invalid_date_falls_back_to_backoff(self):
        decision = decide(1, 503, {"retry-after": "Fri, 31 Dec 100000 23:59:59 GMT"})
        assert decision == Retry(wait=0.5, reason="status 503")


class TestEndpointUrl:
    def test_databricks_invocations_url_names_the_endpoint(self):
        url = endpoint_url(
            target=Target(name="databricks-gpt-oss-20b"),
            host="https://h.example/",
            base_url=None,
        )
        assert (
            str(url)
            == "https://h.example/serving-endpoints/databricks-gpt-oss-20b/invocations"
        )

    def test_openai_style_base_url_appends_chat_completions(self):
        url = endpoint_url(
            target=Target(name="m"),
            host=None,
            base_url="https://h.example/serving-endpoints",
        )
        assert str(url) == "https://h.example/serving-endpoints/chat/completions"

    def test_anthropic_wire_uses_the_messages_route(self):
        url = endpoint_url(
            target=Target(name="databricks-claude-opus-4-5", wire="anthropic"),
            host="https://h.example",
            base_url=None,
        )
        assert str(url) == "https://h.example/serving-endpoints/anthropic/v1/messages"

    def test_endpoint_names_cannot_escape_their_path_segment(self):
        url = endpoint_url(
            target=Target(name="../../api/2.0/x?y"),
            host="https://h",
            base_url=None,
        )
        assert url.path.startswith("/serving-endpoints/")
        assert url.query == b""
        assert url.raw_path.count(b"/") == 3


class TestBuildRequest:
    def test_body_is_canonical_json_and_identical_across_attempts(self):
        url = httpx.URL("https://h/x")
        timeout = httpx.Timeout(5.0)
        first = build_request(
            {"b": 1, "a": "é"}, url=url, stream=False, attempt=1, timeout=timeout
        )
        second = build_request(
            {"b": 1, "a": "é"}, url=url, stream=False, attempt=2, timeout=timeout
        )
        assert first.content == second.content == '{"a":"é","b":1}'.encode()
        assert first.headers["x-convo-retry-count"] == "0"
        assert second.headers["x-convo-retry-count"] == "1"

    def test_streaming_requests_ask_for_sse_and_set_stream(self):
        request = build_request(
            {"messages": []},
            url=httpx.URL("https://h/x"),
            stream=True,
            attempt=1,
            timeout=httpx.Timeout(1.0),
        )
        assert request.headers["accept"] == "text/event-stream"
        assert json.loads(request.content)["stream"] is True


class TestRetryDecisionLaws:
    @given(
        attempt=st.integers(min_value=1, max_value=10),
        status=st.one_of(st.none(), st.integers(min_value=100, max_value=599)),
        hint=st.one_of(st.none(), st.floats(min_value=-5, max_value=500)),
        elapsed=st.floats(min_value=0, max_value=100),
        deadline=st.one_of(st.none(), st.floats(min_value=0.1, max_value=100)),
        jitter=st.floats(min_value=0, max_value=0.999),
    )
    def test_never_retries_past_the_budget_the_cap_or_the_deadline(
        self, attempt, status, hint, elapsed, deadline, jitter
    ):
        """A retry is at most max_retries deep, waits a positive time no longer
        than max(max_retry_after-capped hint, max_delay), and ends before the deadline."""
        headers = {} if hint is None else {"retry-after": repr(hint)}
        decision = retry_decision(
            attempt,
            status,
            headers,
            elapsed,
            CONFIG,
            now=NOW,
            random=lambda: jitter,
            deadline=deadline,
        )
        if isinstance(decision, Retry):
            assert attempt <= CONFIG.max_retries
            assert 0 < decision.wait <= max(CONFIG.max_retry_after, CONFIG.max_delay)
            assert deadline is None or elapsed + decision.wait < deadline
            assert status is None or status in (408, 409, 429) or status >= 500
