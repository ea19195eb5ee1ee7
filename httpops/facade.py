"""The OTClient-shaped ``HTTP`` object: the seed's API, name for name.

This is the only module with camelCase names. It is built only on the
Engine's public API, the way ``corelib/http.lua`` is built on ``g_http`` with
``connect(g_http, {...})``: requests become engine operations, results come
back through per-operation callbacks and global listeners, and every
callback runs inside ``poll()`` on the host's thread.

Callback shapes follow ``http.lua``: ``callback(data, err)`` where ``err`` is
None or a string starting with one of OTCv8's stable phrases
(``resolve error``, ``connection error``, ``timeout``, ``canceled``,
``Invalid http status code (N)``, ``JSON ERROR:``, ``Invalid url``). After
``HTTP.cancel(id)`` no callback of that operation runs.

Lua habits are kept where Python would differ (``docs/porting.md``): every
callback gets as many leading arguments as it accepts; a bad URL is an error
callback, not an exception; a URL without a scheme is ``http://``; progress
is an integer 0-100 and only reported when the size is known; a 3xx without
``Location`` is an error; a POST moved from http to https on the same host
by a 301/302 is re-posted.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._config import Config
from ._default import default_engine
from ._engine import Engine
from ._errors import HTTPStatusError, InvalidArgument, InvalidURL, JSONDecodeError
from ._facade_calls import BadURL, error_message, lua_callable, with_scheme
from ._facade_download import DownloadFacadeMixin
from ._facade_ghttp import GHttp
from ._facade_websocket import WebSocketFacadeMixin
from ._operation import Operation, State
from ._redirects import OTCV8_REDIRECTS
from ._response import Response
from ._validation import check_callback, check_headers, check_timeout

__all__ = ["HTTP", "HTTPFacade", "g_http"]

DataCallback = Callable[[Any, "str | None"], Any]

#: OTCv8's ``HTTP.agent`` (servers behind browser-checking filters expect it).
OTCV8_AGENT = "Mozilla/5.0"


def error_text(op: Operation) -> str | None:
    """The error of a finished operation as the string OTClient scripts expect.

    A 3xx without ``Location`` (a redirect the transport could not follow)
    is an error, as in OTCv8.
    """
    response = op.response
    undecodable = op.error is None or isinstance(op.error, JSONDecodeError)
    if undecodable and response is not None and 300 <= response.status < 400:
        return str(HTTPStatusError(op.method, op.url, response.status, response))
    return error_message(op.error)


def progress_of(op: Operation) -> int | None:
    """OTCv8's progress: an integer 0-100, or None while the size is unknown."""
    return None if op.progress is None else int(op.progress)


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
        websocketTimeout: Idle timeout for WebSockets (15).
        agent: The User-Agent sent with facade requests (``Mozilla/5.0``,
            as OTCv8).
        operations: Live operations started through this facade, by id.
        g_http: The low-level calls OTClient scripts make on ``g_http``
            (`GHttp`).
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
        self.agent: str = OTCV8_AGENT
        self.customHeaders: dict[str, str] = {}
        self.operations: dict[int, Operation] = {}
        self.images: dict[str, str] = {}
        # TLS setting from setVerify(), applied to the engine (None: the engine's own).
        self._verify: bool | str | None = None
        # Operations whose body length is unknown: their progress is not reported.
        self._unsized: set[int] = set()
        # The handler last seen in each on* attribute and its Lua-style wrapper.
        self._adapted: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {}
        self._init_downloads()
        self._init_websockets()
        self.g_http = GHttp(self)
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
                    self._apply_verify(engine)
        return engine

    def _apply_verify(self, engine: Engine) -> None:
        if self._verify is not None and engine.config.verify != self._verify:
            # Config is frozen; requests read engine.config when they are built.
            engine.config = dataclasses.replace(engine.config, verify=self._verify)
            engine.config.log_insecure()

    def _handler(self, attr: str) -> Callable[..., Any] | None:
        """``self.<attr>`` wrapped Lua-style, inspected once per assigned function."""
        handler = getattr(self, attr)
        if handler is None:
            return None
        cached = self._adapted.get(attr)
        if cached is None or cached[0] is not handler:
            cached = (handler, lua_callable(handler) or handler)
            self._adapted[attr] = cached
        return cached[1]

    def _relay(self, attr: str, *, with_data: bool = False) -> Callable[..., None]:
        """A listener that forwards an engine event to ``self.<attr>`` if set."""

        def relay(operation_id: int, *args: Any) -> None:
            if attr.endswith("Progress") and args[1] is None:
                self._unsized.add(operation_id)
            elif with_data:
                self._unsized.discard(operation_id)  # finished: forget it
            handler = self._handler(attr)
            if handler is None:
                return
            if attr.endswith("Progress"):
                url, progress, *rest = args
                if operation_id in self._unsized:
                    return  # OTCv8 reports progress only when the length is known
                handler(operation_id, url, int(progress), *rest)
            elif with_data:
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
        callback = lua_callable(callback)

        def finished(op: Operation) -> None:
            self.operations.pop(op.id, None)
            if callback is None:
                return
            err = error_text(op)
            data = op.value if err is None else None
            if err is not None and not json and op.response is not None:
                data = op.response.text  # the body of an error page stays available
            callback(data_of(data), err)

        return finished

    def _track(self, op: Operation) -> int:
        self.operations[op.id] = op
        return op.id

    def _failed_at_once(
        self, kind: str, method: str, url: object, finished: Callable[[Operation], None],
        problem: InvalidURL,
    ) -> Operation:  # fmt: skip
        """An operation that fails on the next poll: OTCv8 reports a bad URL as an error."""
        shown = url if isinstance(url, str) else repr(url)
        op = self.engine._register(kind, method, shown, finished)
        error = BadURL(method, shown, str(problem))
        self.engine._complete(op, State.FAILED, error=error)
        return op

    def _request(
        self, kind: str, method: str, url: object, data: Any, callback: Any, *, json: bool
    ) -> int:
        """Start one request through the engine; a bad URL becomes its error."""
        check_callback("callback", callback)
        finished = self._finisher(callback, json=json)
        url = with_scheme(url)
        options: dict[str, Any] = {"headers": self._request_headers(), "timeout": self.timeout}
        engine = self.engine
        try:
            if method == "GET":
                fetch = engine.get_json if json else engine.get
                op = fetch(url, finished, **options)  # type: ignore[arg-type]
            else:
                send = engine.post_json if json else engine.post
                op = send(url, data, finished, redirects=OTCV8_REDIRECTS, **options)  # type: ignore[arg-type]
        except InvalidURL as problem:
            op = self._failed_at_once(kind, method, url, finished, problem)
        return self._track(op)

    def get(self, url: str, callback: DataCallback | None = None) -> int:
        """GET ``url``; ``callback(data, err)`` with the body text. Returns the id.

        Thread-safety: the polling thread (it updates ``operations``).
        """
        return self._request("get", "GET", url, None, callback, json=False)

    def getJSON(self, url: str, callback: DataCallback | None = None) -> int:
        """GET ``url`` and decode JSON; ``callback(data, err)``. Returns the id.

        An empty body gives ``data=None``; invalid JSON gives ``err``
        starting with ``JSON ERROR:``.

        Thread-safety: the polling thread (it updates ``operations``).
        """
        return self._request("get", "GET", url, None, callback, json=True)

    def post(self, url: str, data: Any, callback: DataCallback | None = None) -> int:
        """POST ``data`` (str as a form body, bytes as-is, dict/list as JSON).

        Thread-safety: the polling thread (it updates ``operations``).
        """
        return self._request("post", "POST", url, data, callback, json=False)

    def postJSON(self, url: str, data: Any, callback: DataCallback | None = None) -> int:
        """POST ``data`` as JSON and decode the JSON answer; ``callback(data, err)``.

        A str is sent unchanged (it is JSON already, as in OTCv8); a dict,
        list or other value is JSON-encoded.

        Thread-safety: the polling thread (it updates ``operations``).
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        return self._request("post", "POST", url, data, callback, json=True)

    def cancel(self, operationId: int) -> bool:
        """Cancel an operation; none of its callbacks runs after this call.

        Returns:
            True if the operation was live (now canceled), else False.

        Thread-safety: the polling thread (like every facade member that
        touches ``operations``).
        """
        self._sockets.pop(operationId, None)  # a silenced socket never reaches onClose
        self._unsized.discard(operationId)
        op = self.operations.pop(operationId, None) or self.engine.operation(operationId)
        if op is None:
            return False  # unknown, or its completion was already dispatched
        # Even if it finished meanwhile, its completion has not been dispatched
        # yet (the finisher removes it from `operations`): silencing it keeps
        # every callback and listener of it from running.
        op._silence()
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

    def setVerify(self, verify: bool | str) -> None:
        """Trust certificates as ``verify`` says: True, False (OTCv8's way), or a CA file.

        OTCv8 accepts any certificate; httpops verifies them. A porter whose
        server has a self-signed certificate gives its CA here (or turns
        checking off, which is logged). It sets the TLS verification of the
        facade's engine -- for `HTTP`, the default engine -- for every
        later request, download and WebSocket.

        Raises:
            InvalidArgument: Not a bool, or a CA file that does not exist.

        Thread-safety: the polling thread.
        """
        if not isinstance(verify, (bool, str)):
            raise InvalidArgument(f"verify must be True, False or a CA file, got {verify!r}")
        Config(verify=verify)  # validates (a missing CA file raises here)
        self._verify = verify
        with self._bind_lock:
            if self._bound_to is not None:
                self._apply_verify(self._bound_to)


#: The facade bound to the default engine.
HTTP = HTTPFacade()
#: ``g_http`` of the default facade: the C++ calls OTClient scripts make directly.
g_http = HTTP.g_http
