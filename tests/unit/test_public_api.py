"""The public surface: exactly the intended names, sorted, each importable."""

from __future__ import annotations

import types

import httpops

EXPECTED = [
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


def test_all_is_exactly_the_intended_names() -> None:
    assert httpops.__all__ == EXPECTED


def test_every_name_resolves() -> None:
    for name in httpops.__all__:
        assert getattr(httpops, name) is not None, name


def test_nothing_public_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(httpops).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(httpops.__all__), public - set(httpops.__all__)


def test_version_is_a_string() -> None:
    assert isinstance(httpops.__version__, str) and httpops.__version__
