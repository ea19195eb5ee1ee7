"""The precise types of every callback and listener, for type checkers (pure: no code runs).

Per-operation callbacks receive the finished `Operation`,
typed by its result. Global listeners (``Engine.connect``) keep the seed's
positional signatures; `Listeners` names each one, so a misspelt
listener name or a listener of the wrong shape fails type checking, not only
at run time. WebSocket callbacks receive the `WebSocket`
handle first.

Every callback may return anything; the value is ignored (``object``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from ._errors import OperationError
    from ._operation import Operation
    from ._response import Response
    from ._ws_handle import WebSocket

__all__ = [
    "DownloadListener",
    "DownloadProgressListener",
    "JSONCallback",
    "Listeners",
    "PathCallback",
    "ProgressListener",
    "RequestListener",
    "ResponseCallback",
    "WsCloseCallback",
    "WsErrorCallback",
    "WsListener",
    "WsMessageCallback",
    "WsOpenCallback",
]

# -- per-operation callbacks: callback(op) -----------------------------------------------

#: ``get``/``post``: ``op.value`` is the Response.
ResponseCallback = Callable[["Operation[Response]"], object]
#: ``get_json``/``post_json``: ``op.value`` is the decoded JSON.
JSONCallback = Callable[["Operation[Any]"], object]
#: ``download``/``download_image``: ``op.value`` is the file's path.
PathCallback = Callable[["Operation[str]"], object]

# -- WebSocket callbacks -----------------------------------------------------------------

#: ``on_open(ws, reconnected)``.
WsOpenCallback = Callable[["WebSocket", bool], object]
#: ``on_message(ws, message)``: str or bytes, or the decoded JSON of a JSON socket.
WsMessageCallback = Callable[["WebSocket", Any], object]
#: ``on_close(ws, code, reason)``, exactly once.
WsCloseCallback = Callable[["WebSocket", int, str], object]
#: ``on_error(ws, error)``.
WsErrorCallback = Callable[["WebSocket", "OperationError"], object]

# -- global listeners: the seed's signatures ---------------------------------------------

#: ``on_get``/``on_post(operation_id, url, err, data)``.
RequestListener = Callable[[int, str, "OperationError | None", Any], object]
#: ``on_get_progress``/``on_post_progress(operation_id, url, progress)``.
ProgressListener = Callable[[int, str, "float | None"], object]
#: ``on_download(operation_id, url, err, path, checksum)``.
DownloadListener = Callable[[int, str, "OperationError | None", "str | None", "str | None"], object]
#: ``on_download_progress(operation_id, url, progress, speed)``.
DownloadProgressListener = Callable[[int, str, "float | None", float], object]
#: ``on_ws_open``/``on_ws_message``/``on_ws_close``/``on_ws_error(operation_id, message)``.
WsListener = Callable[[int, Any], object]


class Listeners(TypedDict, total=False):
    """The keyword arguments of ``Engine.connect``: every listener name, with its type."""

    on_get: RequestListener
    on_get_progress: ProgressListener
    on_post: RequestListener
    on_post_progress: ProgressListener
    on_download: DownloadListener
    on_download_progress: DownloadProgressListener
    on_ws_open: WsListener
    on_ws_message: WsListener
    on_ws_close: WsListener
    on_ws_error: WsListener
