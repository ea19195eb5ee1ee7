"""Downloads streamed to disk: verified, atomic, resumable.

Theory of operation
-------------------
:func:`start_download` runs in the caller's thread: it validates every
argument (URL, headers, timeout, ``sha256``, ``max_bytes``) and resolves the
target path, raising :class:`~httpops.InvalidArgument` for a relative path
that escapes ``Config.downloads_dir``. It then hands a :class:`DownloadJob`
to :meth:`Engine.start`; nothing touches the network or the disk in the
caller's thread except the path checks.

:meth:`DownloadJob.run` runs on a worker (``httpops-worker-N``):

1. Create the target's directory; re-check the path confinement (a symlink
   may have been planted since the call).
2. Stream the body in chunks into a temporary file beside the target
   (``.<name>.httpops-part``), updating CRC32 (and SHA-256 when asked) per
   chunk, reporting progress through the task context.
3. When the body is complete (as long as Content-Length or Content-Range
   promised) and the SHA-256 matches, rename the temporary file over the
   target with ``os.replace`` -- atomic, so the target is either the old
   file or the complete new one, never a mix.

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
import os
import re
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._config import DEFAULT, Config, Default
from ._download_paths import Target, claim_part, release_part, resolve_target, verify_confined
from ._errors import (
    Canceled,
    ChecksumMismatch,
    HTTPStatusError,
    InvalidArgument,
    OperationError,
    TransportError,
)
from ._operation import Operation, OperationCallback
from ._resume import (
    Hashes,
    ResumeInfo,
    discard,
    load_resume,
    parse_content_range,
    remove_quietly,
    save_resume,
    validator_of,
)
from ._transfer import (
    Outcome,
    check_complete,
    content_length,
    identity_headers,
    open_stream,
    pump,
    status_error,
    with_retries,
)
from ._transport import Request, Stream, Transport
from ._worker import TaskContext

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["DownloadJob", "start_download"]

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# Downloads read bigger slices than in-memory bodies: fewer Python-level
# iterations per megabyte leave more of the GIL to the host's frame.
_MIN_DOWNLOAD_CHUNK = 1024 * 1024
# Seconds a download waits for another download of the same target to let go
# of the temporary file before it uses a private one (and does not resume).
_CLAIM_WAIT = 2.0


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

    Returns:
        The :class:`Operation`, at once.

    Raises:
        InvalidURL, InvalidArgument, InvalidCallback, EngineClosed: At the call.

    Thread-safety: any thread.
    """
    config = engine.config
    request = engine.build_request("GET", url, identity_headers(headers), None, timeout)
    target = resolve_target(file, os.fspath(config.downloads_dir))
    expected = _check_sha256(sha256)
    limit = _check_max_bytes(max_bytes, config)
    if not isinstance(resume, bool):
        raise InvalidArgument(f"resume must be True or False, got {resume!r}")
    seconds = config.download_deadline if isinstance(deadline, Default) else deadline
    job = DownloadJob(engine.transport, config, request, target, expected, resume, limit)
    return engine.start("download", "GET", url, job.run, callback, on_progress, seconds)


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
            os.makedirs(target.directory, exist_ok=True)
            self._check_confined()
            part = target.part_path()
            # A canceled download of this target may still be cleaning up: give it
            # a moment, so its kept bytes can be resumed.
            stable = claim_part(part, _CLAIM_WAIT, ctx.check)
            if not stable:  # another download writes this target now: no resume for us
                part = self._unique_part()
        except OSError as exc:
            raise self._file_error(exc, target.directory) from exc
        meta = target.meta_path(part) if stable and self.resume else ""
        try:
            if stable and not self.resume:
                remove_quietly(target.meta_path(part))
            received = with_retries(
                ctx,
                self.config.retry,
                "GET",
                lambda attempt: self._attempt(ctx, part, meta, attempt),
            )
            hashes = self._verified(received)
            self._check_confined()
            self._check_still_wanted(ctx)
            os.replace(part, target.path)
            remove_quietly(meta)
        except BaseException as exc:
            self._clean_up(exc, part, meta)
            # TimeoutError_ is also an OSError (builtins.TimeoutError): not a file error.
            if isinstance(exc, OSError) and not isinstance(exc, OperationError):
                raise self._file_error(exc, part) from exc
            raise
        finally:
            if stable:
                release_part(part)
        total = self._total if self._total is not None else received
        ctx.progress(received, total, final=True)
        path = target.path
        return Outcome(value=path, extra={"path": path, "checksum": hashes.crc_hex})

    def _unique_part(self) -> str:
        name = os.path.basename(self.target.path)[:100]
        fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".httpops-tmp",
                                    dir=self.target.directory)  # fmt: skip
        os.close(fd)
        return path

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

    def _clean_up(self, exc: BaseException, part: str, meta: str) -> None:
        """Keep the temporary file only when a later download can resume it."""
        resumable = isinstance(exc, (TransportError, Canceled)) or (
            isinstance(exc, HTTPStatusError) and exc.status >= 500
        )
        if meta and resumable and self._info is not None and os.path.exists(meta):
            return
        discard(part, meta or self.target.meta_path(part))

    # -- one attempt: open (resuming if possible), then receive --------------------------

    def _resume_point(self, part: str, meta: str) -> tuple[ResumeInfo, int] | None:
        """Where to continue: the bytes already in ``part`` and their validator."""
        if self._info is not None and self._hashes is not None and self._hashes.length > 0:
            total = self._info.total
            if total is None or self._hashes.length < total:
                return self._info, self._hashes.length
            return None
        if meta:  # the kept bytes of an earlier run (or of a failed earlier attempt)
            return load_resume(meta, part, self.request.url)
        return None

    def _attempt(self, ctx: TaskContext, part: str, meta: str, attempt: int) -> int:
        """Open the request and receive the body into ``part``; returns its size.

        ``attempt`` is how many tries came before (counted by ``with_retries``).
        """
        stream, offset = self._open(ctx, part, meta, attempt)
        try:
            return self._receive(ctx, stream, part, meta, offset)
        finally:
            stream.close()

    def _open(self, ctx: TaskContext, part: str, meta: str, attempt: int) -> tuple[Stream, int]:
        """Open the stream; returns it and the offset its body starts at."""
        point = self._resume_point(part, meta)
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

    def _body_total(self, stream: Stream, offset: int) -> int | None:
        if stream.status == 206:
            parsed = parse_content_range(stream.headers.get("Content-Range"))
            if parsed is not None and parsed[2] is not None:
                return parsed[2]
            length = content_length(stream.headers)
            return None if length is None else offset + length
        return content_length(stream.headers)

    def _start_body(self, stream: Stream, part: str, meta: str, offset: int) -> Hashes:
        """Checks and bookkeeping before the first byte of a body is written."""
        total = self._body_total(stream, offset)
        self._total = total
        if offset == 0:
            validator = validator_of(stream.headers)
            self._info = (
                None if validator is None else ResumeInfo(self.request.url, validator, total)
            )
            if meta and self._info is not None:
                save_resume(meta, self._info)
            elif meta:
                remove_quietly(meta)  # no validator: these bytes can never be resumed
            return Hashes(self.sha256 is not None)
        hashes = self._hashes
        if hashes is None or hashes.length != offset:  # resuming another run's bytes
            hashes = Hashes.of_prefix(part, offset, self.sha256 is not None)
        return hashes

    def _receive(self, ctx: TaskContext, stream: Stream, part: str, meta: str, offset: int) -> int:
        """Write the body into ``part`` from ``offset``; returns the final size."""
        hashes = self._start_body(stream, part, meta, offset)
        self._hashes = hashes
        with open(part, "r+b" if offset else "wb") as f:
            if offset:
                f.seek(offset)
                f.truncate()

            def keep(data: bytes) -> None:
                f.write(data)
                hashes.update(data)

            received = pump(
                ctx, stream, self.request, limit=self.max_bytes, chunk_size=self.chunk,
                on_chunk=keep, total=self._total, received=offset,
            )  # fmt: skip
        check_complete(self.request, received, self._total)
        return received
