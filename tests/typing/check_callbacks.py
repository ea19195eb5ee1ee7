"""Callbacks and listeners of the wrong shape, or misspelt, fail type checking.

Checked by ``mypy --strict`` in ``make lint``, never run; see check_results.py
for how the ``# type: ignore[code]`` lines work.
"""

from __future__ import annotations

from typing import Any

import httpops

URL = "http://127.0.0.1:8000/api"
WS = "ws://127.0.0.1:8000/ws"


def on_response(op: httpops.Operation[httpops.Response]) -> None:
    print(op.result().status_code)


def on_json(op: httpops.Operation[Any]) -> None:
    print(op.value)


def on_path(op: httpops.Operation[str]) -> None:
    print(op.value.upper())


def on_text(op: httpops.Operation[str]) -> None: ...


def no_arguments() -> None: ...


def only_the_socket(ws: httpops.WebSocket) -> None: ...


def per_operation_callbacks(engine: httpops.Engine) -> None:
    engine.get(URL, on_response, on_progress=on_response)
    engine.post(URL, "a=1", on_response)
    engine.get_json(URL, on_json)
    engine.download(URL, "file.bin", on_path, on_path)
    engine.download_image(URL, on_path)
    engine.get(URL, on_path)  # type: ignore[arg-type]
    engine.download(URL, "f", on_response)  # type: ignore[arg-type]
    engine.get(URL, no_arguments)  # type: ignore[arg-type]
    engine.get(URL).add_done_callback(on_response)
    engine.get(URL).add_done_callback(on_text)  # type: ignore[arg-type]
    engine.get(URL).add_done_callback(lambda op: op.result().json())


def on_get(operation_id: int, url: str, err: httpops.OperationError | None, data: Any) -> None: ...


def on_progress(operation_id: int, url: str, progress: float | None) -> None: ...


def on_download(
    operation_id: int,
    url: str,
    err: httpops.OperationError | None,
    path: str | None,
    sha: str | None,
) -> None: ...


def on_download_progress(
    operation_id: int, url: str, progress: float | None, speed: float
) -> None: ...


def on_ws(operation_id: int, message: Any) -> None: ...


def global_listeners(engine: httpops.Engine) -> None:
    disconnect = engine.connect(
        on_get=on_get,
        on_get_progress=on_progress,
        on_post=on_get,
        on_post_progress=on_progress,
        on_download=on_download,
        on_download_progress=on_download_progress,
        on_ws_open=on_ws,
        on_ws_message=on_ws,
        on_ws_close=on_ws,
        on_ws_error=on_ws,
    )
    disconnect()
    engine.connect(on_gett=on_get)  # type: ignore[call-arg]
    engine.connect(onGet=on_get)  # type: ignore[call-arg]
    engine.connect(on_get=on_progress)  # type: ignore[arg-type]
    engine.connect(on_download=on_get)  # type: ignore[arg-type]
    engine.connect(on_get=None)  # type: ignore[arg-type]
    engine.connect(on_ws_message=lambda operation_id, message: None)


def on_open(ws: httpops.WebSocket, reconnected: bool) -> None: ...


def on_message(ws: httpops.WebSocket, message: str) -> None: ...


def on_close(ws: httpops.WebSocket, code: int, reason: str) -> None: ...


def on_error(ws: httpops.WebSocket, error: httpops.OperationError) -> None:
    print(error.url)


def websocket_callbacks(engine: httpops.Engine) -> None:
    engine.websocket(
        WS, on_open=on_open, on_message=on_message, on_close=on_close, on_error=on_error
    )
    engine.websocket_json(WS, on_message=lambda ws, data: print(data["type"]))
    engine.websocket(WS, on_message=only_the_socket)  # type: ignore[arg-type]
    engine.websocket(WS, on_close=on_open)  # type: ignore[arg-type]
    engine.websocket(WS, on_error=lambda ws, err: err.nope)  # type: ignore[attr-defined]
    engine.websocket(WS, on_mesage=on_message)  # type: ignore[call-arg]
