"""``g_http``: the C++ calls OTClient scripts make directly, next to the ``HTTP`` table.

In OTCv8, ``corelib/http.lua`` is a thin layer over the C++ object
``g_http``, and some modules skip the layer: BotServer closes its socket with
``g_http.cancel(id)`` and still gets ``onClose``, scripts set the agent with
``g_http.setUserAgent`` and read downloads back with ``g_http.getFile``.
`GHttp` gives a ported script the same calls on a facade
(``HTTP.g_http``, or ``httpops.g_http`` for the default one).

Everything here runs on the polling thread, like the facade itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._validation import check_headers

if TYPE_CHECKING:
    from .facade import HTTPFacade

__all__ = ["GHttp"]


class GHttp:
    """The low-level ``g_http`` of one `HTTPFacade`.

    Args:
        facade: The facade whose operations, sockets and downloads it reaches.
    """

    def __init__(self, facade: HTTPFacade) -> None:
        self._facade = facade

    def cancel(self, operationId: int) -> bool:
        """Cancel like the C++ ``g_http.cancel``: the operation's own callbacks still run.

        Unlike ``HTTP.cancel`` (which removes the operation so nothing is
        called), a request's callback gets ``err`` starting ``canceled``,
        and a WebSocket is closed and delivers ``onClose`` -- BotServer
        relies on that to reconnect.

        Returns:
            True if an operation with this id was live, else False.

        Thread-safety: the polling thread.
        """
        facade = self._facade
        socket = facade._sockets.get(operationId)
        if socket is not None:
            socket.close()
            return True
        op = facade.operations.get(operationId) or facade.engine.operation(operationId)
        if op is None:
            return False
        return facade.engine.cancel(op)

    def setUserAgent(self, agent: str) -> None:
        """Set the ``User-Agent`` of later facade requests (``HTTP.agent``).

        Raises:
            InvalidArgument: Not a str, or one with CR/LF.

        Thread-safety: the polling thread.
        """
        check_headers({"User-Agent": agent})
        self._facade.agent = agent

    def wsSend(self, operationId: int, message: Any) -> bool:
        """Send on the WebSocket ``operationId`` (a dict/list as JSON).

        Returns:
            False if there is no such open socket (OTCv8 drops the message too).

        Thread-safety: the polling thread.
        """
        socket = self._facade._sockets.get(operationId)
        return False if socket is None else bool(socket.send(message))

    def wsClose(self, operationId: int) -> None:
        """Close the WebSocket ``operationId``; its ``onClose`` follows.

        Thread-safety: the polling thread.
        """
        socket = self._facade._sockets.get(operationId)
        if socket is not None:
            socket.close()

    def downloads(self) -> dict[str, int]:
        """The files downloaded through the facade: OTCv8 path -> size in bytes.

        Thread-safety: the polling thread.
        """
        return self._facade.downloads()

    def getFile(self, path: str) -> bytes | None:
        """The content of a downloaded file (``HTTP.getFile``).

        Thread-safety: the polling thread.
        """
        return self._facade.getFile(path)

    def clearDownloads(self) -> None:
        """Delete the files downloaded through the facade (``HTTP.clearDownloads``).

        Thread-safety: the polling thread.
        """
        self._facade.clearDownloads()
