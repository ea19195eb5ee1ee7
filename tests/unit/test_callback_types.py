"""The typed surface agrees with the run-time one: listener names, error status, generics."""

from __future__ import annotations

import pickle
import typing

import httpops
from httpops._callbacks import Listeners
from httpops._listeners import LISTENER_NAMES

URL = "http://127.0.0.1:9/x"


def test_the_typed_listener_names_are_exactly_the_accepted_ones() -> None:
    assert set(typing.get_type_hints(Listeners, localns=vars(httpops)).keys()) == set(
        LISTENER_NAMES
    )
    assert Listeners.__total__ is False  # each one optional


def test_every_operation_error_has_a_status() -> None:
    plain = httpops.ConnectError("GET", URL, "connection refused")
    assert plain.status is None and plain.response is None
    response = httpops.Response(200, "OK", httpops.Headers(), b"{", URL)
    bad_json = httpops.JSONDecodeError("GET", URL, "invalid JSON", "{")
    bad_json.response = response
    assert bad_json.status == 200
    status = httpops.HTTPStatusError("GET", URL, 404, response)
    assert status.status == 404
    assert pickle.loads(pickle.dumps(status)).status == 404  # survives without the response


def test_operation_is_generic_at_run_time_too() -> None:
    alias = httpops.Operation[httpops.Response]
    assert typing.get_origin(alias) is httpops.Operation
    assert typing.get_args(alias) == (httpops.Response,)
