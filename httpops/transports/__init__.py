"""The transport interface the engine calls, and the choice of transport.

Theory of operation
-------------------
The engine decides *what* happens to an operation (registry, exactly-one
completion, callbacks); a transport decides *how its bytes move*. The engine
calls three methods, from any thread:

* :meth:`Transport.submit` with a :class:`Job` -- plain data: the operation,
  its deadline, the blocking ``work(ctx)`` that any worker can run, and, for
  an in-memory HTTP fetch, a :class:`FetchSpec` a network transport can run
  natively.
* :meth:`Transport.cancel` once the engine has claimed a cancel, so the
  transport can drop the transfer at once.
* :meth:`Transport.close` at engine close, joining every thread it started.

A transport finishes an operation only through the engine's :class:`Host`
methods (:meth:`Host.begin`/:meth:`Host.finish`), which go through the one
claim that makes completion exactly-once, so cancel, close and deadlines mean
the same on every transport.

Two implementations sit side by side:

* :class:`~httpops.transports.workers.WorkerTransport` -- the worker pools
  running blocking ``requests`` code (always available).
* :class:`~httpops.transports.curl.CurlTransport` -- one network thread
  driving libcurl's multi interface (extra ``fast``: ``pycurl``).

:func:`create` picks one from ``Config.transport`` and the
``HTTPOPS_TRANSPORT`` environment variable (which wins, for diagnosing a game
in the field).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .._config import Config, Retry
from .._errors import InvalidArgument
from .._transport import Request
from .._transport import Transport as StreamTransport

if TYPE_CHECKING:
    from .._operation import Operation
    from .._transfer import Outcome
    from .._worker import TaskContext

__all__ = [
    "NAMES",
    "FetchSpec",
    "Host",
    "Job",
    "Transport",
    "create",
    "curl_available",
    "resolve_name",
]

log = logging.getLogger("httpops")

#: Accepted values of ``Config.transport`` and ``HTTPOPS_TRANSPORT``.
NAMES = ("auto", "requests", "curl")
ENV_VAR = "HTTPOPS_TRANSPORT"
#: Oldest libcurl the curl transport accepts (8.x: redirect, cookie and
#: header fixes the translation relies on; see docs/transports.md).
MIN_LIBCURL = (8, 0, 0)


@dataclass(frozen=True, slots=True)
class FetchSpec:
    """An HTTP request whose whole body goes to memory (GET/POST/JSON).

    Attributes:
        request: The resolved request.
        want_json: Decode the body as JSON; the value is the decoded JSON.
        retry: The retry policy (None: no retries).
        max_body_bytes: Most bytes the (decoded) body may have.
    """

    request: Request
    want_json: bool
    retry: Retry | None
    max_body_bytes: int


@dataclass(frozen=True, slots=True)
class Job:
    """One operation's work, as data.

    Attributes:
        op: The registered operation.
        work: The blocking version, ``work(ctx) -> Outcome``, run on a worker.
        deadline: Seconds for the whole operation (None: none).
        download: Runs on the download pool (downloads, images).
        fetch: Set for an in-memory HTTP fetch a transport may run natively.
        priority: Queued jobs of a larger priority start first (FIFO within one).
    """

    op: Operation
    work: Callable[[TaskContext], Outcome]
    deadline: float | None
    download: bool = False
    fetch: FetchSpec | None = None
    priority: int = 0


class Host(Protocol):
    """What a transport needs from the engine (implemented by ``Engine``)."""

    config: Config
    clock: Callable[[], float]

    def begin(self, op: Operation, deadline: float | None) -> TaskContext | None:
        """Move ``op`` to running and return its context; None if already claimed."""
        ...

    def finish(
        self,
        op: Operation,
        ctx: TaskContext,
        outcome: Outcome | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Complete ``op`` with ``outcome`` or ``error`` (exactly once)."""
        ...


class Transport(Protocol):
    """Moves the bytes of submitted jobs. One instance per engine."""

    #: "requests" or "curl".
    name: str

    def submit(self, job: Job) -> None:
        """Start ``job``; never blocks on the network.

        Raises:
            RuntimeError: No thread could be started (the caller undoes it).

        Thread-safety: any thread.
        """
        ...

    def cancel(self, op: Operation) -> None:
        """Drop the transfer of ``op`` now; the engine already queued its completion.

        Thread-safety: any thread.
        """
        ...

    def close(self, deadline: float) -> list[threading.Thread]:
        """Stop every thread started, joining them until ``deadline`` (engine clock).

        Returns:
            Threads still alive at the deadline.

        Thread-safety: any thread except one of the transport's own.
        """
        ...

    def threads(self) -> list[threading.Thread]:
        """The threads started so far (for leak checks). Thread-safety: any thread."""
        ...


def _libcurl_version() -> tuple[int, ...] | None:
    try:
        import pycurl
    except ImportError:
        return None
    text = pycurl.version_info()[1]
    try:
        return tuple(int(part) for part in text.split("-")[0].split(".")[:3])
    except ValueError:
        return None


_CURL_CHECK: list[tuple[bool, str]] = []  # memo of the one version check
# Guards _CURL_CHECK, so the fallback line is logged once per process.
_CHECK_LOCK = threading.Lock()


def curl_available() -> tuple[bool, str]:
    """Whether the curl transport can run here, and why not (checked once).

    Thread-safety: any thread.
    """
    with _CHECK_LOCK:
        if not _CURL_CHECK:
            version = _libcurl_version()
            if version is None:
                _CURL_CHECK.append((False, "pycurl is not installed"))
            elif version < MIN_LIBCURL:
                found = ".".join(map(str, version))
                floor = ".".join(map(str, MIN_LIBCURL))
                _CURL_CHECK.append((False, f"libcurl {found} is older than {floor}"))
            else:
                _CURL_CHECK.append((True, ""))
        return _CURL_CHECK[0]


def resolve_name(configured: str) -> str:
    """The transport to use: ``HTTPOPS_TRANSPORT`` over ``configured``; "auto" resolved.

    Raises:
        InvalidArgument: An unknown name, or "curl" asked for where it cannot run.

    Thread-safety: any thread.
    """
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env and env not in NAMES:
        raise InvalidArgument(f"{ENV_VAR} must be one of {', '.join(NAMES)}, got {env!r}")
    name = env or configured
    if name == "requests":
        return name
    ok, why = curl_available()
    if name == "curl":
        if not ok:
            raise InvalidArgument(
                f"transport 'curl' cannot run: {why} (pip install 'httpops[fast]')"
            )
        return name
    if not ok:
        _log_fallback(why)
        return "requests"
    return "curl"


_FALLBACK_LOGGED: list[bool] = []


def _log_fallback(why: str) -> None:
    with _CHECK_LOCK:
        if _FALLBACK_LOGGED:
            return
        _FALLBACK_LOGGED.append(True)
    log.info("transport 'auto': using requests (%s)", why)


def create(
    host: Host, config: Config, custom: StreamTransport | None
) -> tuple[Transport, StreamTransport]:
    """The engine's transport and the blocking stream transport its worker jobs use.

    A ``custom`` stream transport (tests, embedders) always runs on workers.

    Thread-safety: any thread.
    """
    from .workers import WorkerTransport

    name = "requests" if custom is not None else resolve_name(config.transport)
    if config.http2 and name != "curl":
        log.warning("Config(http2=True) needs the curl transport; using HTTP/1.1")
    if name == "curl":
        from .curl import CurlTransport

        curl = CurlTransport(host, config)
        return curl, curl.streams
    from .._requests_transport import RequestsTransport

    stream: Any = custom or RequestsTransport(
        pool_maxsize=config.max_workers + config.max_download_workers, cookies=config.cookies
    )
    return WorkerTransport(host, config, getattr(stream, "release_thread", None)), stream
