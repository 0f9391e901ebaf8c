"""Credentials: a bearer token, OAuth machine-to-machine, or any `httpx.Auth`.

- `BearerToken(token)` sets `Authorization: Bearer <token>`.
- `OAuthM2M(host=, client_id=, client_secret=)` fetches a token from
  `{host}/oidc/v1/token` (grant `client_credentials`, scope `all-apis`, the
  client id and secret as HTTP Basic), caches it until shortly before it
  expires, and on a 401 fetches a fresh one and replays the request once.
- `from_environment()` reads `DATABRICKS_HOST` with `DATABRICKS_TOKEN`, or
  `DATABRICKS_CLIENT_ID` / `DATABRICKS_CLIENT_SECRET`.

Invariants: no token or secret ever appears in a `repr`, a log record or an
error message; `secrets()` lists every credential string an object holds so
the client can scrub exception chains.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping

import httpx

from convo._check import expect_text
from convo.errors import AuthenticationError, UsageError, excerpt

__all__ = [
    "BearerToken",
    "OAuthM2M",
    "auth_secrets",
    "from_environment",
    "normalise_host",
]

_DEFAULT_LIFETIME = 3600.0


def normalise_host(host: str) -> str:
    """`host` with a scheme (https by default) and no trailing slash."""
    host = host.strip()
    if "://" not in host:
        host = f"https://{host}"
    return host.rstrip("/")


class BearerToken(httpx.Auth):
    """`Authorization: Bearer <token>` on every request."""

    def __init__(self, token: str) -> None:
        if not token:
            raise UsageError("The bearer token is empty", fix="Pass a non-empty token.")
        self._token = token

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header and send."""
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def secrets(self) -> tuple[str, ...]:
        """The credential strings this object holds."""
        return (self._token,)

    def __repr__(self) -> str:
        return "BearerToken(token=<hidden>)"


class OAuthM2M(httpx.Auth):
    """OAuth client credentials against a Databricks workspace (M2M).

    Args:
        host: the workspace URL.
        client_id: the service principal's application id.
        client_secret: its OAuth secret.
        scope: the requested scope.
        refresh_margin: seconds before expiry when the cached token is renewed.
        clock: a monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        *,
        host: str,
        client_id: str,
        client_secret: str,
        scope: str = "all-apis",
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        expect_text(
            host,
            "host",
            fix="Pass the workspace host, e.g. 'adb-1.azuredatabricks.net'.",
        )
        expect_text(client_id, "client_id")
        expect_text(client_secret, "client_secret")
        if not client_id or not client_secret:
            raise UsageError(
                "OAuth M2M needs a client id and a client secret",
                fix="Pass both (or set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET).",
            )
        self.token_url = f"{normalise_host(host)}/oidc/v1/token"
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._old_tokens: list[str] = []
        self.fetches = 0
        """How many tokens were fetched (for tests and diagnostics)."""

    # -------------------------------------------------------------- state

    def _cached(self) -> str | None:
        with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            return None

    def _token_request(self) -> httpx.Request:
        request = httpx.Request(
            "POST",
            self.token_url,
            data={"grant_type": "client_credentials", "scope": self.scope},
            headers={"accept": "application/json"},
        )
        basic = httpx.BasicAuth(self.client_id, self._secret)
        return next(basic.auth_flow(request))

    def _accept(self, response: httpx.Response) -> str:
        body = response.content
        try:
            parsed = json.loads(body) if body else None
        except (ValueError, RecursionError):
            parsed = None
        token = parsed.get("access_token") if isinstance(parsed, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            detail = None
            if isinstance(parsed, dict):
                raw = parsed.get("error_description") or parsed.get("error")
                detail = raw if isinstance(raw, str) else None
            raise AuthenticationError(
                f"The OAuth token endpoint answered {response.status_code}"
                + (f": {excerpt(detail)}" if detail else " without a token"),
                status_code=response.status_code,
                error_code=parsed.get("error")
                if isinstance(parsed, dict) and isinstance(parsed.get("error"), str)
                else None,
                body_excerpt="<token endpoint body withheld>",
                fix="Check the client id, the client secret and the workspace host.",
            )
        lifetime = parsed.get("expires_in") if isinstance(parsed, dict) else None
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
            else _DEFAULT_LIFETIME
        )
        margin = min(self.refresh_margin, seconds / 2)
        with self._lock:
            if self._token is not None:
                self._old_tokens = [*self._old_tokens[-7:], self._token]
            self._token = token
            self._expires_at = self._clock() + seconds - margin
            self.fetches += 1
        return token

    def _invalidate(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._expires_at = 0.0

    # -------------------------------------------------------------- flows

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Add a cached or fresh token; on a 401, refresh once and replay."""
        token = self._cached()
        if token is None:
            reply = yield self._token_request()
            reply.read()
            token = self._accept(reply)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._invalidate(token)
            reply = yield self._token_request()
            reply.read()
            request.headers["Authorization"] = f"Bearer {self._accept(reply)}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The asyncio twin of `sync_auth_flow`."""
        token = self._cached()
        if token is None:
            reply = yield self._token_request()
            await reply.aread()
            token = self._accept(reply)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._invalidate(token)
            reply = yield self._token_request()
            await reply.aread()
            request.headers["Authorization"] = f"Bearer {self._accept(reply)}"
            yield request

    def secrets(self) -> tuple[str, ...]:
        """The credential strings this object holds (secret and tokens)."""
        with self._lock:
            tokens = [t for t in (self._token, *self._old_tokens) if t]
        basic = httpx.BasicAuth(self.client_id, self._secret)
        header = next(basic.auth_flow(httpx.Request("GET", "http://x"))).headers[
            "Authorization"
        ]
        return (self._secret, header.split(" ", 1)[1], *tokens)

    def __repr__(self) -> str:
        return (
            f"OAuthM2M(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            "client_secret=<hidden>)"
        )


def auth_secrets(auth: httpx.Auth | None) -> tuple[str, ...]:
    """The secrets an auth object declares (`secrets()`), else none."""
    getter = getattr(auth, "secrets", None)
    if callable(getter):
        values = getter()
        if isinstance(values, tuple | list):
            return tuple(v for v in values if isinstance(v, str))
    return ()


def from_environment(
    environ: Mapping[str, str] | None = None,
) -> tuple[str | None, httpx.Auth | None]:
    """(host, auth) from `DATABRICKS_HOST` and a token or OAuth client credentials."""
    env = os.environ if environ is None else environ
    host = env.get("DATABRICKS_HOST") or None
    token = env.get("DATABRICKS_TOKEN")
    if token:
        return host, BearerToken(token)
    client_id = env.get("DATABRICKS_CLIENT_ID")
    secret = env.get("DATABRICKS_CLIENT_SECRET")
    if host and client_id and secret:
        return host, OAuthM2M(host=host, client_id=client_id, client_secret=secret)
    return host, None
