"""httpops: non-blocking HTTP, downloads and WebSockets for game loops and scripts.

Worker threads do the blocking network work; every callback runs on the
thread that calls [`poll`][httpops.poll] (or ``Engine.poll``/``wait``).

Quick start::

    import httpops

    with httpops.Engine() as engine:
        op = engine.get_json("http://127.0.0.1:8000/api", lambda op: print(op.value))
        while not op.done():
            engine.poll()          # once per frame in a game loop
"""

import typing as _typing

from ._as_completed import as_completed
from ._auth import BasicAuth, BearerAuth
from ._config import DEFAULT, Config, Retry
from ._cookie_view import CookieView
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
    OperationTimeout,
    ReadTimeout,
    ReentrantPollError,
    ResolveError,
    TLSError,
    TooManyRedirects,
    TransportError,
    UsageError,
    VerificationError,
    WaitTimeout,
)
from ._operation import Operation, State
from ._response import Headers, Response
from ._scope import Scope, ScopeProgress
from ._version import __version__
from ._ws_handle import WebSocket
from ._ws_policy import Reconnect
from .facade import HTTP, HTTPFacade, g_http

__all__ = [
    "DEFAULT",
    "HTTP",
    "BasicAuth",
    "BearerAuth",
    "BodyTooLarge",
    "Canceled",
    "ChecksumMismatch",
    "Config",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionDropped",
    "CookieView",
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
    "OperationTimeout",
    "ReadTimeout",
    "Reconnect",
    "ReentrantPollError",
    "ResolveError",
    "Response",
    "Retry",
    "Scope",
    "ScopeProgress",
    "State",
    "TLSError",
    "TooManyRedirects",
    "TransportError",
    "UsageError",
    "VerificationError",
    "WaitTimeout",
    "WebSocket",
    "__version__",
    "as_completed",
    "close_default_engine",
    "default_engine",
    "g_http",
    "poll",
]

# Deprecated names (``TimeoutError_``) still resolve for one release, with a
# DeprecationWarning; type checkers see them marked deprecated.
if _typing.TYPE_CHECKING:
    from ._errors import TimeoutError_ as TimeoutError_
else:

    def __getattr__(name: str) -> _typing.Any:
        from ._errors import deprecated_name

        return deprecated_name(__name__, name)
