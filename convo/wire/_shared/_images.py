"""Image limits of a target (rule R18), checked the same way on every route.

- a target that takes no images refuses every image;
- Claude takes images only from the user (and in tool results), never in an
  assistant message;
- at most `max_images` per request; beyond 20 images in one request each side
  is at most 2000 px (Anthropic's documented many-image limit);
- each image at most `max_base64_bytes` once base64-encoded
  (`base64_size(n) = 4 * ceil(n / 3)`), and at most `max_side_px` per side.
"""

from __future__ import annotations

from collections.abc import Sequence

from convo._blocks import ImageBlock
from convo._images import image_size
from convo._targets import Target
from convo.wire._shared._reject import reject

__all__ = ["MANY_IMAGES", "MANY_IMAGES_MAX_SIDE", "base64_size", "check_images"]

MANY_IMAGES = 20
"""Above this many images in one request, the smaller side limit applies."""
MANY_IMAGES_MAX_SIDE = 2000
"""The side limit (px) when a request holds more than `MANY_IMAGES` images."""


def base64_size(raw_bytes: int) -> int:
    """The length of `raw_bytes` bytes once base64-encoded (with padding)."""
    return 4 * ((raw_bytes + 2) // 3)


def _takes_user_images_only(target: Target) -> bool:
    return target.family == "claude" or target.provider == "anthropic"


def check_images(target: Target, images: Sequence[tuple[str, ImageBlock, str]]) -> None:
    """Refuse images `target` would reject; `images` are (path, image, role sent in).

    Raises:
        RequestRejectedError: images on a target that takes none, or in an
            assistant message to Claude (R18).
        PayloadTooLargeError: too many images, or one over a size limit (R18).
    """
    if not images:
        return
    limits = target.images
    if not limits.supported:
        raise reject(
            "This target takes no images",
            rule="R18",
            target=target,
            path=images[0][0],
            fix="Use a vision-capable target or drop the image.",
        )
    for where, _image, place in images:
        if place == "assistant" and _takes_user_images_only(target):
            raise reject(
                "Claude takes images only from the user, not in assistant messages",
                rule="R18",
                target=target,
                path=where,
                fix="Move the image to a user turn.",
            )
    if len(images) > limits.max_images:
        raise reject(
            f"At most {limits.max_images} images per request",
            rule="R18",
            target=target,
            path=images[limits.max_images][0],
            received=len(images),
            fix="Send fewer images (drop older ones).",
            too_large=True,
        )
    max_side = limits.max_side_px
    if len(images) > MANY_IMAGES:
        max_side = min(max_side, MANY_IMAGES_MAX_SIDE)
    for where, image, _place in images:
        encoded = base64_size(len(image.data))
        if encoded > limits.max_base64_bytes:
            raise reject(
                f"An image is {encoded} bytes as base64, over "
                f"{limits.max_base64_bytes}",
                rule="R18",
                target=target,
                path=where,
                received=f"<{len(image.data)} bytes>",
                fix="Downscale or recompress the image.",
                too_large=True,
            )
        size = image_size(image.data)
        if size is not None and max(size) > max_side:
            raise reject(
                f"An image is {size[0]}x{size[1]} px, over {max_side} px per side",
                rule="R18",
                target=target,
                path=where,
                fix="Downscale the image.",
                too_large=True,
            )
