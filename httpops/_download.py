"""Downloads streamed to disk: verified, atomic, resumable.

Theory of operation
-------------------
:func:`start_download` runs in the caller's thread: it validates every
argument (URL, headers, timeout, ``sha256``, ``max_bytes``) and resolves the
target path, raising :class:`~httpops.InvalidArgument` for a relative path
that escapes ``Config.downloads_dir``. It then hands a :class:`DownloadJob`
to `Engine._start`; nothing touches the network or the disk in the
caller's thread except the path checks.

:meth:`DownloadJob.run` runs on a worker (``httpops-worker-N``):

1. Open the target's directory once, creating it, by walking down from the
   downloads directory without following links
   (:class:`~httpops._safe_files.SafeDir`); every later file operation is
   relative to that open directory. Re-check the path confinement (a
   symlink may have been planted since the call).
2. Stream the body in chunks into a temporary file beside the target
   (``.<name>.httpops-part``), opened ``O_NOFOLLOW`` (a fresh one ``O_CREAT
   | O_EXCL`` after unlinking whatever had the name) and checked with
   ``fstat`` to be a regular file with one link, updating CRC32 (and
   SHA-256 when asked) per chunk, reporting progress through the task
   context. A ``206`` that sends more than its ``Content-Range`` declares
   fails before the extra bytes are written.
3. When the body is complete (as long as Content-Length or Content-Range
   promised) and the SHA-256 matches, rename the temporary file over the
   target -- atomic, so the target is either the old file or the complete
   new one, never a mix -- but only if the temporary name still is the file
   written: a link swapped in meanwhile fails the download, never installed.

A failure, a cancel or a deadline never touches the target: right before
the rename the worker checks them and then *commits* the operation
(:meth:`~httpops._worker.TaskContext.commit`), after which a cancel no longer
wins, so an installed file is always reported as done. A transfer interrupted by the
network, a deadline or a cancel keeps its temporary file and a metadata file
(see :mod:`httpops._resume`) when the server gave a validator, so the next
``download`` of the same URL to the same file resumes with ``Range`` and
``If-Range``; every other failure (verification, size limit, HTTP 4xx)
removes them. Within one operation, a dropped body is retried (resumed when
possible) if ``Config.retry`` is set.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, BinaryIO

from ._config import DEFAULT, Config, Default
from ._download_paths import Target, claim_part, release_part, resolve_target, verify_confined
from ._download_sink import FileSink
from ._errors import (
    Canceled,
    ChecksumMismatch,
    HTTPStatusError,
    InvalidArgument,
    OperationError,
    TransportError,
    VerificationError,
)
from ._operation import Operation, OperationCallback
from ._resume import (
    Hashes,
    ResumeInfo,
    discard,
    load_resume,
    parse_content_range,
    save_resume,
    validator_of,
)
from ._safe_files import SafeDir
from ._transfer import (
    Outcome,
    check_complete,
    check_promised_size,
    content_length,
    identity_headers,
    open_stream,
    pump,
    raise_if_stopped,
    status_error,
    with_retries,
)
from ._transport import Request, Stream, Transport
from ._worker import TaskContext

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["DownloadJob", "start_download", "store_as_sent"]

log = logging.getLogger("httpops")

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# Downloads read bigger slices than in-memory bodies: fewer Python-level
# iterations per megabyte leave more of the GIL to the host's frame.
_MIN_DOWNLOAD_CHUNK = 1024 * 1024
# Seconds a download waits for another download of the same target to let go
# of the temporary file before it uses a private one (and does not resume).
_CLAIM_WAIT = 2.0
# Seconds between a direct write's cancel checks and progress samples (the
# speed meter wants many; events stay one per Config.progress_interval).
_TICK = 0.02


def start_download(
    engine: Engine,
    url: str,
    file: str | os.PathLike[str],
    callback: OperationCallback | None = None,
    on_progress: OperationCallback | None = None,
    *,
    sha256: str | None = None,
    resume: bool = True,
    max_bytes: int | None | Default = DEFAULT,
    headers: Mapping[str, str] | None = None,
    timeout: float | Default = DEFAULT,
    deadline: float | None | Default = DEFAULT,
    priority: int = 0,
    rate_limit: int | None = None,
) -> Operation:
    """Validate a download at the call and start it on a worker.

    Args:
        engine: The engine to run it on.
        url: Absolute http(s) URL.
        file: Target path; relative paths resolve under ``Config.downloads_dir``.
        callback: ``callback(op)`` when done; ``op.path`` and ``op.checksum``.
        on_progress: ``on_progress(op)`` as bytes arrive.
        sha256: Expected SHA-256 (64 hex digits); a mismatch fails the download.
        resume: Continue a kept temporary file of an earlier attempt.
        max_bytes: Size limit (default ``Config.max_download_bytes``; None: none).
        headers: Extra request headers.
        timeout: Connect and stall timeout (default: the config's).
        deadline: Seconds for the whole download (default
            ``Config.download_deadline``, which is None: no deadline).
        priority: Larger runs sooner among queued downloads (default 0).
        rate_limit: This download's cap in bytes per second (None: none).

    Returns:
        The :class:`Operation`, at once.

    Raises:
        InvalidURL, InvalidArgument, InvalidCallback, EngineClosed: At the call.

    Thread-safety: any thread.
    """
    config = engine.config
    request = engine._build_request("GET", url, identity_headers(headers), None, timeout)
    target = resolve_target(file, os.fspath(config.downloads_dir))
    expected = _check_sha256(sha256)
    limit = _check_max_bytes(max_bytes, config)
    if not isinstance(resume, bool):
        raise InvalidArgument(f"resume must be True or False, got {resume!r}")
    seconds = config.download_deadline if isinstance(deadline, Default) else deadline
    job = DownloadJob(engine.transport, config, request, target, expected, resume, limit)
    return engine._start(
        "download", "GET", url, job.run, callback, on_progress, seconds,
        priority=priority, rate_limit=rate_limit,
    )  # fmt: skip


def store_as_sent(stream: Stream, request: Request, *, warn: bool = True) -> int | None:
    """Make ``stream`` deliver its body as sent; returns its length in those bytes, if known.

    Files are stored as the server sent them. A download asks for
    ``Accept-Encoding: identity``; a server that still sends a
    ``Content-Encoding`` (gzip, say) gets its bytes stored undecoded, with a
    warning logged: decoding would break sizes, resume offsets and checksums,
    and 500 KB of gzip can inflate to gigabytes. ``Content-Length`` then
    counts exactly the bytes stored, and every size limit applies to them.
    A transport that cannot deliver raw bytes (no ``keep_encoding``) decodes,
    and the size limit still applies to the decoded bytes.
    """
    encoding = stream.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return content_length(stream.headers)
    keep_encoding = getattr(stream, "keep_encoding", None)
    if keep_encoding is None:
        return None
    keep_encoding()
    if warn:
        log.warning(
            "%s %s: server sent Content-Encoding %r although identity was asked; "
            "storing the bytes as sent (not decoded)",
            request.method, request.url, encoding,
        )  # fmt: skip
    return content_length(stream.headers, decoded=False)


def _check_sha256(sha256: object) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise InvalidArgument(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    return sha256.lower()


def _check_max_bytes(max_bytes: object, config: Config) -> int | None:
    if isinstance(max_bytes, Default):
        return config.max_download_bytes
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise InvalidArgument(f"max_bytes must be an integer >= 1 or None, got {max_bytes!r}")
    return max_bytes


class DownloadJob:
    """One download's work on its worker thread (see the module docstring).

    Created in the caller's thread with every argument already checked; its
    :meth:`run` is called exactly once, on a worker.
    """

    def __init__(
        self,
        transport: Transport,
        config: Config,
        request: Request,
        target: Target,
        sha256: str | None,
        resume: bool,
        max_bytes: int | None,
    ) -> None:
        self.transport = transport
        self.config = config
        self.request = request
        self.target = target
        self.sha256 = sha256
        self.resume = resume
        self.max_bytes = max_bytes
        self.chunk = max(config.chunk_size, _MIN_DOWNLOAD_CHUNK)
        # Worker-side state, carried from one attempt to the next.
        self._info: ResumeInfo | None = None  # the validator of the body being received
        self._hashes: Hashes | None = None  # hashes of the temporary file's bytes so far
        self._total: int | None = None
        self._written: tuple[int, int] | None = None  # (device, inode) of the file written
        self._warned = False  # about an unasked Content-Encoding: once per download

    # -- the whole job -------------------------------------------------------------------

    def run(self, ctx: TaskContext) -> Outcome:
        """Download, verify and rename into place; on a worker.

        Returns:
            ``Outcome`` whose value is the final path, with ``path`` and
            ``checksum`` (CRC32, 8 lowercase hex digits) for the operation.

        Raises:
            OperationError: Transport failure, HTTP status >= 400, truncated
                body, size limit, SHA-256 mismatch, or a file-system error.

        Thread-safety: the worker running the job only.
        """
        target = self.target
        try:
            folder = SafeDir.open(target.directory, target.root)
        except OSError as exc:
            raise self._file_error(exc, target.directory) from exc
        try:
            return self._run_in(ctx, folder)
        finally:
            folder.close()

    def _run_in(self, ctx: TaskContext, folder: SafeDir) -> Outcome:
        """:meth:`run` in the pinned directory of the target; files are handled by name."""
        target = self.target
        part = os.path.basename(target.part_path())
        try:
            self._check_confined()
            # A canceled download of this target may still be cleaning up: give it
            # a moment, so its kept bytes can be resumed.
            stable = claim_part(folder.shown(part), _CLAIM_WAIT, ctx.check)
            if not stable:  # another download writes this target now: no resume for us
                part = folder.unique_name(
                    f".{os.path.basename(target.path)[:100]}.", ".httpops-tmp"
                )
        except OSError as exc:
            raise self._file_error(exc, target.directory) from exc
        meta = target.meta_path(part) if stable and self.resume else ""
        try:
            if stable and not self.resume:
                discard(folder, target.meta_path(part))
            received = with_retries(
                ctx,
                self.config.retry,
                "GET",
                lambda attempt: self._attempt(ctx, folder, part, meta, attempt),
            )
            hashes = self._verified(received)
            self._check_confined()
            self._check_still_wanted(ctx)
            assert self._written is not None  # set by the attempt that received the body
            folder.install(part, os.path.basename(target.path), self._written)
            discard(folder, meta)
        except BaseException as exc:
            self._clean_up(exc, folder, part, meta)
            # TimeoutError_ is also an OSError (builtins.TimeoutError): not a file error.
            if isinstance(exc, OSError) and not isinstance(exc, OperationError):
                raise self._file_error(exc, folder.shown(part)) from exc
            raise
        finally:
            if stable:
                release_part(folder.shown(part))
        total = self._total if self._total is not None else received
        ctx.progress(received, total, final=True)
        path = target.path
        return Outcome(value=path, extra={"path": path, "checksum": hashes.crc_hex})

    def _check_confined(self) -> None:
        try:
            verify_confined(self.target)
        except InvalidArgument as exc:
            raise OperationError("GET", self.request.url, str(exc)) from None

    @staticmethod
    def _check_still_wanted(ctx: TaskContext) -> None:
        """The last check before the rename: raise if a cancel or the deadline came.

        Then it commits: from here on a cancel no longer wins, so a file that
        is renamed into place is always reported as done (or failed, if the
        rename itself fails), never as canceled.
        """
        ctx.check()
        if not ctx.commit():
            raise Canceled("GET", ctx.op.url, "canceled by the caller")

    def _file_error(self, exc: OSError, path: str) -> OperationError:
        reason = exc.strerror or str(exc)
        return OperationError("GET", self.request.url, f"cannot write {path}: {reason}")

    def _verified(self, received: int) -> Hashes:
        hashes = self._hashes
        if hashes is None or hashes.length != received:  # cannot happen; never rename blind
            raise OperationError("GET", self.request.url, "internal error: hash state lost")
        if self.sha256 is not None and hashes.sha_hex() != self.sha256:
            raise ChecksumMismatch(
                "GET", self.request.url,
                f"SHA-256 is {hashes.sha_hex()}, expected {self.sha256}; nothing was kept",
            )  # fmt: skip
        return hashes

    def _clean_up(self, exc: BaseException, folder: SafeDir, part: str, meta: str) -> None:
        """Keep the temporary file only when a later download can resume it."""
        resumable = isinstance(exc, (TransportError, Canceled)) or (
            isinstance(exc, HTTPStatusError) and exc.status >= 500
        )
        if meta and resumable and self._info is not None and folder.regular_size(meta) is not None:
            return
        meta = meta or self.target.meta_path(part)
        discard(folder, part, meta)

    # -- one attempt: open (resuming if possible), then receive --------------------------

    def _resume_point(self, folder: SafeDir, part: str, meta: str) -> tuple[ResumeInfo, int] | None:
        """Where to continue: the bytes already in ``part`` and their validator."""
        if self._info is not None and self._hashes is not None and self._hashes.length > 0:
            total = self._info.total
            if total is None or self._hashes.length < total:
                return self._info, self._hashes.length
            return None
        if meta:  # the kept bytes of an earlier run (or of a failed earlier attempt)
            return load_resume(folder, meta, part, self.request.url)
        return None

    def _attempt(
        self, ctx: TaskContext, folder: SafeDir, part: str, meta: str, attempt: int
    ) -> int:
        """Open the request and receive the body into ``part``; returns its size.

        ``attempt`` is how many tries came before (counted by ``with_retries``).
        """
        stream, offset = self._open(ctx, folder, part, meta, attempt)
        try:
            return self._receive(ctx, stream, folder, part, meta, offset)
        finally:
            stream.close()

    def _open(
        self, ctx: TaskContext, folder: SafeDir, part: str, meta: str, attempt: int
    ) -> tuple[Stream, int]:
        """Open the stream; returns it and the offset its body starts at."""
        point = self._resume_point(folder, part, meta)
        request = self.request
        if point is not None:
            info, size = point
            extra = {"Range": f"bytes={size}-", "If-Range": info.validator}
            request = dataclasses.replace(request, headers={**request.headers, **extra})
        stream = open_stream(ctx, self.transport, request, self.config.retry, attempt)
        if point is not None:
            offset = self._accepted_offset(stream, point[1])
            if offset:
                self._info = point[0]
            if offset is not None:
                return stream, offset
            # Refused or wrong range: restart cleanly from zero with a plain request
            # (part of the same try: the retry policy counts tries, not requests).
            stream.close()
            self._info = self._hashes = None
            stream = open_stream(ctx, self.transport, self.request, self.config.retry, attempt)
        self._check_status(stream)
        if stream.status == 206:
            parsed = parse_content_range(stream.headers.get("Content-Range"))
            if parsed is None or parsed[0] != 0:
                stream.close()
                raise OperationError(
                    "GET", self.request.url, "server sent a partial body that was not asked for"
                )
        return stream, 0

    def _accepted_offset(self, stream: Stream, size: int) -> int | None:
        """``size`` if the server continues at byte ``size``; 0 for a full 200; else None."""
        if stream.status == 206:
            parsed = parse_content_range(stream.headers.get("Content-Range"))
            return size if parsed is not None and parsed[0] == size else None
        if stream.status == 416:
            return None
        self._check_status(stream)
        self._info = self._hashes = None
        return 0  # a 200: the resource changed or ranges are not supported; this is all of it

    def _check_status(self, stream: Stream) -> None:
        if stream.status >= 400:
            raise status_error(self.request, stream)

    def _body_end(self, stream: Stream, offset: int) -> int | None:
        """Where the body must stop: the last byte of the 206 range plus one, else the total."""
        if stream.status == 206:
            parsed = parse_content_range(stream.headers.get("Content-Range"))
            if parsed is not None:
                return parsed[1] + 1
        return self._total

    def _overrun(self, end: int, position: int) -> VerificationError:
        """The error for a body that runs past the end its headers declared."""
        return VerificationError(
            "GET", self.request.url,
            f"body ran past its declared end: {position} bytes received where the "
            f"response declared {end} (Content-Range/Content-Length); nothing was kept",
        )  # fmt: skip

    def _body_total(self, stream: Stream, offset: int) -> int | None:
        length = store_as_sent(stream, self.request, warn=not self._warned)
        self._warned = True
        if stream.status == 206:
            parsed = parse_content_range(stream.headers.get("Content-Range"))
            if parsed is not None and parsed[2] is not None:
                return parsed[2]
            return None if length is None else offset + length
        return length

    def _start_body(self, stream: Stream, folder: SafeDir, meta: str, offset: int) -> None:
        """Checks and bookkeeping before the first byte of a body is written."""
        total = self._body_total(stream, offset)
        self._total = total
        if offset == 0:
            validator = validator_of(stream.headers)
            self._info = (
                None if validator is None else ResumeInfo(self.request.url, validator, total)
            )
            if meta and self._info is not None:
                save_resume(folder, meta, self._info)
            elif meta:
                discard(folder, meta)  # no validator: these bytes can never be resumed

    def _open_part(self, folder: SafeDir, part: str, offset: int) -> BinaryIO:
        """The temporary file, never through a link: fresh (O_EXCL) or the kept one.

        A kept file is hashed from the same open descriptor that is then written.
        """
        f: BinaryIO
        if offset == 0:
            f = os.fdopen(folder.create(part), "wb")
            self._hashes = Hashes(self.sha256 is not None)
        else:
            f = os.fdopen(folder.open_existing(part, writable=True), "r+b")
            try:
                hashes = self._hashes
                if hashes is None or hashes.length != offset:  # resuming another run's bytes
                    self._hashes = Hashes.of_prefix(f, offset, self.sha256 is not None)
                f.seek(offset)
                f.truncate()
            except BaseException:
                f.close()
                raise
        self._written = folder.identify(f.fileno())
        return f

    def _receive(
        self, ctx: TaskContext, stream: Stream, folder: SafeDir, part: str, meta: str, offset: int
    ) -> int:
        """Write the body into ``part`` from ``offset``; returns the final size."""
        self._start_body(stream, folder, meta, offset)
        end = self._body_end(stream, offset)
        with self._open_part(folder, part, offset) as f:
            hashes = self._hashes
            assert hashes is not None
            write_body = getattr(stream, "write_body", None)
            if write_body is not None and ctx.throttle is None:
                received = self._receive_direct(ctx, stream, write_body, f, hashes, end, offset)
                check_complete(self.request, received, self._total)
                return received

            def keep(data: bytes) -> None:
                # A close-delimited 206 has no Content-Length to stop the read at: a
                # server sending more than it declared is refused before the write.
                if end is not None and hashes.length + len(data) > end:
                    raise self._overrun(end, hashes.length + len(data))
                f.write(data)
                hashes.update(data)

            received = pump(
                ctx, stream, self.request, limit=self.max_bytes, chunk_size=self.chunk,
                on_chunk=keep, total=self._total, received=offset,
            )  # fmt: skip
        check_complete(self.request, received, self._total)
        return received

    def _receive_direct(
        self,
        ctx: TaskContext,
        stream: Stream,
        write_body: Callable[[FileSink, Callable[[], None], float], None],
        f: BinaryIO,
        hashes: Hashes,
        end: int | None,
        offset: int,
    ) -> int:
        """The body written by the thread that receives it (the curl transport's
        network thread) through a :class:`FileSink`; this worker waits, checks
        for cancel and reports progress. Same limits, checks and errors as
        :func:`~httpops._transfer.pump`. Not for a rate-limited download: its
        reads are paced here.
        """
        request, limit, total = self.request, self.max_bytes, self._total
        check_promised_size(request, total, limit)
        ctx.restart_speed(offset)
        sink = FileSink(
            f, hashes, ctx, request, received=offset, limit=limit, end=end, overrun=self._overrun
        )
        reported = offset

        def tick() -> None:
            nonlocal reported
            ctx.check()
            written = sink.written  # progress counts bytes in the file, as with pump()
            if written != reported and (total is None or written < total):
                reported = written
                ctx.progress(written, total)

        ctx.active_stream = stream  # a cancel or the watchdog breaks the transfer through it
        try:
            write_body(sink, tick, _TICK)
        except OperationError:
            if sink.error is None:
                try:
                    sink.flush()  # the bytes received are good: a resume continues after them
                except OSError:
                    pass  # the next attempt truncates the file to what was hashed
            raise_if_stopped(ctx)
            raise
        finally:
            ctx.active_stream = None
        if sink.error is not None:
            raise sink.error
        sink.flush()
        ctx.check()  # a stop can look like a clean end, as in pump()
        return sink.received
