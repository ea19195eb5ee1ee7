"""The public surface: exactly the intended names, sorted, each importable."""

from __future__ import annotations

import types

import pytest

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


# Issue 11 item 10: the engine's internals are private; only the transport seam
# (Engine.begin/finish) stays public for extensions.
ENGINE_INTERNALS = [
    "build_request",
    "start",
    "register",
    "mark_running",
    "complete",
    "call_user",
    "add_resource",
    "remove_resource",
    "add_handler",
]
OPERATION_INTERNALS = ["claim", "move_to", "silence", "request_cancel", "wait_canceled"]


def test_engine_internals_are_private() -> None:
    for name in ENGINE_INTERNALS:
        assert not hasattr(httpops.Engine, name), name
        assert callable(getattr(httpops.Engine, f"_{name}")), name
    assert callable(httpops.Engine.begin) and callable(httpops.Engine.finish)


def test_operation_internals_are_private() -> None:
    for name in OPERATION_INTERNALS:
        assert not hasattr(httpops.Operation, name), name
        assert callable(getattr(httpops.Operation, f"_{name}")), name


def test_operation_state_is_read_only() -> None:
    op: httpops.Operation = httpops.Operation(None, 1, "get", "GET", "http://127.0.0.1/")
    assert op.state is httpops.State.QUEUED
    with pytest.raises(AttributeError):
        op.state = httpops.State.DONE  # type: ignore[misc]
    assert op.state is httpops.State.QUEUED
