"""The OTClient-shaped ``HTTP`` object: the seed's API, name for name.

This is the only module with camelCase names. It is built only on the
Engine's public API, the way ``corelib/http.lua`` is built on ``g_http`` with
``connect(g_http, {...})``: requests become engine operations, results come
back through per-operation callbacks and global listeners, and every
callback runs inside ``poll()`` on the host's thread.

Callback shapes follow ``http.lua``: ``callback(data, err)`` where ``err`` is
None or a string starting with one of OTCv8's stable phrases
(``resolve error``, ``connection error``, ``timeout``, ``canceled``,
``Invalid http status code (N)``, ``JSON ERROR:``). After
``HTTP.cancel(id)`` no callback of that operation runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._default import default_engine
from ._engine import Engine
from ._facade_download import DownloadFacadeMixin
from ._facade_websocket import WebSocketFacadeMixin
from ._operation import Operation
from ._response import Response
from ._validation import check_callback, check_headers, check_timeout
from ._version import __version__

__all__ = ["HTTP", "HTTPFacade"]

DataCallback = Callable[[Any, "str | None"], Any]


def error_text(op: Operation) -> str | None:
    """The error of a finished operation as the string OTClient scripts expect."""
    return None if op.error is None else str(op.error)


def data_of(value: Any) -> Any:
    """What ``http.lua`` passes as ``data``: the body for a response, else the value.

    A textual body is passed as str (decoded on the worker); any other body
    as bytes, so no body is ever decoded on the polling thread.
    """
    if isinstance(value, Response):
        return value.text if value.is_text else value.content
    return value


class HTTPFacade(DownloadFacadeMixin, WebSocketFacadeMixin):
    """The seed's ``HTTP`` table over an [`Engine`][httpops.Engine].

    Args:
        engine: The engine to use; None binds to [`default_engine`][httpops.default_engine] at
            first use (and again if that engine was closed and replaced).

    Attributes:
        timeout: Connect and stall timeout in seconds for requests (5, as in
            http.lua).
        websocketTimeout: Connect timeout for WebSockets (15).
        agent: The User-Agent sent with facade requests.
        operations: Live operations started through this facade, by id.
        onGet, onGetProgress, onPost, onPostProgress ...: assign a function to
            receive the global events with the seed's signatures.
    """

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._bound_to: Engine | None = None
        # Guards _bound_to and the connect() to a newly bound engine.
        self._bind_lock = threading.Lock()
        self.timeout: float = 5.0
        self.websocketTimeout: float = 15.0
        self.agent: str = f"httpops/{__version__}"
        self.customHeaders: dict[str, str] = {}
        self.operations: dict[int, Operation] = {}
        self.images: dict[str, str] = {}
        self.onGet: Callable[..., Any] | None = None
        self.onGetProgress: Callable[..., Any] | None = None
        self.onPost: Callable[..., Any] | None = None
        self.onPostProgress: Callable[..., Any] | None = None
        self.onDownload: Callable[..., Any] | None = None
        self.onDownloadProgress: Callable[..., Any] | None = None
        self.onWsOpen: Callable[..., Any] | None = None
        self.onWsMessage: Callable[..., Any] | None = None
        self.onWsClose: Callable[..., Any] | None = None
        self.onWsError: Callable[..., Any] | None = None

    # -- binding to the engine -----------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine in use, connecting the global handlers on first use.

        Thread-safety: any thread.
        """
        engine = self._engine or default_engine()
        if engine is not self._bound_to:
            with self._bind_lock:
                if engine is not self._bound_to:
                    engine.connect(
                        on_get=self._relay("onGet", with_data=True),
                        on_get_progress=self._relay("onGetProgress"),
                        on_post=self._relay("onPost", with_data=True),
                        on_post_progress=self._relay("onPostProgress"),
                        on_download=self._relay("onDownload", with_data=True),
                        on_download_progress=self._relay("onDownloadProgress"),
                        on_ws_open=self._relay("onWsOpen"),
                        on_ws_message=self._relay("onWsMessage"),
                        on_ws_close=self._relay("onWsClose"),
                        on_ws_error=self._relay("onWsError"),
                    )
                    self._bound_to = engine
        return engine

    def _relay(self, attr: str, *, with_data: bool = False) -> Callable[..., None]:
        """A listener that forwards an engine event to ``self.<attr>`` if set."""

        def relay(operation_id: int, *args: Any) -> None:
            handler = getattr(self, attr)
            if handler is None:
                return
            if with_data:
                # (url, err, data...) -> err as text, data as http.lua passes it
                url, err, *rest = args
                err_text = None if err is None else str(err)
                if attr in ("onGet", "onPost"):
                    rest = [data_of(rest[0])]
                handler(operation_id, url, err_text, *rest)
            else:
                handler(operation_id, *args)

        return relay

    # -- requests ------------------------------------------------------------------------

    def _request_headers(self) -> dict[str, str]:
        return {**self.customHeaders, "User-Agent": self.agent}

    def _finisher(
        self, callback: Callable[..., Any] | None, *, json: bool
    ) -> Callable[[Operation], None]:
        """The per-operation callback: drop the op from ``operations``, then call back."""

        def finished(op: Operation) -> None:
            self.operations.pop(op.id, None)
            if callback is None:
                return
            data = op.value if op.error is None else None
            if op.error is not None and not json and op.response is not None:
                data = op.response.text  # the body of an error page stays available
            callback(data_of(data), error_text(op))

        return finished

    def _track(self, op: Operation) -> int:
        self.operations[op.id] = op
        return op.id

    def get(self, url: str, callback: DataCallback | None = None) -> int:
        """GET ``url``; ``callback(data, err)`` with the body text. Returns the id.

        Thread-safety: the polling thread (it updates ``operations``).
        """
        check_callback("callback", callback)
        op = self.engine.get(
            url, self._finisher(callback, json=False), headers=self._request_headers(),
            timeout=self.timeout,
        )  # fmt: skip
        return self._track(op)

    def getJSON(self, url: str, callback: DataCallback | None = None) -> int:
        """GET ``url`` and decode JSON; ``callback(data, err)``. Returns the id.

        An empty body gives ``data=None``; invalid JSON gives ``err``
        starting with ``JSON ERROR:``.

        Thread-safety: the polling thread (it updates ``operations``).
        """
        check_callback("callback", callback)
        op = self.engine.get_json(
            url, self._finisher(callback, json=True), headers=self._request_headers(),
            timeout=self.timeout,
        )  # fmt: skip
        return self._track(op)

    def post(self, url: str, data: Any, callback: DataCallback | None = None) -> int:
        """POST ``data`` (str as a form body, bytes as-is, dict/list as JSON).

        Thread-safety: the polling thread (it updates ``operations``).
        """
        check_callback("callback", callback)
        op = self.engine.post(
            url, data, self._finisher(callback, json=False), headers=self._request_headers(),
            timeout=self.timeout,
        )  # fmt: skip
        return self._track(op)

    def postJSON(self, url: str, data: Any, callback: DataCallback | None = None) -> int:
        """POST ``data`` as JSON and decode the JSON answer; ``callback(data, err)``.

        Thread-safety: the polling thread (it updates ``operations``).
        """
        check_callback("callback", callback)
        op = self.engine.post_json(
            url, data, self._finisher(callback, json=True), headers=self._request_headers(),
            timeout=self.timeout,
        )  # fmt: skip
        return self._track(op)

    def cancel(self, operationId: int) -> bool:
        """Cancel an operation; none of its callbacks runs after this call.

        Returns:
            True if the operation was live (now canceled), else False.

        Thread-safety: the polling thread (like every facade member that
        touches ``operations``).
        """
        op = self.operations.pop(operationId, None) or self.engine.operation(operationId)
        if op is None:
            return False  # unknown, or its completion was already dispatched
        # Even if it finished meanwhile, its completion has not been dispatched
        # yet (the finisher removes it from `operations`): silencing it keeps
        # every callback and listener of it from running.
        op.silence()
        self.engine.cancel(op)
        return True

    def addCustomHeader(self, headers: Mapping[str, str]) -> None:
        """Add headers (``{name: value}``) to every later facade request.

        Raises:
            InvalidArgument: A name or value with CR/LF, or not a string.

        Thread-safety: the polling thread.
        """
        self.customHeaders.update(check_headers(headers))

    def setTimeout(self, seconds: float) -> None:
        """Set `timeout` after validating it. Thread-safety: the polling thread."""
        self.timeout = check_timeout("timeout", seconds, allow_none=False)


#: The facade bound to the default engine.
HTTP = HTTPFacade()
