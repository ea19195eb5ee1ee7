"""TLS peers with bad certificates: verification is on by default and never silently skipped.

Expired, issued for another host name, or self-signed: each GET, download
and WebSocket ends once with ``TLSError`` ("connection error ... TLS
failure") naming the URL and the reason, before any request byte is sent.
A control case shows the same server with a good certificate is reachable,
and ``verify=False`` (explicit, and logged) is the only way past a bad one.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

import httpops
from tests.reliability.support import Ending, assert_error, finish
from tests.servers import RawTCPServer
from tests.servers import misbehaving as mb

Start = Callable[..., RawTCPServer]
LIMIT = 2.5  # the handshake fails at once; this is scheduling slack


def _context(which: str, ca: trustme.CA, tmp_path: Path) -> ssl.SSLContext:
    if which == "expired":
        return mb.expired_cert(ca)
    if which == "wrong-host":
        return mb.wrong_host_cert(ca)
    return mb.self_signed_cert(tmp_path)


# What the detail names, as OpenSSL words it.
REASON = {
    "expired": "expired",
    "wrong-host": "mismatch",
    "self-signed": "self-signed",
}


@pytest.mark.parametrize("kind", ["get", "download"])
@pytest.mark.parametrize("which", sorted(REASON))
def test_bad_certificate_fails_http_once(
    which: str,
    kind: str,
    raw: Start,
    ca: trustme.CA,
    ca_bundle: str,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    tmp_path: Path,
) -> None:
    seen: list[bytes] = []
    server = raw(mb.tls(_context(which, ca, tmp_path), mb.recording_ok(seen)))
    # The self-signed case uses the default trust store: nobody trusts that certificate.
    verify: bool | str = True if which == "self-signed" else ca_bundle
    engine = make_engine(fast_config(verify=verify))
    url = f"https://127.0.0.1:{server.port}/secret"
    ending = Ending()
    if kind == "get":
        op = engine.get(url, ending, headers={"Authorization": "Bearer nope"})
    else:
        op = engine.download(url, "secret.bin", ending)
    finish(engine, op, ending, limit=LIMIT)
    assert_error(op, "connection error", "TLS failure", REASON[which])
    assert isinstance(op.error, httpops.TLSError)
    assert seen == []  # not one request byte reached the impostor
    assert not (tmp_path / "downloads" / "secret.bin").exists()


@pytest.mark.parametrize("which", sorted(REASON))
def test_bad_certificate_fails_websocket_once(
    which: str,
    raw: Start,
    ca: trustme.CA,
    ca_bundle: str,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    tmp_path: Path,
) -> None:
    server = raw(mb.tls(_context(which, ca, tmp_path), mb.ws_mute))
    verify: bool | str = True if which == "self-signed" else ca_bundle
    engine = make_engine(fast_config(verify=verify))
    errors: list[httpops.OperationError] = []
    ending = Ending()  # on_close: the socket's one completion
    ws = engine.websocket(
        f"wss://127.0.0.1:{server.port}/socket",
        on_error=lambda ws, err: errors.append(err),
        on_close=ending,
        on_open=lambda ws, again: pytest.fail("opened despite a bad certificate"),
    )
    finish(engine, ws.operation, ending, limit=LIMIT)
    assert len(errors) == 1
    assert_error(ws.operation, "connection error", "TLS failure", REASON[which])
    assert str(errors[0]) == str(ws.operation.error)


def test_good_certificate_is_reachable(
    raw: Start,
    ca: trustme.CA,
    ca_bundle: str,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # The control: the same server with a good certificate and a trusted private CA.
    seen: list[bytes] = []
    good = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    good.configure_cert(context)
    server = raw(mb.tls(context, mb.recording_ok(seen, b"trusted")))
    engine = make_engine(fast_config(verify=ca_bundle))
    op = engine.get(f"https://127.0.0.1:{server.port}/ok")
    assert op.result(timeout=LIMIT).content == b"trusted"
    assert len(seen) == 1


def test_verify_false_is_explicit_and_logged(
    raw: Start,
    ca: trustme.CA,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[bytes] = []
    server = raw(mb.tls(mb.expired_cert(ca), mb.recording_ok(seen, b"insecure")))
    with caplog.at_level(logging.WARNING, logger="httpops"):
        engine = make_engine(fast_config(verify=False))
    assert "TLS certificate verification is DISABLED" in caplog.text
    op = engine.get(f"https://127.0.0.1:{server.port}/anyway")
    assert op.result(timeout=LIMIT).content == b"insecure"


def test_https_to_http_redirect_drops_authorization(
    raw: Start,
    ca: trustme.CA,
    ca_bundle: str,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # Followed (as browsers do), but the credentials meant for the TLS origin stay behind.
    seen: list[bytes] = []
    plain = raw(mb.recording_ok(seen, b"in clear text"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    secure = raw(mb.tls(context, mb.redirect_to(f"http://127.0.0.1:{plain.port}/landing")))
    engine = make_engine(fast_config(verify=ca_bundle))
    ending = Ending()
    op = engine.get(
        f"https://127.0.0.1:{secure.port}/login", ending, headers={"Authorization": "Bearer s3"}
    )
    finish(engine, op, ending, limit=LIMIT)
    assert op.state is httpops.State.DONE, op.error
    assert op.value.url == f"http://127.0.0.1:{plain.port}/landing"
    assert len(seen) == 1 and b"s3" not in seen[0] and b"authorization" not in seen[0].lower()
