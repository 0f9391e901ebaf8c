"""Reasoning signatures: HMAC-SHA256 over (model family, reasoning text) under the endpoint's secret.

Invariant: a signature verifies only for the exact text, the same family and the
same secret that made it, so a replayed block that was altered, produced by another
family or by another endpoint is refused, as the real service refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["sign", "sign_bound", "verify", "verify_bound"]

_DOMAIN = b"convo-fake-reasoning-v1"


def sign(secret: bytes, family: str, text: str) -> str:
    """The base64 signature of `text` made by a model of `family`."""
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    for part in (_DOMAIN, family.encode(), text.encode("utf-8", "surrogatepass")):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify(secret: bytes, family: str, text: str, signature: str) -> bool:
    """Whether `signature` was made by `sign(secret, family, text)`."""
    return hmac.compare_digest(sign(secret, family, text), signature)


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
