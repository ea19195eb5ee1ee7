"""Real servers on 127.0.0.1 for the integration tests (stdlib, trustme and websockets only)."""

from tests.servers.content import content_crc32, content_for, content_sha256, iter_content
from tests.servers.http_server import HTTPTestServer, RecordedRequest
from tests.servers.raw import RawTCPServer, close_immediately, garbage_response, never_answer
from tests.servers.tls import TLSMaterial, make_tls
from tests.servers.ws_server import WSTestServer

__all__ = [
    "HTTPTestServer",
    "RawTCPServer",
    "RecordedRequest",
    "TLSMaterial",
    "WSTestServer",
    "close_immediately",
    "content_crc32",
    "content_for",
    "content_sha256",
    "garbage_response",
    "iter_content",
    "make_tls",
    "never_answer",
]
