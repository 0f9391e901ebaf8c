"""Resolve a client's constructor arguments into `Settings` and an auth object.

Shared by `Client` and `AsyncClient` so both accept exactly the same options.
Invariants: exactly one of a Databricks host or an OpenAI-style base URL is
used; credentials end up in one `httpx.Auth` and their strings in
`Settings.secrets` (for scrubbing), never in a repr.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import httpx

from convo.client._auth import (
    BearerToken,
    auth_secrets,
    from_environment,
    normalise_host,
)
from convo.client._call import Settings
from convo.client._core import RetryConfig, strip_query
from convo.errors import UsageError

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "describe",
    "resolve",
]

DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES: Final = 8 * 1024 * 1024
DEFAULT_MAX_EVENTS: Final = 1_000_000
DEFAULT_IDLE_TIMEOUT: Final = 120.0


def _url_secrets(url: str | None) -> tuple[str, ...]:
    if not url:
        return ()
    parsed = httpx.URL(url)
    values = [v for _, v in parsed.params.multi_items() if v]
    if parsed.query:
        values.append(parsed.query.decode("ascii", errors="replace"))
    if parsed.password:
        values.append(parsed.password)
    return tuple(values)


def resolve(
    *,
    host: str | None,
    token: str | None,
    base_url: str | None,
    auth: httpx.Auth | None,
    headers: Mapping[str, str] | None,
    retry: RetryConfig,
    timeout: float | httpx.Timeout,
    idle_timeout: float,
    deadline: float | None,
    max_response_bytes: int,
    max_line_bytes: int,
    max_events: int,
    environ: Mapping[str, str] | None,
) -> tuple[Settings, httpx.Auth]:
    """(settings, auth) from constructor arguments and the environment.

    Raises:
        UsageError: no endpoint or no credentials could be found, or both a
            host and a base URL were given.
    """
    env_host, env_auth = (None, None)
    if (host is None and base_url is None) or (token is None and auth is None):
        env_host, env_auth = from_environment(environ)
    host = _endpoint(host, base_url, env_host)
    resolved = _credentials(token, auth, env_auth)
    _check_timeouts(idle_timeout, deadline)
    extra = dict(headers or {})
    secrets = (
        *auth_secrets(resolved),
        *(v for v in extra.values() if v),
        *_url_secrets(base_url),
        *_url_secrets(host),
    )
    settings = Settings(
        host=normalise_host(host) if host is not None else None,
        base_url=base_url.rstrip("/") if base_url is not None else None,
        retry=retry,
        timeout=timeout
        if isinstance(timeout, httpx.Timeout)
        else httpx.Timeout(timeout),
        idle_timeout=idle_timeout,
        deadline=deadline,
        max_response_bytes=max_response_bytes,
        max_line_bytes=max_line_bytes,
        max_events=max_events,
        headers=extra,
        secrets=secrets,
    )
    return settings, resolved


def _endpoint(
    host: str | None, base_url: str | None, env_host: str | None
) -> str | None:
    """The host to use (None with a base URL); exactly one endpoint must be known."""
    if host is not None and base_url is not None:
        raise UsageError(
            "Pass either host (Databricks) or base_url (OpenAI style), not both",
            fix="Drop one of them.",
        )
    if host is None and base_url is None:
        host = env_host
    if host is None and base_url is None:
        raise UsageError(
            "No endpoint configured",
            fix="Pass host= (a Databricks workspace), base_url= (an "
            "OpenAI-style API), or set DATABRICKS_HOST.",
        )
    return host


def _credentials(
    token: str | None, auth: httpx.Auth | None, env_auth: httpx.Auth | None
) -> httpx.Auth:
    """The auth to use: `auth`, else a bearer `token`, else the environment's."""
    if auth is not None and token is not None:
        raise UsageError("Pass either token or auth, not both", fix="Drop one of them.")
    resolved: httpx.Auth | None = auth
    if resolved is None and token is not None:
        resolved = BearerToken(token)
    if resolved is None:
        resolved = env_auth
    if resolved is None:
        raise UsageError(
            "No credentials configured",
            fix="Pass token= or auth= (e.g. convo.client.OAuthM2M), or set "
            "DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and "
            "DATABRICKS_CLIENT_SECRET).",
        )
    return resolved


def _check_timeouts(idle_timeout: float, deadline: float | None) -> None:
    """Refuse an idle timeout or deadline that is not a positive number of seconds."""
    idle: object = idle_timeout  # checked at run time: callers are not all typed
    if not (isinstance(idle, int | float) and math.isfinite(idle) and idle > 0):
        raise UsageError(
            "idle_timeout must be a positive number of seconds",
            where="idle_timeout",
            received=idle_timeout,
            fix=f"The default is {DEFAULT_IDLE_TIMEOUT} s; raise it for models "
            "that think long before their first token.",
        )
    if deadline is not None and not (math.isfinite(deadline) and deadline > 0):
        raise UsageError(
            "deadline must be a positive number of seconds",
            where="deadline",
            received=deadline,
            fix="Pass None for no deadline.",
        )


def describe(name: str, settings: Settings, auth: httpx.Auth) -> str:
    """A repr for a client: endpoint without query, auth's own (safe) repr."""
    where = (
        f"base_url={strip_query(settings.base_url)!r}"
        if settings.base_url is not None
        else f"host={strip_query(settings.host or '')!r}"
    )
    auth_text = repr(auth) if hasattr(auth, "secrets") else f"<{type(auth).__name__}>"
    return f"{name}({where}, auth={auth_text})"
