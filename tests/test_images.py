"""Image dimensions from headers, for the R18 pixel limits."""

from __future__ import annotations

import struct

import pytest

from convo._images import image_size


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\x00" * 4


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = (
        b"\xff\xc0" + struct.pack(">HBHH", 11, 8, height, width) + b"\x01\x01\x11\x00"
    )
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp(kind: bytes, payload: bytes) -> bytes:
    chunk = kind + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


class TestImageSize:
    def test_reads_a_png_header(self):
        assert image_size(png(640, 480)) == (640, 480)

    def test_reads_a_gif_header(self):
        assert image_size(b"GIF89a" + struct.pack("<HH", 320, 200) + b"\x00") == (
            320,
            200,
        )

    def test_reads_a_jpeg_start_of_frame_after_other_segments(self):
        assert image_size(jpeg(8001, 600)) == (8001, 600)

    def test_reads_the_three_webp_variants(self):
        vp8x = b"\x00" * 4 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little")
        assert image_size(webp(b"VP8X", vp8x)) == (100, 50)
        vp8 = b"\x00" * 6 + struct.pack("<HH", 300, 150)
        assert image_size(webp(b"VP8 ", vp8)) == (300, 150)
        bits = (299) | (149 << 14)
        assert image_size(webp(b"VP8L", b"\x2f" + bits.to_bytes(4, "little"))) == (
            300,
            150,
        )

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\x89PNG",
            b"GIF89a\x01",
            b"\xff\xd8\xff\xe0\x00",
            b"not an image at all",
        ],
        ids=["empty", "short-png", "short-gif", "cut-jpeg", "unknown"],
    )
    def test_unreadable_headers_give_none(self, data: bytes):
        assert image_size(data) is None
