"""Body sources (issue 11 item 2): multipart encoding, file bodies, checks at the call."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from requests_toolbelt.multipart.decoder import MultipartDecoder

import httpops
from httpops._body import BodySource, encode_body, file_body, multipart


def _drain(source: BodySource, block: int = 7) -> bytes:
    out = []
    while True:
        piece = source.read(block)
        if not piece:
            return b"".join(out)
        assert len(piece) <= block
        out.append(piece)


def test_multipart_is_what_an_independent_decoder_reads(tmp_path: Path) -> None:
    report = tmp_path / "crash.bin"
    report.write_bytes(os.urandom(3000) + b"\r\n--not-a-boundary\r\n")
    source = multipart(
        {"user": "ann", "n": 3, "tags": ["a", "b"], "raw": b"\x00\xff"},
        {
            "report": report,
            "log": b"line\r\n",
            "shot": ("shot.png", b"\x89PNG", "image/png"),
            "note": ('n\u00e9"e.txt', "text content"),
        },
    )
    body = _drain(source)
    assert len(body) == source.length == len(source)
    assert source.content_type is not None
    decoded = MultipartDecoder(body, source.content_type).parts
    by_name = {}
    for part in decoded:
        disposition = part.headers[b"Content-Disposition"].decode("utf-8")
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        by_name.setdefault(name, []).append((disposition, part))
    assert [p.content for _, p in by_name["tags"]] == [b"a", b"b"]
    assert by_name["user"][0][1].content == b"ann" and by_name["n"][0][1].content == b"3"
    assert by_name["raw"][0][1].content == b"\x00\xff"
    disposition, part = by_name["report"][0]
    assert part.content == report.read_bytes() and 'filename="crash.bin"' in disposition
    assert part.headers[b"Content-Type"] == b"application/octet-stream"
    assert by_name["log"][0][1].content == b"line\r\n"
    assert by_name["shot"][0][1].headers[b"Content-Type"] == b"image/png"
    disposition, part = by_name["note"][0]
    assert 'filename="n\u00e9%22e.txt"' in disposition and part.content == b"text content"


def test_rewind_reads_the_same_bytes_again(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(1000))
    source = multipart({"a": "1"}, {"f": path})
    first = _drain(source, 13)
    source.read(5)  # half-way through a second attempt
    source.rewind()
    assert source.position == 0
    assert _drain(source, 64) == first
    source.close()


def test_file_object_body_starts_at_its_position_and_is_not_closed() -> None:
    handle = io.BytesIO(b"headerPAYLOAD")
    handle.seek(6)
    source = file_body(handle)
    assert source.length == 7
    assert _drain(source, 3) == b"PAYLOAD"
    source.rewind()
    assert source.read(100) == b"PAYLOAD"
    source.close()
    assert not handle.closed


def test_a_file_that_shrinks_fails_instead_of_sending_short(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    source = file_body(path)
    path.write_bytes(b"x" * 10)
    with pytest.raises(OSError, match="ended after 10 of 100"):
        _drain(source)
    source.close()


def test_encode_body_kinds(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"abc")
    assert encode_body("POST", {"a": 1}) == (b'{"a":1}', "application/json")
    assert encode_body("POST", "a=1") == (b"a=1", "application/x-www-form-urlencoded")
    assert encode_body("PUT", None) == (b"", None)
    assert encode_body("DELETE", None) == (None, None)
    body, kind = encode_body("PUT", path)
    assert isinstance(body, BodySource) and body.length == 3 and kind is None
    body, kind = encode_body("POST", {"a": "1"}, files={"f": b"x"})
    assert isinstance(body, BodySource) and kind is not None
    assert kind.startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize(
    ("data", "files", "match"),
    [
        (None, {"": b"x"}, "non-empty"),
        (None, {'a"b': b"x"}, "quotes"),
        (None, {"a\r\nX-Evil: 1": b"x"}, "CR"),
        ({"bad\nname": "v"}, {"f": b"x"}, "CR"),
        ({"ok": object()}, {"f": b"x"}, "values must be"),
        ("a=1", {"f": b"x"}, "dict of form fields"),
        (None, {"f": "report.txt"}, "ambiguous"),
        (None, {"f": ("name",)}, "filename, data"),
        (None, {"f": ("name", b"x", "text/plain\r\nX: y")}, "one-line"),
        (None, ["f"], "files must be a dict"),
    ],
)
def test_bad_forms_are_rejected_at_the_call(
    engine: httpops.Engine, data: object, files: object, match: str
) -> None:
    with pytest.raises(httpops.InvalidArgument, match=match):
        engine.post("http://127.0.0.1:1/", data, files=files)  # type: ignore[arg-type]
    assert engine.operations == {}


def test_missing_file_and_text_mode_file_rejected(engine: httpops.Engine, tmp_path: Path) -> None:
    with pytest.raises(httpops.InvalidArgument, match="cannot read"):
        engine.put("http://127.0.0.1:1/", tmp_path / "missing.dmp")
    with pytest.raises(httpops.InvalidArgument, match="cannot read"):
        engine.post("http://127.0.0.1:1/", files={"f": tmp_path / "missing.dmp"})
    with pytest.raises(httpops.InvalidArgument, match="not a regular file"):
        engine.put("http://127.0.0.1:1/", tmp_path)
    text = tmp_path / "t.txt"
    text.write_text("hi")
    with open(text) as handle, pytest.raises(httpops.InvalidArgument, match="binary"):
        engine.put("http://127.0.0.1:1/", handle)
    with open(text, "rb") as handle:
        pass
    with pytest.raises(httpops.InvalidArgument, match="closed"):
        engine.put("http://127.0.0.1:1/", handle)
    with pytest.raises(httpops.InvalidArgument, match="data must be"):
        engine.put("http://127.0.0.1:1/", 12)
    assert engine.operations == {}


def test_non_seekable_file_object_rejected(engine: httpops.Engine) -> None:
    read_end, write_end = os.pipe()
    try:
        with (
            open(read_end, "rb", buffering=0) as pipe,
            pytest.raises(httpops.InvalidArgument, match="seekable"),
        ):
            engine.put("http://127.0.0.1:1/", pipe)
    finally:
        os.close(write_end)
