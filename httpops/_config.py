"""Engine configuration: frozen, validated at construction.

``Config`` holds the engine-wide defaults. Per-call arguments such as
``timeout=`` default to [`DEFAULT`][httpops.DEFAULT], which means "use the engine's
setting"; that is different from ``None``, which means "disabled".
"""

from __future__ import annotations

import enum
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeAlias

import platformdirs

from ._errors import InvalidArgument
from ._validation import check_headers, check_timeout
from ._version import __version__

__all__ = ["DEFAULT", "Config", "Default", "Retry"]

log = logging.getLogger("httpops")


class Default(enum.Enum):
    """Type of [`DEFAULT`][httpops.DEFAULT]: "use the engine's setting"."""

    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


#: Per-call sentinel meaning "use the engine's configured value".
DEFAULT: Final = Default.DEFAULT

MIB = 1024 * 1024


def _check_positive_int(name: str, value: int, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgument(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class Retry:
    """Retry policy for failed requests (off unless ``Config.retry`` is set).

    Attempts back off exponentially with jitter: ``backoff * 2**n`` seconds,
    capped at ``max_backoff``, each multiplied by a random factor in
    ``[1 - jitter, 1 + jitter]``. A ``Retry-After`` header on a retried
    status is honoured (capped at ``max_backoff``).

    Attributes:
        attempts: Retries after the first try (so ``attempts=3`` is 4 tries).
        backoff: Base delay in seconds.
        max_backoff: Cap on any one delay, in seconds.
        jitter: Relative jitter, 0 to 1.
        statuses: Response statuses that are retried.
        retry_non_idempotent: Also retry POST and PATCH (off: they may have
            had an effect on the server).
    """

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 30.0
    jitter: float = 0.2
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    retry_non_idempotent: bool = False

    def __post_init__(self) -> None:
        _check_positive_int("Retry.attempts", self.attempts, minimum=0)
        if not isinstance(self.backoff, (int, float)) or not 0 <= self.backoff < math.inf:
            raise InvalidArgument(f"Retry.backoff must be >= 0, got {self.backoff!r}")
        check_timeout("Retry.max_backoff", self.max_backoff, allow_none=False)
        if not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter <= 1:
            raise InvalidArgument(f"Retry.jitter must be between 0 and 1, got {self.jitter!r}")
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def delay(self, attempt: int, rand: float, retry_after: float | None = None) -> float:
        """Delay before retry number ``attempt`` (0-based); ``rand`` is in [0, 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        return backoff_delay(self.backoff, self.max_backoff, self.jitter, attempt, rand)


def backoff_delay(base: float, cap: float, jitter: float, attempt: int, rand: float) -> float:
    """Exponential backoff with jitter: ``min(base * 2**attempt, cap)`` times a factor
    in ``[1 - jitter, 1 + jitter]`` chosen by ``rand`` in [0, 1)."""
    # 2**attempt overflows a float near 1024; the cap is reached long before 64.
    delay: float = min(base * (2.0 ** min(attempt, 64)), cap)
    return delay * (1 - jitter + 2 * jitter * rand)


#: A file-system path as the standard library takes it: ``str`` or ``os.PathLike``.
StrPath: TypeAlias = "str | os.PathLike[str]"


_PROXY_KEYS = ("http", "https", "no")


def _check_proxies(proxies: object) -> dict[str, str]:
    """Validate ``Config.proxies``: scheme -> proxy URL, plus ``no`` (hosts to bypass)."""
    if not isinstance(proxies, Mapping):
        raise InvalidArgument(f"proxies must be a dict or None, got {type(proxies).__name__}")
    out: dict[str, str] = {}
    for key, value in proxies.items():
        if key not in _PROXY_KEYS:
            raise InvalidArgument(f"proxies: unknown key {key!r} (use 'http', 'https', 'no')")
        if not isinstance(value, str):
            raise InvalidArgument(f"proxies[{key!r}] must be a str, got {value!r}")
        if key != "no" and "://" not in value:
            raise InvalidArgument(f"proxies[{key!r}] must be a URL like http://host:3128")
        out[key] = value
    return out


def default_downloads_dir() -> str:
    """``<user data dir>/downloads``: the platform's place for an application's files.

    ``~/.local/share/httpops/downloads`` on Linux (``$XDG_DATA_HOME`` wins),
    ``~/Library/Application Support/httpops/downloads`` on macOS,
    ``%LOCALAPPDATA%\\httpops\\downloads`` on Windows (from ``platformdirs``).
    """
    return os.path.join(platformdirs.user_data_dir("httpops", appauthor=False), "downloads")


def default_image_cache_dir() -> str:
    """``<user cache dir>/images``: a cache the system or the user may clear at any time.

    ``~/.cache/httpops/images`` on Linux (``$XDG_CACHE_HOME`` wins),
    ``~/Library/Caches/httpops/images`` on macOS,
    ``%LOCALAPPDATA%\\httpops\\Cache\\images`` on Windows (from ``platformdirs``).
    """
    return os.path.join(platformdirs.user_cache_dir("httpops", appauthor=False), "images")


def _path_option(name: str, value: object) -> str:
    """``value`` as a non-empty ``str`` path; accepts ``str`` and ``os.PathLike`` of text."""
    raw = os.fspath(value) if isinstance(value, (str, os.PathLike)) else value
    if not isinstance(raw, str) or not raw or "\0" in raw:
        raise InvalidArgument(f"{name} must be a non-empty str or os.PathLike path, got {value!r}")
    return raw


@dataclass(frozen=True)
class Config:
    """Engine-wide settings. Frozen; every field is validated at construction.

    Attributes:
        connect_timeout: Seconds to establish a connection.
        read_timeout: Stall timeout: seconds without receiving a byte.
        deadline: Seconds for a whole operation, or None for no deadline.
        user_agent: The ``User-Agent`` header.
        headers: Headers sent with every request (a per-call header wins).
        max_workers: Worker threads kept for requests (GET, POST, JSON); more
            start while all are busy, up to ``max_elastic_workers``. Each one
            competes with the host for the GIL while it runs ``requests``'
            Python code, so fewer workers keep frames steadier; four measured
            best for frame times on a 2-core machine (docs/benchmarks.md).
        max_download_workers: Worker threads for downloads and image fetches,
            a pool of their own so long downloads never hold up requests.
            They spend their time in the kernel (recv, write, CRC32), not in
            Python, so they cost the host little.
        worker_niceness: How many steps below the host's OS scheduling
            priority worker threads run (Linux only; 0 keeps them equal).
            When the CPUs are busy the host's frame goes first.
        max_body_bytes: Limit for bodies held in memory; larger ones fail.
        max_redirects: Redirects followed before failing.
        verify: True to verify TLS certificates, a CA bundle path (``str`` or
            ``os.PathLike``) to trust that bundle, or False to disable
            verification (logged).
        retry: Retry policy, or None for no retries.
        progress_interval: Minimum seconds between progress events of one
            operation.
        chunk_size: Bytes read from the socket at a time.
        downloads_dir: Directory that relative download paths resolve under
            (``str`` or ``os.PathLike``). Default: ``downloads`` in the user
            data dir (``~/.local/share/httpops/downloads`` on Linux).
        max_download_bytes: Default limit for a download's size, 8 GiB (None:
            none; raise it for bigger files). Counts the bytes stored, which
            are the bytes on the wire (an unasked encoding is not decoded).
        download_deadline: Default deadline for downloads (None: none; the
            stall timeout still applies).
        image_cache_dir: Directory of the persistent image cache (``str`` or
            ``os.PathLike``). Default (None): ``images`` in the user cache dir
            (``~/.cache/httpops/images`` on Linux).
        websocket_timeout: Default WebSocket connect/handshake timeout.
        ws_ping_interval: Seconds between keep-alive pings (None: no pings).
        ws_ping_timeout: Seconds to wait for a pong before the peer is dead.
        ws_send_queue: Bound of the outbound message queue of one socket.
        ws_high_water: Undelivered received messages of one socket at which
            its session stops reading until the host polls them away.
        ws_max_message_bytes: Largest incoming WebSocket message accepted.
        ws_high_water_bytes: Undelivered received bytes of one socket at which
            its session stops reading too (whichever mark comes first).
        ws_max_fragments: Most frames one incoming WebSocket message may
            arrive in.
        raise_callback_errors: Re-raise an exception from a user callback out
            of ``poll()`` (for tests) instead of only logging it.
        max_elastic_workers: Most request worker threads at once. While all
            ``max_workers`` are busy and one of them has neither started its
            job nor moved bytes for 0.2 s (a long-poll holds one for its whole
            wait), queued
            requests start more workers, up to this many (never for a burst of
            quick requests nor for large bodies);
            the extra ones exit after 5 s without work. A value at or below
            ``max_workers`` gives a fixed pool (requests then queue).
        low_speed_limit: Bytes per second a body must average over each
            ``low_speed_time`` window, or the operation fails with a
            ``ReadTimeout`` (libcurl's LOW_SPEED_LIMIT; None: no such rule).
            Holds for every kind, and is what ends a drip on a download that
            has no deadline.
        low_speed_time: The low-speed window in seconds (libcurl's LOW_SPEED_TIME).
        max_json_bytes: Limit for bodies that will be JSON-decoded (``get_json``,
            ``post_json``), counted after content decoding and checked before
            ``json.loads`` runs; smaller than ``max_body_bytes`` because the
            decode holds the GIL (docs/security.md).
        image_deadline: Default deadline for image fetches (None: none).
        transport: How bytes move: ``"auto"`` (the default: curl when it
            can run, else requests), ``"requests"`` (worker threads, always
            available) or ``"curl"`` (one libcurl network thread; needs the
            ``fast`` extra). The ``HTTPOPS_TRANSPORT`` environment variable wins.
        http2: Offer HTTP/2 on https:// URLs (curl transport only): many
            requests to one server share one connection. Logged and ignored
            on the requests transport.
        max_download_rate: Bytes per second all of the engine's downloads
            together may receive (a token bucket they share; None: no cap),
            so a patcher leaves bandwidth for the game. Requests, images and
            WebSockets are not capped. Time a download waits for this cap (or
            its own ``rate_limit=``) does not count for ``low_speed_limit``.
        proxies: Proxies by scheme, e.g. ``{"https": "http://proxy:3128",
            "no": "localhost,.lan"}`` (keys ``http``, ``https``, ``no``).
            None (the default): the environment's ``*_proxy`` variables,
            read once when the engine is created; ``{}``: no proxy at all.
        cookies: Keep a cookie jar shared by every request of the engine
            (``engine.cookies``). False: no jar -- no cookie is stored or sent.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float | None = 300.0
    user_agent: str = f"httpops/{__version__}"
    headers: Mapping[str, str] = field(default_factory=dict)
    max_workers: int = 4
    max_download_workers: int = 4
    worker_niceness: int = 10
    max_body_bytes: int = 64 * MIB
    max_redirects: int = 10
    verify: bool | StrPath = True
    retry: Retry | None = None
    progress_interval: float = 0.1
    chunk_size: int = 64 * 1024
    downloads_dir: StrPath = field(default_factory=default_downloads_dir)
    max_download_bytes: int | None = 8 * 1024 * MIB
    download_deadline: float | None = None
    image_cache_dir: StrPath | None = None
    websocket_timeout: float = 15.0
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float = 10.0
    ws_send_queue: int = 1024
    ws_high_water: int = 1024
    ws_max_message_bytes: int = 16 * MIB
    ws_high_water_bytes: int = 64 * MIB
    ws_max_fragments: int = 4096
    raise_callback_errors: bool = False
    # Elastic request workers (issue 10): a request never waits behind long-polls.
    max_elastic_workers: int = 256
    low_speed_limit: int | None = 1024
    low_speed_time: float = 60.0
    max_json_bytes: int = 8 * MIB
    image_deadline: float | None = 60.0
    transport: str = "auto"
    http2: bool = False
    # Bandwidth cap shared by every download (issue 11 item 4).
    max_download_rate: int | None = None
    # Per-engine proxies and the cookie switch (issue 11 item 3).
    proxies: Mapping[str, str] | None = None
    cookies: bool = True

    def __post_init__(self) -> None:
        if self.transport not in ("auto", "requests", "curl"):
            raise InvalidArgument(
                f"transport must be 'auto', 'requests' or 'curl', got {self.transport!r}"
            )
        if not isinstance(self.http2, bool):
            raise InvalidArgument(f"http2 must be True or False, got {self.http2!r}")
        check_timeout("connect_timeout", self.connect_timeout, allow_none=False)
        check_timeout("read_timeout", self.read_timeout, allow_none=False)
        check_timeout("deadline", self.deadline)
        check_timeout("websocket_timeout", self.websocket_timeout, allow_none=False)
        check_timeout("download_deadline", self.download_deadline)
        check_timeout("ws_ping_interval", self.ws_ping_interval)
        check_timeout("ws_ping_timeout", self.ws_ping_timeout, allow_none=False)
        _check_positive_int("ws_send_queue", self.ws_send_queue)
        _check_positive_int("ws_high_water", self.ws_high_water)
        _check_positive_int("ws_max_message_bytes", self.ws_max_message_bytes)
        _check_positive_int("ws_high_water_bytes", self.ws_high_water_bytes)
        _check_positive_int("ws_max_fragments", self.ws_max_fragments)
        if self.low_speed_limit is not None:
            _check_positive_int("low_speed_limit", self.low_speed_limit)
        check_timeout("low_speed_time", self.low_speed_time, allow_none=False)
        _check_positive_int("max_json_bytes", self.max_json_bytes)
        check_timeout("image_deadline", self.image_deadline)
        if self.max_download_bytes is not None:
            _check_positive_int("max_download_bytes", self.max_download_bytes)
        # Paths are stored as str, whatever os.PathLike they were given as.
        object.__setattr__(self, "downloads_dir", _path_option("downloads_dir", self.downloads_dir))
        cache = self.image_cache_dir
        cache = (
            default_image_cache_dir() if cache is None else _path_option("image_cache_dir", cache)
        )
        object.__setattr__(self, "image_cache_dir", cache)
        check_headers({"User-Agent": self.user_agent})
        object.__setattr__(self, "headers", MappingProxyType(check_headers(self.headers)))
        _check_positive_int("max_workers", self.max_workers)
        _check_positive_int("max_download_workers", self.max_download_workers)
        if (
            isinstance(self.worker_niceness, bool)
            or not isinstance(self.worker_niceness, int)
            or not 0 <= self.worker_niceness <= 19
        ):
            raise InvalidArgument(
                f"worker_niceness must be an integer from 0 to 19, got {self.worker_niceness!r}"
            )
        _check_positive_int("max_body_bytes", self.max_body_bytes)
        _check_positive_int("max_redirects", self.max_redirects, minimum=0)
        _check_positive_int("chunk_size", self.chunk_size, minimum=1024)
        if not isinstance(self.progress_interval, (int, float)) or not (
            0 <= self.progress_interval < math.inf
        ):
            raise InvalidArgument(
                f"progress_interval must be >= 0 seconds, got {self.progress_interval!r}"
            )
        if not isinstance(self.verify, (bool, str, os.PathLike)):
            raise InvalidArgument(
                f"verify must be True, False or a CA bundle path, got {self.verify!r}"
            )
        if not isinstance(self.verify, bool):
            object.__setattr__(self, "verify", _path_option("verify", self.verify))
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise InvalidArgument(f"verify: CA bundle {self.verify!r} does not exist")
        if self.retry is not None and not isinstance(self.retry, Retry):
            raise InvalidArgument(f"retry must be a Retry or None, got {self.retry!r}")
        _check_positive_int("max_elastic_workers", self.max_elastic_workers, minimum=0)
        if self.max_download_rate is not None:
            _check_positive_int("max_download_rate", self.max_download_rate)
        if self.proxies is not None:
            object.__setattr__(self, "proxies", MappingProxyType(_check_proxies(self.proxies)))
        if not isinstance(self.cookies, bool):
            raise InvalidArgument(f"cookies must be True or False, got {self.cookies!r}")

    @property
    def tls_verify(self) -> bool | str:
        """``verify`` as the TLS layers take it: True, False, or the CA bundle path as str.

        Thread-safety: any thread.
        """
        return self.verify if isinstance(self.verify, bool) else os.fspath(self.verify)

    def log_insecure(self) -> None:
        """Warn, once per engine, that certificate verification is off."""
        if self.verify is False:
            log.warning("TLS certificate verification is DISABLED (Config.verify=False)")
