"""Exception names: no trailing underscore; the old name is a deprecated alias for one release."""

from __future__ import annotations

import builtins

import pytest

import httpops
from httpops import _errors


def test_operation_timeout_is_the_base_of_every_operation_timeout() -> None:
    for cls in (httpops.ConnectTimeout, httpops.ReadTimeout, httpops.DeadlineExceeded):
        assert issubclass(cls, httpops.OperationTimeout)
    assert issubclass(httpops.OperationTimeout, httpops.TransportError)
    assert httpops.OperationTimeout.phrase == "timeout"


def test_the_two_timeouts_are_told_apart_by_except() -> None:
    # Neither is a subclass of the other, and only the wait is a builtin TimeoutError
    # (what concurrent.futures raises from result(timeout)).
    assert not issubclass(httpops.OperationTimeout, httpops.WaitTimeout)
    assert not issubclass(httpops.WaitTimeout, httpops.OperationTimeout)
    assert issubclass(httpops.WaitTimeout, builtins.TimeoutError)
    assert not issubclass(httpops.OperationTimeout, builtins.TimeoutError)
    with pytest.raises(httpops.OperationTimeout):
        try:
            raise httpops.ReadTimeout("GET", "http://127.0.0.1/x", "no data for 1s")
        except TimeoutError:
            pytest.fail("an operation timeout must not look like a wait that ran out")


def test_no_public_name_ends_with_an_underscore() -> None:
    assert [name for name in httpops.__all__ if name.endswith("_") and name != "__version__"] == []
    assert "TimeoutError_" not in _errors.__all__


def test_old_name_still_works_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"TimeoutError_ .*use httpops.OperationTimeout"):
        old = httpops.TimeoutError_  # type: ignore[attr-defined,unused-ignore]
    assert old is httpops.OperationTimeout


def test_old_name_imported_from_the_package_or_the_module_warns() -> None:
    with pytest.warns(DeprecationWarning):
        from httpops import TimeoutError_  # type: ignore[attr-defined,unused-ignore]
    with pytest.warns(DeprecationWarning):
        from httpops._errors import TimeoutError_ as from_module
    assert TimeoutError_ is from_module is httpops.OperationTimeout


def test_except_with_the_old_name_still_catches() -> None:
    with pytest.warns(DeprecationWarning):
        old = httpops.TimeoutError_  # type: ignore[attr-defined,unused-ignore]
    with pytest.raises(old):
        raise httpops.DeadlineExceeded("GET", "http://127.0.0.1/x", "took too long")


def test_unknown_names_still_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchError'"):
        _ = httpops.NoSuchError  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'TimeoutError'"):
        _ = _errors.TimeoutError  # type: ignore[attr-defined]
