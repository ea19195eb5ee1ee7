"""httpops: non-blocking HTTP, downloads and WebSockets for game loops and scripts.

Worker threads do the blocking network work; every callback runs on the
thread that calls :func:`poll` (or ``Engine.poll``/``wait``).

Quick start::

    import httpops

    with httpops.Engine() as engine:
        op = engine.get_json("http://127.0.0.1:8000/api", lambda op: print(op.value))
        while not op.done:
            engine.poll()          # once per frame in a game loop
"""

from ._config import DEFAULT, Config, Retry
from ._default import close_default_engine, default_engine, poll
from ._engine import Engine
from ._errors import (
    BodyTooLarge,
    Canceled,
    ChecksumMismatch,
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    DeadlineExceeded,
    EngineClosed,
    HttpopsError,
    HTTPStatusError,
    InvalidArgument,
    InvalidCallback,
    InvalidImage,
    InvalidURL,
    JSONDecodeError,
    OperationError,
    ReadTimeout,
    ReentrantPollError,
    ResolveError,
    TimeoutError_,
    TLSError,
    TooManyRedirects,
    TransportError,
    UsageError,
    VerificationError,
    WaitTimeout,
)
from ._operation import Operation, State
from ._response import Headers, Response
from ._version import __version__
from ._ws_handle import WebSocket
from ._ws_policy import Reconnect
from .facade import HTTP, HTTPFacade, g_http

__all__ = [
    "DEFAULT",
    "HTTP",
    "BodyTooLarge",
    "Canceled",
    "ChecksumMismatch",
    "Config",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionDropped",
    "DeadlineExceeded",
    "Engine",
    "EngineClosed",
    "HTTPFacade",
    "HTTPStatusError",
    "Headers",
    "HttpopsError",
    "InvalidArgument",
    "InvalidCallback",
    "InvalidImage",
    "InvalidURL",
    "JSONDecodeError",
    "Operation",
    "OperationError",
    "ReadTimeout",
    "Reconnect",
    "ReentrantPollError",
    "ResolveError",
    "Response",
    "Retry",
    "State",
    "TLSError",
    "TimeoutError_",
    "TooManyRedirects",
    "TransportError",
    "UsageError",
    "VerificationError",
    "WaitTimeout",
    "WebSocket",
    "__version__",
    "close_default_engine",
    "default_engine",
    "g_http",
    "poll",
]
