"""What every loopback test server shares: a context manager, its URLs, joining threads."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TypeVar

__all__ = ["JOIN_TIMEOUT", "LocalServer", "join_all"]

#: Seconds stop() waits for each thread before it reports the thread as stuck.
JOIN_TIMEOUT = 10.0

S = TypeVar("S", bound="LocalServer")


def join_all(threads: Iterable[threading.Thread]) -> list[str]:
    """Join each thread; return the names of those still alive after JOIN_TIMEOUT."""
    leftovers = []
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
        if thread.is_alive():
            leftovers.append(thread.name)
    return leftovers


class LocalServer:
    """Base of the servers on 127.0.0.1: subclasses give ``start``, ``stop``, ``port``
    and ``scheme``."""

    host = "127.0.0.1"

    def start(self: S) -> S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def scheme(self) -> str:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """``scheme://127.0.0.1:port``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (which starts with "/")."""
        return self.base_url + path

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
