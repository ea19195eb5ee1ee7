"""Lua-style calls: how many leading arguments a callback is given."""

from __future__ import annotations

import functools
from typing import Any

from httpops._facade_calls import accepted_positional, lua_callable, with_scheme


def two(a: Any, b: Any) -> tuple[Any, Any]:
    return a, b


class Method:
    def one(self, a: Any) -> Any:
        return a


def test_counts_positional_parameters() -> None:
    assert accepted_positional(lambda: None) == 0
    assert accepted_positional(lambda a: None) == 1
    assert accepted_positional(lambda a, b=1: None) == 2  # a default still takes an argument
    assert accepted_positional(lambda a, *, k=1: None) == 1  # keyword-only does not
    assert accepted_positional(lambda *args: None) is None
    assert accepted_positional(Method().one) == 1  # self is bound
    assert accepted_positional(functools.partial(two, 1)) == 1
    assert accepted_positional([].append) == 1  # a builtin with a signature


def test_uninspectable_callables_get_every_argument() -> None:
    class Opaque:
        __signature__ = "not a signature"

        def __call__(self, *args: Any) -> tuple[Any, ...]:
            return args

    opaque = Opaque()
    assert accepted_positional(opaque) is None
    assert lua_callable(opaque) is opaque
    assert lua_callable(None) is None


def test_extra_arguments_are_dropped() -> None:
    wrapped = lua_callable(lambda data: data)
    assert wrapped is not None and wrapped("body", None, 7) == "body"
    star = lambda *args: args  # noqa: E731
    assert lua_callable(star) is star


def test_with_scheme() -> None:
    assert with_scheme("example.org/x") == "http://example.org/x"
    assert with_scheme("127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert with_scheme("https://h/x") == "https://h/x"
    assert with_scheme("") == "" and with_scheme(None) is None
