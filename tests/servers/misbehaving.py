"""Peers that misbehave on purpose, as handlers for :class:`~tests.servers.raw.RawTCPServer`.

Every handler has the ``handler(conn, stop)`` shape RawTCPServer runs on one
thread per connection. Factories (``drip(...)``, ``status(...)``) return such
a handler. A handler that waits does so with :func:`pause`, which returns
early when the client hangs up or the server stops, so no server thread
outlives the client that made it misbehave: a handler ending is itself proof
that the client closed its socket.

Three families:

* HTTP -- silence, stalls, resets, lying ``Content-Length``, broken chunked
  encoding, drips, enormous headers, redirect loops and cross-host redirects,
  statuses with ``Retry-After``, hostile JSON bodies.
* TLS -- :func:`tls` wraps any handler in a server-side TLS socket;
  :func:`expired_cert`, :func:`wrong_host_cert` and :func:`self_signed_cert`
  build the bad certificates (trustme and ``cryptography``).
* WebSocket -- a garbage handshake, invalid frames, an oversized frame, an
  abrupt reset, and a peer that never answers pings.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import select
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers.raw import Handler, never_answer, read_request_head

__all__ = [
    "body_then_reset",
    "broken_chunked",
    "drip",
    "enormous_headers",
    "expired_cert",
    "filler",
    "headers_then_stall",
    "json_body",
    "length_mismatch",
    "never_answer",
    "pause",
    "recording_ok",
    "redirect_loop",
    "redirect_to",
    "self_signed_cert",
    "status",
    "tls",
    "wrong_host_cert",
    "ws_garbage_handshake",
    "ws_invalid_frame",
    "ws_mute",
    "ws_oversized_frame",
    "ws_reset",
]

# --- plumbing --------------------------------------------------------------------------------


def pause(conn: socket.socket, stop: threading.Event, seconds: float) -> bool:
    """Wait ``seconds``; False at once if the peer hung up (or sent data) or the server stops.

    Unread request bytes also end the wait: these handlers serve one request
    at a time, so data from the client means it has moved on.
    """
    if stop.is_set():
        return False
    # stop() shuts every connection down, which makes it readable: no extra wake-up needed.
    readable, _, _ = select.select([conn], [], [], seconds)
    return not readable and not stop.is_set()


def _drain(conn: socket.socket, stop: threading.Event) -> None:
    """Read until the peer closes; the handler then returns and the server closes its end."""
    while not stop.is_set() and conn.recv(65536):
        pass


def _head(
    status_line: str = "200 OK", headers: Iterable[tuple[str, str]] = (), length: int | None = 0
) -> bytes:
    lines = [f"HTTP/1.1 {status_line}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# Bodies start like a PNG file, so an image download gets past its signature check
# and meets the fault itself.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def filler(size: int, byte: bytes = b"x") -> bytes:
    """``size`` body bytes that begin with a PNG signature."""
    return (_PNG_SIGNATURE + byte * size)[:size]


def _reset(conn: socket.socket) -> None:
    """Make the coming close() send RST instead of FIN (SO_LINGER with a zero timeout)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _serve_each(respond: Callable[[bytes], bytes]) -> Handler:
    """A keep-alive handler answering every request head with ``respond(head)``."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            head = read_request_head(conn)
            if b"\r\n\r\n" not in head:
                return  # the client hung up
            conn.sendall(respond(head))

    return handler


# --- HTTP ------------------------------------------------------------------------------------


def headers_then_stall(length: int = 1000) -> Handler:
    """Send a head promising ``length`` bytes, then nothing until the client gives up."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(_head(length=length))
        _drain(conn, stop)

    return handler


def body_then_reset(total: int = 100_000, send: int = 10_000) -> Handler:
    """Send ``send`` of ``total`` promised bytes, then reset the connection (RST)."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(_head(length=total) + filler(send))
        _reset(conn)

    return handler


def length_mismatch(declared: int, actual: int) -> Handler:
    """Declare ``Content-Length: declared`` but send ``actual`` bytes.

    Shorter: the server then closes cleanly (FIN), so the body is simply cut.
    Longer: it keeps the connection and answers the next request the same way,
    so a client that reused the connection would read the surplus as a status line.
    """
    if actual < declared:

        def short(conn: socket.socket, stop: threading.Event) -> None:
            read_request_head(conn)
            conn.sendall(_head(length=declared) + filler(actual, b"s"))
            conn.shutdown(socket.SHUT_WR)
            _drain(conn, stop)

        return short
    return _serve_each(lambda head: _head(length=declared) + b"L" * actual)


def broken_chunked(conn: socket.socket, stop: threading.Event) -> None:
    """Start a chunked body, then send a chunk size that is not hexadecimal."""
    read_request_head(conn)
    conn.sendall(_head(headers=[("Transfer-Encoding", "chunked")], length=None))
    conn.sendall(b"5\r\nhello\r\nzz-not-hex\r\nmore\r\n")
    _drain(conn, stop)


def drip(total: int, interval: float, chunk: int = 1) -> Handler:
    """Send ``total`` bytes (Content-Length known), ``chunk`` at a time, ``interval`` apart."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(_head(length=total))
        sent = 0
        while sent < total:
            if not pause(conn, stop, interval):
                return
            piece = min(chunk, total - sent)
            conn.sendall(b"d" * piece)
            sent += piece
        _drain(conn, stop)

    return handler


def enormous_headers(kind: str = "line") -> Handler:
    """A head with one 1 MiB header line (``"line"``) or 10,000 small headers (``"count"``)."""
    if kind == "line":
        fields = [("X-Huge", "h" * (1024 * 1024))]
    elif kind == "count":
        fields = [(f"X-Many-{i}", "v") for i in range(10_000)]
    else:
        raise ValueError(kind)
    payload = _head(headers=fields)

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        try:
            conn.sendall(payload)
        except OSError:
            return  # the client stopped reading part-way: exactly what it should do
        _drain(conn, stop)

    return handler


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:
    """Answer every request with a 302 to a new path on the same server, forever."""
    count = 0

    def respond(head: bytes) -> bytes:
        nonlocal count
        count += 1
        return _head("302 Found", [("Location", f"/loop/{count}")])

    _serve_each(respond)(conn, stop)


def redirect_to(location: str, code: int = 302) -> Handler:
    """Answer every request with a redirect to ``location`` (another host, another scheme)."""
    return _serve_each(lambda head: _head(f"{code} Redirect", [("Location", location)]))


def recording_ok(sink: list[bytes], body: bytes = b"ok") -> Handler:
    """Append each request head to ``sink`` and answer 200 with ``body``."""

    def respond(head: bytes) -> bytes:
        sink.append(head)
        return _head(headers=[("Content-Type", "text/plain")], length=len(body)) + body

    return _serve_each(respond)


def status(
    code: int,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    sink: list[bytes] | None = None,
) -> Handler:
    """Answer every request with ``code`` (e.g. 503 with ``Retry-After``), keep-alive.

    Each request head is appended to ``sink`` when one is given (to count retries).
    """
    fields = list(headers)

    def respond(head: bytes) -> bytes:
        if sink is not None:
            sink.append(head)
        return _head(f"{code} Status", fields, len(body)) + body

    return _serve_each(respond)


def json_body(payload: bytes) -> Handler:
    """Answer every request with ``payload`` as ``application/json`` (NaN, deep nesting ...)."""
    fields = [("Content-Type", "application/json")]
    return _serve_each(lambda head: _head(headers=fields, length=len(payload)) + payload)


# --- TLS -------------------------------------------------------------------------------------


def tls(context: ssl.SSLContext, inner: Handler, handshake_timeout: float = 5.0) -> Handler:
    """Serve ``inner`` over TLS; a failed handshake (the client refused us) just ends it."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(handshake_timeout)
        # wrap_socket detaches ``conn``: from here the TLS socket owns the descriptor.
        secure = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        try:
            try:
                secure.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the expected end for a certificate the client rejects
            secure.settimeout(None)
            inner(secure, stop)
        finally:
            secure.close()

    return handler


def _leaf_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def expired_cert(ca: trustme.CA) -> ssl.SSLContext:
    """A server context whose certificate (for 127.0.0.1, signed by ``ca``) expired last year."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = ca.issue_cert(
        "127.0.0.1",
        "localhost",
        not_before=now - datetime.timedelta(days=730),
        not_after=now - datetime.timedelta(days=365),
    )
    return _leaf_context(cert)


def wrong_host_cert(ca: trustme.CA) -> ssl.SSLContext:
    """A valid certificate signed by ``ca``, but for another host name."""
    return _leaf_context(ca.issue_cert("wrong-host.invalid"))


def self_signed_cert(directory: Path) -> ssl.SSLContext:
    """A certificate for 127.0.0.1 that signs itself (no CA anyone trusts)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "httpops self-signed test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(alt, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "self-signed.pem", directory / "self-signed.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context


# --- WebSocket -------------------------------------------------------------------------------

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _ws_handshake(conn: socket.socket) -> bool:
    """Complete a valid WebSocket handshake; False if the client hung up first."""
    head = read_request_head(conn)
    key = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    if not key:
        return False
    accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode()
    conn.sendall(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
        ).encode()
    )
    return True


def ws_garbage_handshake(conn: socket.socket, stop: threading.Event) -> None:
    """Answer the upgrade request with bytes that are not an HTTP response."""
    read_request_head(conn)
    conn.sendall(b"\x00\xffTHIS IS NOT A WEBSOCKET\r\n\r\n")
    conn.shutdown(socket.SHUT_WR)
    _drain(conn, stop)


def ws_invalid_frame(conn: socket.socket, stop: threading.Event) -> None:
    """Handshake, then send a frame with a reserved opcode (0x3) and the RSV1 bit set."""
    if _ws_handshake(conn):
        conn.sendall(b"\xc3\x02hi")
        _drain(conn, stop)


def ws_oversized_frame(size: int = 1 << 40) -> Handler:
    """Handshake, then announce a binary frame of ``size`` bytes and send a few of them."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        if _ws_handshake(conn):
            conn.sendall(b"\x82\x7f" + struct.pack("!Q", size) + b"x" * 1024)
            _drain(conn, stop)

    return handler


def ws_reset(conn: socket.socket, stop: threading.Event) -> None:
    """Handshake, then reset the connection (RST) without a close frame."""
    if _ws_handshake(conn):
        _reset(conn)


def ws_mute(conn: socket.socket, stop: threading.Event) -> None:
    """Handshake, then read and ignore everything: no pong, no close frame, ever."""
    if _ws_handshake(conn):
        _drain(conn, stop)
