"""Image downloads: signature-checked, shared between concurrent callers, cached on disk.

Theory of operation
-------------------
Each engine has one :class:`ImageService` (created on first use). A call to
``download_image(url)`` registers the caller's own :class:`Operation`
(``kind="image"``, completed through `Engine._complete`, so each one
completes exactly once) and then, in the caller's thread, looks up the
request's *cache key* -- the URL, plus the per-call headers if there are any
(:func:`~httpops._image_cache.cache_key`), so an image fetched with
credentials is never shared with or served to a caller whose headers differ:

* **Known this session** -- the key was fetched or revalidated by this
  engine and its file is still there: the operation is completed at once
  from the cache. The completion is only *queued*; its callback runs on the
  next ``poll()``, never inside the call. No request is made.
* **In flight** -- another caller's fetch of the same key is running: the
  operation joins that :class:`_Flight` and completes when it does.
* Otherwise a new flight starts one worker job (an internal operation of
  kind ``"image-fetch"``, visible in ``Engine.operations``; no listener or
  user callback is attached to it). On the worker, the job sends the
  request -- conditional (``If-None-Match`` / ``If-Modified-Since``) when
  the disk cache has an entry from an earlier run -- and either reuses the
  file on ``304`` or streams the body (as sent: an unasked
  ``Content-Encoding`` is not decoded) into a fresh temporary file, checking
  the image signature on the first bytes, and renames it into the cache
  (see :mod:`httpops._safe_files`). Then
  it completes every operation that joined the flight.

Canceling one caller's operation completes only that operation. When every
operation of a flight is canceled, the fetch stops at its next chunk.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._config import DEFAULT, Default, default_image_cache_dir
from ._crc import crc32
from ._download import store_as_sent
from ._errors import (
    Canceled,
    EngineClosed,
    InvalidImage,
    OperationError,
)
from ._image_cache import SNIFF_BYTES, CacheEntry, ImageStore, cache_key, describe, sniff
from ._operation import Operation, OperationCallback, State
from ._transfer import (
    Outcome,
    check_complete,
    identity_headers,
    open_stream,
    pump,
    status_error,
    with_retries,
)
from ._transport import Request, Stream
from ._validation import check_callback, check_headers
from ._worker import TaskContext

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["ImageService", "start_image"]

log = logging.getLogger("httpops")

# Guards _services: the one ImageService of each engine.
_services_lock = threading.Lock()
_services: weakref.WeakKeyDictionary[Engine, ImageService] = weakref.WeakKeyDictionary()

# How many fetched URLs an engine remembers, to answer without a request.
KNOWN_URLS = 4096


def start_image(
    engine: Engine,
    url: str,
    callback: OperationCallback | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | Default = DEFAULT,
    priority: int = 0,
) -> Operation:
    """Validate an image request at the call and start (or join, or serve) it.

    Returns:
        The caller's own :class:`Operation`; ``op.path`` is the cached file.

    Raises:
        InvalidURL, InvalidArgument, InvalidCallback, EngineClosed: At the call.

    Thread-safety: any thread.
    """
    check_callback("callback", callback)
    priority = engine._check_schedule(priority, None)[0]
    request = engine._build_request("GET", url, identity_headers(headers), None, timeout)
    # Per-call headers (credentials, most often) are part of the cache key: such a
    # request never shares a fetch or an entry with a caller whose headers differ.
    key = cache_key(request.url, check_headers(headers) if headers else None)
    with _services_lock:
        service = _services.get(engine)
        if service is None:
            service = _services[engine] = ImageService(engine)
    return service.request(request, callback, key, priority)


class _Flight:
    """One fetch of a URL (for one cache key) and the caller operations waiting for it.

    Mutated only with the service lock held.
    """

    def __init__(self, url: str, key: str | None = None) -> None:
        self.url = url
        self.key = cache_key(url) if key is None else key
        self.ops: list[Operation] = []
        self.closed = False  # finished or abandoned: nobody may join any more


class ImageService:
    """The image cache and in-flight fetches of one engine.

    Args:
        engine: The engine whose workers fetch and whose queue completes.
    """

    def __init__(self, engine: Engine) -> None:
        config = engine.config
        # Weak: the module's engine -> service map must not keep the engine alive.
        self._engine_ref = weakref.ref(engine)
        self._transport = engine.transport
        self._retry = config.retry
        self._chunk = config.chunk_size
        self.store = ImageStore(os.fspath(config.image_cache_dir or default_image_cache_dir()))
        # Images are small and a 304 reads one back whole: never more than a body in memory.
        limit = config.max_body_bytes
        if config.max_download_bytes is not None:
            limit = min(limit, config.max_download_bytes)
        self.max_bytes = limit
        # Guards _flights, _known and every _Flight's fields.
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        # URLs fetched or revalidated by this engine: url -> (path, crc32), least
        # recently used first; bounded, as a long session may show countless images.
        self._known: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def _engine(self) -> Engine:
        engine = self._engine_ref()
        if engine is None:  # only reachable through a leaked reference to this service
            raise EngineClosed("the engine of this image cache is gone")
        return engine

    # -- the caller's side ----------------------------------------------------------------

    def request(
        self,
        request: Request,
        callback: OperationCallback | None,
        key: str | None = None,
        priority: int = 0,
    ) -> Operation:
        """Serve, join or start the fetch of ``request.url`` (see the module docstring).

        ``key`` is its :func:`~httpops._image_cache.cache_key` (default: that
        of the bare URL): flights, the session's memory and the disk cache
        are all looked up by it.

        Thread-safety: any thread.
        """
        engine, url = self._engine(), request.url
        key = cache_key(url) if key is None else key
        op = engine._register("image", "GET", url, callback)
        op.priority = priority
        with self._lock:
            flight = self._flights.get(key)
            known = self._known.get(key)
            if known is not None:
                self._known.move_to_end(key)
            if flight is not None:
                flight.ops.append(op)
                return op
            if known is None or not os.path.isfile(known[0]):
                flight = self._flights[key] = _Flight(url, key)
                flight.ops.append(op)
        if flight is None and known is not None:
            # Queued now, dispatched by the next poll(): never inside this call.
            engine._mark_running(op)
            engine._complete(op, State.DONE, value=known[0], path=known[0], checksum=known[1])
            return op
        assert flight is not None
        try:
            engine._start(
                "image-fetch", "GET", url, lambda ctx: self._fetch(ctx, request, flight),
                callback=lambda fetch_op: self._fetch_ended(flight, fetch_op),
                on_progress=lambda fetch_op: self._mirror(flight, fetch_op),
                deadline=engine.config.image_deadline, priority=priority,
            )  # fmt: skip
        except BaseException:
            self._settle(flight, Canceled("GET", url, "engine closed before the fetch started"))
            raise
        return op

    # -- completion ---------------------------------------------------------------------

    def _mirror(self, flight: _Flight, fetch_op: Operation) -> None:
        """Copy the fetch's progress onto the callers' operations (polling thread)."""
        with self._lock:
            ops = list(flight.ops)
        for op in ops:
            # A claimed op (canceled, or completed) keeps the figures it ended with;
            # its completion is dispatched on this thread, so none can slip between.
            if op.claimed:
                continue
            op.received, op.total = fetch_op.received, fetch_op.total
            op.speed, op.progress = fetch_op.speed, fetch_op.progress

    def _fetch_ended(self, flight: _Flight, fetch_op: Operation) -> None:
        """Safety net on the polling thread: a fetch canceled before it ran settles here."""
        error = fetch_op.error
        if error is not None and isinstance(error, OperationError):
            self._settle(flight, error)

    def _settle(self, flight: _Flight, error: OperationError | None, path: str = "",
                crc: str = "") -> None:  # fmt: skip
        """Close the flight and complete every operation in it (each at most once).

        Called by the fetch job on its worker; called again (a no-op then) by
        the internal operation's callback on the polling thread, which covers
        a fetch canceled before it ever ran.
        """
        with self._lock:
            flight.closed = True
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]
            if error is None:
                self._remember(flight.key, path, crc)
            ops, flight.ops = flight.ops, []
        engine = self._engine()
        for op in ops:
            engine._mark_running(op)
            if error is None:
                engine._complete(op, State.DONE, value=path, path=path, checksum=crc)
            else:
                state = State.CANCELED if isinstance(error, Canceled) else State.FAILED
                engine._complete(op, state, error=error, response=error.response)

    def _remember(self, key: str, path: str, crc: str) -> None:
        """Record a fetched entry, forgetting the least recently used beyond the bound.

        Thread-safety: call with ``self._lock`` held.
        """
        self._known[key] = (path, crc)
        self._known.move_to_end(key)
        while len(self._known) > KNOWN_URLS:
            self._known.popitem(last=False)

    def _check_wanted(self, ctx: TaskContext, flight: _Flight) -> None:
        """Raise Canceled once every caller gave up (closing the flight to joiners)."""
        ctx.check()
        with self._lock:
            if flight.ops and not all(op.claimed for op in flight.ops):
                return
            flight.closed = True
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]
        raise Canceled("GET", flight.url, "every caller canceled")

    # -- the worker's side ----------------------------------------------------------------

    def _fetch(self, ctx: TaskContext, request: Request, flight: _Flight) -> Outcome:
        """The flight's job, on a worker: fetch or revalidate, then complete everyone."""
        try:
            entry = self._obtain(ctx, request, flight)
        except OperationError as err:
            self._settle(flight, err)
            raise
        except OSError as exc:
            failure = OperationError("GET", request.url, f"image cache: {exc.strerror or exc}")
            self._settle(flight, failure)
            raise failure from exc
        except BaseException as exc:
            self._settle(flight, OperationError("GET", request.url, f"internal error: {exc!r}"))
            raise
        self._settle(flight, None, entry.path, entry.crc32)
        return Outcome(value=entry.path, extra={"path": entry.path, "checksum": entry.crc32})

    def _obtain(self, ctx: TaskContext, request: Request, flight: _Flight) -> CacheEntry:
        """Revalidate the disk entry (304 reuses it) or download the image anew."""
        entry = self.store.load(flight.key, request.url)
        if entry is not None:
            headers = dict(request.headers)
            if entry.etag:
                headers["If-None-Match"] = entry.etag
            if entry.last_modified:
                headers["If-Modified-Since"] = entry.last_modified
            conditional = dataclasses.replace(request, headers=headers)
            reused = self._attempts(ctx, conditional, flight, entry)
            if reused is not None:
                return reused
            self.store.forget(flight.key, request.url)  # the kept file is damaged: fetch it whole
        fetched = self._attempts(ctx, request, flight, None)
        assert fetched is not None
        return fetched

    def _attempts(
        self, ctx: TaskContext, request: Request, flight: _Flight, entry: CacheEntry | None
    ) -> CacheEntry | None:
        def once(attempt: int) -> CacheEntry | None:
            self._check_wanted(ctx, flight)
            stream = open_stream(ctx, self._transport, request, self._retry, attempt)
            try:
                if stream.status == 304 and entry is not None:
                    return self._reuse(entry)
                if stream.status >= 300:
                    raise status_error(request, stream)
                return self._receive(ctx, stream, request, flight)
            finally:
                stream.close()

        return with_retries(ctx, self._retry, "GET", once)

    def _reuse(self, entry: CacheEntry) -> CacheEntry | None:
        """The entry after a 304, if its file still is the image it was (else None)."""
        data = self.store.read(entry)
        if (
            data is None
            or len(data) != entry.size
            or sniff(data[:SNIFF_BYTES]) is None
            or f"{crc32(data) & 0xFFFFFFFF:08x}" != entry.crc32
        ):
            log.warning("image cache file %s is damaged; fetching it again", entry.path)
            return None
        return entry

    def _receive(
        self, ctx: TaskContext, stream: Stream, request: Request, flight: _Flight
    ) -> CacheEntry:
        """Stream the body into a temporary file, checking its signature early."""
        total = store_as_sent(stream, request)  # a gzip bomb stays gzip: no image
        head = bytearray()  # the first bytes, for the signature
        kind: str | None = None
        crc = 0
        temp = self.store.new_temp()
        try:
            with temp.file as f:

                def keep(data: bytes) -> None:
                    nonlocal kind, crc
                    if kind is None:
                        head.extend(data[: SNIFF_BYTES - len(head)])
                        if len(head) >= SNIFF_BYTES:  # decided before the rest arrives
                            kind = self._kind_of(bytes(head), request.url)
                    f.write(data)
                    crc = crc32(data, crc)

                size = pump(
                    ctx, stream, request, limit=self.max_bytes, chunk_size=self._chunk,
                    on_chunk=keep, total=total, check=lambda: self._check_wanted(ctx, flight),
                )  # fmt: skip
            if kind is None:  # a body shorter than the signature window
                kind = self._kind_of(bytes(head), request.url)
            check_complete(request, size, total)
            entry = self.store.save(
                flight.key, request.url, temp, kind, stream.headers.get("ETag"),
                stream.headers.get("Last-Modified"), f"{crc & 0xFFFFFFFF:08x}", size,
            )  # fmt: skip
        except BaseException:
            temp.discard()
            raise
        finally:
            temp.close()
        ctx.progress(size, total if total is not None else size, final=True)
        return entry

    @staticmethod
    def _kind_of(head: bytes, url: str) -> str:
        kind = sniff(head)
        if kind is None:
            raise InvalidImage(
                "GET", url, f"not a PNG, JPEG, GIF, WebP or BMP image; the body {describe(head)}"
            )
        return kind
