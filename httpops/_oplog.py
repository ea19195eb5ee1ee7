"""One debug line per finished operation on the ``httpops`` logger.

For a user diagnosing a game in the field: turn on
``logging.getLogger("httpops").setLevel(logging.DEBUG)`` and every operation
says, once, how it ended::

    op 7 GET http://127.0.0.1:8000/api/player/3 -> done 200, 312 bytes in 0.041 s
    op 8 GET http://127.0.0.1:8000/slow -> failed -, 0 bytes in 0.302 s: timeout: GET ...

The line is written where the operation completes -- when ``poll()``
dispatches its completion, on the polling thread -- so the figures are the
final ones. The engine checks ``log.isEnabledFor(logging.DEBUG)`` first:
with DEBUG off a completion costs one level check, no formatting.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._operation import Operation

__all__ = ["log_completion"]

log = logging.getLogger("httpops")


def log_completion(op: Operation, now: float) -> None:
    """Log ``op``'s end at DEBUG: method, URL, state, status, bytes, time since it started.

    ``now`` is the engine's clock; the duration runs from the call that started
    the operation to this dispatch. Status is ``-`` when no response arrived.

    Thread-safety: the polling thread, inside the completion's dispatch.
    """
    status = "-" if op.response is None else str(op.response.status)
    received = op.received
    if op.response is not None and not received:
        received = len(op.response.content)  # no progress figures were kept
    error = "" if op.error is None else f": {op.error}"
    log.debug(
        "op %d %s %s -> %s %s, %d bytes in %.3f s%s",
        op.id, op.method, op.url, op.state, status, received, now - op._started, error,
    )  # fmt: skip
