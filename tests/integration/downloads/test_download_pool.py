"""Downloads run on their own pool, so a long one never holds up a request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import httpops
from tests.servers import HTTPTestServer


@pytest.mark.requests_transport
def test_a_stalled_download_does_not_hold_up_requests(
    make_engine: Callable[..., httpops.Engine],
    server: HTTPTestServer,
    dl_config: Callable[..., httpops.Config],
) -> None:
    engine = make_engine(dl_config(max_workers=1, max_download_workers=1))
    # Stalls mid-body for 20 s: it occupies the only download thread.
    download = engine.download(server.url("/file/stall?pause_after=1000&pause=20"), "stall.bin")
    op = engine.get_json(server.url("/json"))
    assert op.result(timeout=5) == {"hello": "world", "n": 1}
    assert not download.done()
    names = sorted(t.name for t in engine.threads())
    assert names == ["httpops-download-1", "httpops-worker-1"]
    download.cancel()
    assert engine.wait(download, timeout=5)
    assert download.state is httpops.State.CANCELED
