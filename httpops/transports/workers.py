"""The worker transport: bounded pools of threads running blocking jobs.

Runs on worker threads (``httpops-worker-N`` for requests,
``httpops-download-N`` for downloads and images). Each job runs its blocking
``work(ctx)`` (the ``requests`` transport's streams, or another
:class:`~httpops._transport.Transport`) between :meth:`Host.begin` and
:meth:`Host.finish`, which completes the operation. A cancel reaches a running job through its
:class:`~httpops._worker.TaskContext` (the engine aborts it), so
:meth:`WorkerTransport.cancel` has nothing more to do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._worker import WorkerPool

if TYPE_CHECKING:
    from .._config import Config
    from .._operation import Operation
    from . import Host, Job

__all__ = ["WorkerTransport"]


class WorkerTransport:
    """Two worker pools: one for requests, one for downloads and images.

    Downloads get their own threads so a long one never holds up a request.
    """

    name = "requests"

    def __init__(
        self, host: Host, config: Config, on_exit: Callable[[], None] | None = None
    ) -> None:
        self._host = host
        niceness = config.worker_niceness
        # Elastic: more request workers start while all are busy (long-polls), see
        # _worker; ``on_exit`` lets the stream transport drop an exiting worker's session.
        self.pool = WorkerPool(
            config.max_workers, niceness=niceness, elastic_cap=config.max_elastic_workers,
            on_exit=on_exit,
        )  # fmt: skip
        self.download_pool = WorkerPool(
            config.max_download_workers, "httpops-download", niceness=niceness
        )
        # Bound once: every request's ctx.on_bytes (an attribute read binds anew).
        self._touch = self.pool.touch

    def submit(self, job: Job) -> None:
        """Queue ``job`` on its pool. Thread-safety: any thread."""
        pool = self.download_pool if job.download else self.pool
        pool.submit(lambda: self.execute(job), job.priority)

    def execute(self, job: Job) -> None:
        """Run ``job.work`` on this worker thread and complete its operation.

        Thread-safety: a worker thread.
        """
        host = self._host
        ctx = host.begin(job.op, job.deadline)
        if ctx is None:
            return  # canceled while queued, or the engine is closing
        if not job.download:
            ctx.on_bytes = self._touch  # moving bytes is busy, not stuck (elastic rule)
        try:
            outcome = job.work(ctx)
        except Exception as exc:  # OperationError, or a bug the engine reports
            host.finish(job.op, ctx, error=exc)
        else:
            host.finish(job.op, ctx, outcome)

    def cancel(self, op: Operation) -> None:
        """Nothing to do: the engine aborts the job's context. Thread-safety: any."""

    def close(self, deadline: float) -> list[threading.Thread]:
        """Let every worker finish and join them until ``deadline``.

        Thread-safety: any thread except a worker.
        """
        clock = self._host.clock
        stuck = self.pool.shutdown(deadline, clock)
        return stuck + self.download_pool.shutdown(deadline, clock)

    def threads(self) -> list[threading.Thread]:
        """The worker threads started so far. Thread-safety: any thread."""
        return self.pool.threads + self.download_pool.threads
