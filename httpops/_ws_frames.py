"""Incoming frames: our own loop over websocket-client's frame buffer, limits checked early.

Runs on the session's reader thread (``httpops-ws-<id>``). websocket-client
is still used for the bytes -- its ``frame_buffer`` reads headers, lengths
and payloads through our read hook -- but not for the rules, because its own
``recv_frame``/``continuous_frame`` break three promises:

* fragments are joined with ``+=`` (quadratic: 1 KiB fragments of a 16 MiB
  message cost tens of CPU-seconds), and the size limit is only met after the
  join, so 1-byte fragments never reach it. :class:`Reassembler` keeps the
  parts in a list, joins once, and checks the size and the count of
  fragments (``ws_max_fragments``) as each one arrives;
* an invalid close frame raises a generic protocol error, so no close frame
  with the right code (RFC 6455 section 7.4.1: 1002 for a bad code, 1007 for
  a reason that is not UTF-8) could be sent. :func:`parse_close` says which;
* a frame's announced length is checked against the message limit before
  its payload is read (no 1 TiB allocation because a header says so).

Every violation raises :class:`~httpops._ws_connect.ProtocolFault` carrying
the close code to send and the error to report.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from ._errors import BodyTooLarge, TransportError
from ._ws_connect import (
    OPCODE_BINARY,
    OPCODE_CLOSE,
    OPCODE_CONT,
    OPCODE_PING,
    OPCODE_PONG,
    OPCODE_TEXT,
    ProtocolFault,
    too_large,
)

__all__ = ["Frame", "Reassembler", "parse_close", "read_frame"]

_KNOWN_OPCODES = frozenset(
    {OPCODE_CONT, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG}
)
#: Largest payload of a control frame (RFC 6455 section 5.5).
_MAX_CONTROL = 125
#: Close codes a peer may send (RFC 6455 section 7.4 and the IANA registry); 3000-4999 too.
_VALID_CLOSE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


class Frame(NamedTuple):
    """One frame as received (payload unmasked)."""

    fin: bool
    opcode: int
    data: bytes


def _fault(code: int, url: str, detail: str) -> ProtocolFault:
    return ProtocolFault(code, TransportError("WS", url, f"protocol error: {detail}"))


def read_frame(buffer: Any, url: str, limit: int) -> Frame:
    """Read one frame from websocket-client's ``frame_buffer``, validating its header.

    Args:
        buffer: The connection's ``frame_buffer`` (its ``recv`` is our read hook).
        url: For error messages.
        limit: Largest data payload accepted (``ws_max_message_bytes``).

    Raises:
        ProtocolFault: Reserved bits, an unknown opcode, a fragmented or long
            control frame, a masked frame (1002), or a payload over ``limit`` (1009).
    """
    buffer.recv_header()
    fin, rsv1, rsv2, rsv3, opcode, has_mask, _ = buffer.header
    buffer.recv_length()
    length: int = buffer.length
    if rsv1 or rsv2 or rsv3:
        raise _fault(1002, url, "reserved bits set without an extension")
    if opcode not in _KNOWN_OPCODES:
        raise _fault(1002, url, f"unknown opcode {opcode:#x}")
    if opcode >= OPCODE_CLOSE:
        if not fin or length > _MAX_CONTROL:
            raise _fault(1002, url, f"control frame {opcode:#x} fragmented or over 125 bytes")
    elif length > limit:
        raise ProtocolFault(1009, too_large(url, length, limit))
    if has_mask:
        raise _fault(1002, url, "masked frame from the server")
    data: bytes = buffer.recv_strict(length) if length else b""
    buffer.clear()
    return Frame(bool(fin), opcode, data)


class Reassembler:
    """Joins the frames of one message in linear time, within both limits.

    Args:
        url: For error messages.
        max_bytes: Largest message (``ws_max_message_bytes``).
        max_fragments: Most frames in one message (``ws_max_fragments``).
    """

    def __init__(self, url: str, max_bytes: int, max_fragments: int) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.max_fragments = max_fragments
        self._opcode: int | None = None  # of the message being assembled
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, frame: Frame) -> tuple[int, bytes] | None:
        """Take a data frame; the whole ``(opcode, payload)`` once its last frame came.

        Raises:
            ProtocolFault: A continuation without a message, a new message
                inside a fragmented one (1002), too many bytes or fragments (1009).

        Thread-safety: the reader thread only.
        """
        if frame.opcode == OPCODE_CONT:
            if self._opcode is None:
                raise _fault(1002, self.url, "continuation frame without a message to continue")
        else:
            if self._opcode is not None:
                raise _fault(1002, self.url, "new message inside a fragmented one")
            if frame.fin:
                return frame.opcode, frame.data  # the common case: one frame, nothing to join
            self._opcode = frame.opcode
        self._size += len(frame.data)
        if self._size > self.max_bytes:
            raise ProtocolFault(1009, too_large(self.url, self._size, self.max_bytes))
        self._parts.append(frame.data)
        if len(self._parts) > self.max_fragments:
            detail = f"message of more than {self.max_fragments} fragments exceeds the limit"
            raise ProtocolFault(1009, BodyTooLarge("WS", self.url, detail))
        if not frame.fin:
            return None
        opcode, data = self._opcode, b"".join(self._parts)
        self._opcode, self._parts, self._size = None, [], 0
        return opcode, data


def parse_close(data: bytes, url: str) -> tuple[int, str]:
    """Code and reason of a received close frame (1005 when it carries none).

    Raises:
        ProtocolFault: A 1-byte payload or a code no peer may send (1002);
            a reason that is not UTF-8 (1007).
    """
    if not data:
        return 1005, ""
    if len(data) == 1:
        raise _fault(1002, url, "close frame with a 1-byte payload")
    code: int = struct.unpack("!H", data[:2])[0]
    if code not in _VALID_CLOSE and not 3000 <= code <= 4999:
        raise _fault(1002, url, f"invalid close code {code}")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise _fault(1007, url, "close reason is not valid UTF-8") from None
    return code, reason
