"""Reasoning signatures: HMAC-SHA256 over (model family, reasoning text) under the endpoint's secret.

Invariant: a signature verifies only for the exact text, the same family and the
same secret that made it, so a replayed block that was altered, produced by another
family or by another endpoint is refused, as the real service refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from convo._check import expect_instance, expect_text

__all__ = ["sign", "sign_bound", "verify", "verify_bound"]

_DOMAIN = b"convo-fake-reasoning-v1"


def _utf8(text: str) -> bytes:
    """`text` as UTF-8, a lone surrogate kept (the fake signs what it is sent)."""
    return text.encode("utf-8", "surrogatepass")


def sign(secret: bytes, family: str, text: str) -> str:
    """The base64 signature of `text` made by a model of `family`.

    Raises:
        UsageError: `secret` is not bytes, or `family` or `text` not a str.
    """
    expect_instance(secret, bytes, "secret", fix="Pass the endpoint's secret as bytes.")
    expect_text(family, "family", fix="Pass a model family, e.g. 'claude'.")
    expect_text(text, "text")
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in (_DOMAIN, _utf8(family), _utf8(text)):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify(secret: bytes, family: str, text: str, signature: str) -> bool:
    """Whether `signature` was made by `sign(secret, family, text)`.

    Raises:
        UsageError: an argument has the wrong type (see `sign`).
    """
    expected = sign(secret, family, text)
    given = expect_text(signature, "signature", fix="Pass the block's signature.")
    return hmac.compare_digest(expected.encode(), _utf8(given))


def sign_bound(secret: bytes, family: str, text: str, prefix: str) -> str:
    """A signature binding `text` to the prefix digest it was generated after (R5).

    Two parts joined by a dot: the text signature (as `sign`), then one over text
    and prefix, so a verifier tells an altered block from a changed prefix.
    """
    return f"{sign(secret, family, text)}.{sign(secret, family + '/prefix', prefix + chr(0) + text)}"


def verify_bound(
    secret: bytes, family: str, text: str, prefix: str, signature: str
) -> bool:
    """Whether a `sign_bound` signature's prefix part matches `prefix`."""
    return hmac.compare_digest(sign_bound(secret, family, text, prefix), signature)
