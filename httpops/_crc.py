"""CRC32, the checksum OTClient reports for every download: ISA-L's when installed.

``isal.isal_zlib.crc32`` (the ``fast`` extra) gives the same values as
``zlib.crc32`` at a dozen times the speed (53 GB/s against 3.9 GB/s on the
benchmark machine, warm 1 MiB buffers): on a large download the checksum
was the one cost ``curl -o`` does not have. Without it, zlib's.
"""

from __future__ import annotations

import zlib
from typing import Protocol

__all__ = ["crc32"]


class _Crc32(Protocol):
    def __call__(self, data: bytes | bytearray | memoryview, value: int = 0, /) -> int: ...


crc32: _Crc32
try:
    from isal.isal_zlib import crc32
except ImportError:  # the fast extra is not installed
    crc32 = zlib.crc32
