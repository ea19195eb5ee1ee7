"""The tkinter adapter: a ``root.after`` loop polls the engine inside Tk's event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

import httpops
from tests.servers import HTTPTestServer

tkinter = pytest.importorskip("tkinter", reason="tkinter is not available")
from httpops.integrations.tkinter import schedule  # noqa: E402

EngineFactory = Callable[..., httpops.Engine]


@pytest.fixture
def root() -> Iterator[object]:
    try:
        tk = tkinter.Tk()
    except tkinter.TclError as exc:
        pytest.skip(f"no display for Tk: {exc}")
    tk.withdraw()
    yield tk
    tk.destroy()


def test_after_loop_delivers_on_tk_thread(
    make_engine: EngineFactory, http_server: HTTPTestServer, root: tkinter.Tk
) -> None:
    engine = make_engine()
    main = threading.get_ident()
    got: list[bool] = []
    stop = schedule(engine, root, interval_ms=5)

    def done(op: httpops.Operation) -> None:
        got.append(threading.get_ident() == main)
        root.quit()

    engine.get_json(http_server.url("/json"), done)
    root.after(10_000, root.quit)  # a safety net, not a wait: the callback quits first
    root.mainloop()
    stop()
    assert got == [True]


def test_interval_must_be_a_positive_int(make_engine: EngineFactory, root: tkinter.Tk) -> None:
    with pytest.raises(ValueError, match="interval_ms"):
        schedule(make_engine(), root, interval_ms=0)
