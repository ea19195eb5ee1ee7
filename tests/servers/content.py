"""Deterministic bodies shared by the test servers and the tests that check what they got."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator

PERIOD = 251  # prime, so the pattern never lines up with power-of-two chunk or buffer sizes
CHUNK = 64 * 1024

_PATTERN = bytes(range(PERIOD))
# One chunk plus a full period: the bytes at any offset are a zero-copy slice of this block.
_BLOCK = memoryview(_PATTERN * (CHUNK // PERIOD + 2))


def iter_content(start: int, end: int, chunk: int = CHUNK) -> Iterator[memoryview]:
    """Yield bytes ``start..end`` (end exclusive) of the pattern, ``chunk`` bytes at a time."""
    chunk = max(1, min(chunk, CHUNK))
    pos = start
    while pos < end:
        size = min(chunk, end - pos)
        offset = pos % PERIOD
        yield _BLOCK[offset : offset + size]
        pos += size


def content_for(n: int, start: int = 0) -> bytes:
    """Bytes ``start..n`` of ``bytes(i % 251 for i in range(n))``, built without a Python loop."""
    return b"".join(iter_content(start, n))


def content_sha256(n: int) -> str:
    """Hex sha256 of ``content_for(n)`` without holding it all in memory."""
    digest = hashlib.sha256()
    for piece in iter_content(0, n):
        digest.update(piece)
    return digest.hexdigest()


def content_crc32(n: int) -> int:
    """zlib.crc32 of ``content_for(n)`` without holding it all in memory."""
    crc = 0
    for piece in iter_content(0, n):
        crc = zlib.crc32(piece, crc)
    return crc


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def make_png(width: int = 2, height: int = 2) -> bytes:
    """A real RGB PNG filled with red (IHDR, one zlib IDAT, IEND)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))  # filter 0
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def make_jpeg() -> bytes:
    """A decodable 8x8 mid-grey baseline JPEG: one block whose DC and AC terms are all zero."""
    one_code = bytes([1] + [0] * 15)  # Huffman table with a single 1-bit code ("0")
    return (
        b"\xff\xd8"  # SOI
        + _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)  # quant table 0, all ones
        + _jpeg_segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")  # SOF0 grey
        + _jpeg_segment(0xC4, b"\x00" + one_code + b"\x00")  # DC table 0: category 0
        + _jpeg_segment(0xC4, b"\x10" + one_code + b"\x00")  # AC table 0: end-of-block
        + _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")  # SOS: component 1, tables 0/0
        + b"\x3f"  # bits "0" (DC diff 0) + "0" (EOB), padded with ones
        + b"\xff\xd9"  # EOI
    )


# The classic 1x1 transparent GIF89a.
GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
