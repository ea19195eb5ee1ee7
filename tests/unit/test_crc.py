"""The download checksum: ISA-L's CRC32 (the fast extra) must agree with zlib's."""

from __future__ import annotations

import importlib.util
import os
import zlib

from hypothesis import given
from hypothesis import strategies as st

from httpops import _crc
from httpops._resume import Hashes


def test_isal_is_used_where_the_fast_extra_is_installed() -> None:
    installed = importlib.util.find_spec("isal") is not None
    assert (_crc.crc32 is not zlib.crc32) is installed


@given(st.binary(max_size=4096), st.integers(min_value=0, max_value=4096))
def test_the_crc_of_pieces_is_zlibs_crc_of_the_whole(data: bytes, split: int) -> None:
    head, tail = data[:split], data[split:]
    chained = _crc.crc32(memoryview(tail), _crc.crc32(bytearray(head), 0))
    assert chained == zlib.crc32(data)


def test_a_download_sized_buffer_hashes_as_with_zlib() -> None:
    block = os.urandom(1024 * 1024 + 7)  # the sink writes ~1 MiB buffers
    hashes = Hashes(want_sha256=False)
    hashes.update(bytearray(block))
    hashes.update(block[:4099])
    assert hashes.crc_hex == f"{zlib.crc32(block[:4099], zlib.crc32(block)) & 0xFFFFFFFF:08x}"
