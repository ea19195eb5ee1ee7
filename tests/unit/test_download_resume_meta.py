"""Resume metadata, Content-Range parsing, validators, hashes and image sniffing (pure)."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest

from httpops import Headers
from httpops._image_cache import ImageStore, TempImage, cache_key, sniff
from httpops._resume import (
    Hashes,
    ResumeInfo,
    load_resume,
    parse_content_range,
    save_resume,
    validator_of,
)
from httpops._safe_files import SafeDir

URL = "http://127.0.0.1:9/file"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes 100-199/200", (100, 199, 200)),
        ("bytes 0-0/1", (0, 0, 1)),
        ("BYTES 5-9/*", (5, 9, None)),
        ("bytes 100-99/200", None),  # last before first
        ("bytes 100-200/200", None),  # last past the end
        ("bytes */200", None),  # the 416 form
        ("items 0-1/2", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_content_range(value: str | None, expected: object) -> None:
    assert parse_content_range(value) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"ETag": '"abc"', "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"}, '"abc"'),
        ({"ETag": 'W/"weak"', "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"},
         "Wed, 21 Oct 2015 07:28:00 GMT"),
        ({"ETag": 'W/"weak"'}, None),  # a weak ETag cannot be used with If-Range
        ({}, None),
    ],
)  # fmt: skip
def test_validator_prefers_a_strong_etag(headers: dict[str, str], expected: str | None) -> None:
    assert validator_of(Headers(headers)) == expected


def test_resume_metadata_round_trips_and_checks_what_it_belongs_to(tmp_path: Path) -> None:
    part, meta = tmp_path / ".a.httpops-part", tmp_path / ".a.httpops-part.json"
    part.write_bytes(b"x" * 10)
    with SafeDir.open(str(tmp_path)) as folder:
        pn, mn = part.name, meta.name
        save_resume(folder, mn, ResumeInfo(URL, '"v1"', 100))
        assert load_resume(folder, mn, pn, URL) == (ResumeInfo(URL, '"v1"', 100), 10)
        assert load_resume(folder, mn, pn, URL + "?other") is None  # another URL's bytes
        part.write_bytes(b"x" * 100)
        assert load_resume(folder, mn, pn, URL) is None  # nothing left to fetch
        part.write_bytes(b"")
        assert load_resume(folder, mn, pn, URL) is None
        meta.write_text("{not json")
        assert load_resume(folder, mn, pn, URL) is None
        meta.write_text(json.dumps({"format": 1, "url": URL, "validator": "", "total": 5}))
        assert load_resume(folder, mn, pn, URL) is None
        assert load_resume(folder, "missing.json", pn, URL) is None


def test_hashes_of_a_prefix_match_hashing_as_chunks_arrive(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    path = tmp_path / "f"
    path.write_bytes(data)
    streamed = Hashes(want_sha256=True)
    for i in range(0, len(data), 4096):
        streamed.update(data[i : i + 4096])
    assert streamed.crc_hex == f"{zlib.crc32(data):08x}"
    assert streamed.sha_hex() == hashlib.sha256(data).hexdigest()
    with path.open("rb") as f:
        prefix = Hashes.of_prefix(f, 1000, want_sha256=True)
    assert prefix.length == 1000 and prefix.crc_hex == f"{zlib.crc32(data[:1000]):08x}"
    assert prefix.sha_hex() == hashlib.sha256(data[:1000]).hexdigest()
    prefix.update(data[1000:])
    assert prefix.sha_hex() == hashlib.sha256(data).hexdigest()
    assert Hashes(want_sha256=False).sha_hex() is None
    with pytest.raises(OSError), path.open("rb") as f:
        Hashes.of_prefix(f, len(data) + 1, want_sha256=False)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "jpg"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00", "gif"),
        (b"GIF87a\x01\x00\x01\x00\x80\x00", "gif"),
        (b"RIFF\x24\x00\x00\x00WEBP", "webp"),
        (b"BM\x36\x00\x00\x00\x00\x00\x00\x00", "bmp"),
        (b"RIFF\x24\x00\x00\x00WAVE", None),
        (b"<html>error</html>", None),
        (b"<!DOCTYPE html>", None),
        (b"", None),
        (b"BM", None),
    ],
)
def test_sniff_recognises_image_signatures(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_image_store_round_trips_and_rejects_damaged_entries(tmp_path: Path) -> None:
    store, key = ImageStore(str(tmp_path / "cache")), cache_key(URL)

    def temp_with(data: bytes) -> TempImage:
        temp = store.new_temp()
        temp.file.write(data)
        temp.file.close()
        return temp

    temp = temp_with(b"GIF89a-data")
    entry = store.save(key, URL, temp, "gif", '"e"', None, "01234567", 11)
    temp.close()
    assert store.load(key, URL) == entry
    assert entry.path.endswith(".gif") and Path(entry.path).read_bytes() == b"GIF89a-data"
    assert store.load(key, URL + "/other") is None
    assert store.load(cache_key(URL, {"Authorization": "alice"}), URL) is None
    # The image changed type: the old file goes, the new one is recorded.
    temp = temp_with(b"\x89PNG....")
    png = store.save(key, URL, temp, "png", None, "Wed, 21 Oct 2015 07:28:00 GMT", "89abcdef", 8)
    temp.close()
    assert store.load(key, URL) == png and not Path(entry.path).exists()
    assert store.read(png) == b"\x89PNG...."
    Path(png.path).write_bytes(b"short")  # wrong size: treated as absent
    assert store.load(key, URL) is None
    store.forget(key, URL)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []


def test_image_cache_key_depends_on_per_call_headers_only_when_given() -> None:
    assert cache_key(URL) == cache_key(URL, {}) == hashlib.sha256(URL.encode()).hexdigest()
    alice, bob = (
        cache_key(URL, {"Authorization": "alice"}),
        cache_key(URL, {"Authorization": "bob"}),
    )
    assert len({cache_key(URL), alice, bob}) == 3
    assert cache_key(URL, {"authorization": "alice"}) == alice  # names are case-insensitive
