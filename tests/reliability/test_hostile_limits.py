"""Limits a hostile HTTP peer meets (issue 9, items 3, 7, 8 and 16).

* Low-speed rule: a body slower than ``low_speed_limit`` bytes/s on average
  over ``low_speed_time`` fails with a ReadTimeout naming the URL and the
  rule -- also for a download or an image with no deadline at all.
* ``max_json_bytes``: a small gzip body inflating past the JSON limit fails
  with BodyTooLarge before ``json.loads`` runs.
* The cookie jar: a server setting thousands of cookies leaves a bounded jar,
  and requests to another host still complete.
* ``verify=False`` leaves the process's ``warnings`` filters as they were and
  emits no InsecureRequestWarning for the engine's own requests.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

import httpops
from httpops._cookies import COOKIES_PER_DOMAIN, COOKIES_TOTAL, BoundedCookieJar
from tests.servers import HTTPTestServer, RawTCPServer
from tests.servers import misbehaving as mb
from tests.servers.hostile_http import cookie_flood, gzip_json, slow_body

Start = Callable[..., RawTCPServer]
MiB = 1024 * 1024


# -- low-speed rule ------------------------------------------------------------------------


def _start(engine: httpops.Engine, kind: str, url: str) -> httpops.Operation:
    if kind == "get":
        return engine.get(url)
    if kind == "download":
        return engine.download(url, "slow.bin", deadline=None)
    return engine.download_image(url)


@pytest.mark.parametrize("kind", ["get", "download", "image"])
@pytest.mark.slow
def test_low_speed_rule_ends_a_drip_without_a_deadline(
    kind: str,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    tmp_path: Path,
) -> None:
    # 200 B/s, sent every 0.1 s: no stall timeout fires and there is no deadline.
    server = raw(slow_body(rate=200))
    config = fast_config(
        read_timeout=2.0, deadline=None, download_deadline=None, image_deadline=None,
        low_speed_limit=1000, low_speed_time=1.0,
    )  # fmt: skip
    engine = make_engine(config)
    url = server.url(f"/slow-{kind}")
    op = _start(engine, kind, url)
    assert engine.wait(op, timeout=6.0), "the low-speed rule did not end the drip"
    assert op.state is httpops.State.FAILED, (op.state, op.value)
    assert isinstance(op.error, httpops.ReadTimeout), op.error
    text = str(op.error)
    assert url in text and "low-speed limit of 1000 B/s" in text and "over 1s" in text, text
    assert not (tmp_path / "downloads" / "slow.bin").exists()


@pytest.mark.slow
def test_low_speed_rule_lets_a_steady_body_through(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # 20 kB at 10 kB/s: two full windows, each well above 1000 B/s.
    server = raw(slow_body(rate=10_000, total=20_000))
    engine = make_engine(fast_config(read_timeout=2.0, low_speed_limit=1000, low_speed_time=0.5))
    op = engine.download(server.url("/steady"), "steady.bin", deadline=None)
    assert engine.wait(op, timeout=10.0)
    assert op.state is httpops.State.DONE, op.error
    assert Path(op.value).stat().st_size == 20_000


def test_default_rules_are_finite() -> None:
    config = httpops.Config()
    assert config.low_speed_limit is not None and config.low_speed_limit <= 1024
    assert config.low_speed_time <= 60
    assert config.image_deadline is not None and config.image_deadline <= 60
    assert config.max_json_bytes == 8 * MiB
    assert config.download_deadline is None  # still possible: big downloads


# -- max_json_bytes --------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["get_json", "post_json"])
def test_json_amplification_fails_before_decoding(
    call: str,
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    # About 45 kB of gzip inflating to 40 MiB of [{},{},...]: inside max_body_bytes.
    server = raw(gzip_json(40 * MiB))
    engine = make_engine(fast_config(max_json_bytes=1 * MiB))
    url = server.url("/bomb")
    op = engine.get_json(url) if call == "get_json" else engine.post_json(url, {"q": 1})
    assert engine.wait(op, timeout=10.0)
    assert isinstance(op.error, httpops.BodyTooLarge), (op.state, op.error)
    text = str(op.error)
    assert url in text and f"max_json_bytes ({MiB} bytes)" in text, text


def test_json_limit_does_not_apply_to_plain_bodies(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    server = raw(gzip_json(2 * MiB))
    engine = make_engine(fast_config(max_json_bytes=1 * MiB))
    big = engine.get(server.url("/plain"))
    assert engine.wait(big, timeout=10.0)
    assert big.state is httpops.State.DONE, big.error
    assert len(big.value.content) >= 2 * MiB - 3


# -- cookie jar ------------------------------------------------------------------------------


def test_cookie_flood_leaves_a_bounded_jar(
    raw: Start,
    http_server: HTTPTestServer,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
) -> None:
    flood = raw(cookie_flood(2_000))
    engine = make_engine(fast_config())
    for _ in range(40):  # 90 cookies a response: bounded loop, ends when the server says so
        op = engine.get(flood.url("/cookies"))
        assert engine.wait(op, timeout=10.0)
        assert op.state is httpops.State.DONE, op.error
        if op.value.content == b"left=0":
            break
    else:
        pytest.fail("the cookie flood never ended")
    jar = engine.transport.cookies  # type: ignore[attr-defined]
    assert isinstance(jar, BoundedCookieJar)
    assert len(jar) == COOKIES_PER_DOMAIN == len(list(jar))
    # The newest survive, the oldest went first.
    assert {c.name for c in jar} == {f"c{i}" for i in range(2_000 - COOKIES_PER_DOMAIN, 2_000)}
    other = engine.get(http_server.url("/text"))
    assert engine.wait(other, timeout=10.0)
    assert other.state is httpops.State.DONE, other.error


def test_cookie_jar_limits_total_size_and_self_update() -> None:
    """The total bound across domains and the 4 KiB refusal (no server needed for the jar)."""
    from http.cookiejar import Cookie

    def cookie(domain: str, name: str, value: str = "v") -> Cookie:
        return Cookie(
            0, name, value, None, False, domain, True, False, "/", True, False, None, False,
            None, None, {},
        )  # fmt: skip

    jar = BoundedCookieJar()
    for d in range(COOKIES_TOTAL // 10 + 20):
        for n in range(10):
            jar.set_cookie(cookie(f"h{d}.example", f"n{n}"))
    assert len(jar) == COOKIES_TOTAL == len(list(jar))
    assert not any(c.domain == "h0.example" for c in jar)  # oldest domain evicted first
    jar.set_cookie(cookie("big.example", "big", "x" * 5000))
    assert not any(c.name == "big" for c in jar)
    jar.update(jar)  # what requests' redirect code does with the shared jar: a no-op
    assert len(jar) == COOKIES_TOTAL
    jar.clear("h100.example")
    assert len(jar) == COOKIES_TOTAL - 10 == len(list(jar))


def test_cookie_jar_sweeps_expired_cookies_only_when_one_can_have_expired() -> None:
    import time
    from http.cookiejar import Cookie

    def cookie(name: str, expires: int | None) -> Cookie:
        return Cookie(
            0, name, "v", None, False, "a.example", True, False, "/", True, False, expires,
            False, None, None, {},
        )  # fmt: skip

    jar = BoundedCookieJar()
    jar.set_cookie(cookie("session", None))
    jar.set_cookie(cookie("later", int(time.time()) + 3600))
    jar.clear_expired_cookies()
    assert len(jar) == 2
    jar.set_cookie(cookie("gone", int(time.time()) - 1))
    jar.clear_expired_cookies()
    assert sorted(c.name for c in jar) == ["later", "session"] and len(jar) == 2


# -- verify=False and warnings ---------------------------------------------------------------


def test_verify_false_leaves_warning_filters_alone(
    raw: Start,
    make_engine: Callable[..., httpops.Engine],
    fast_config: Callable[..., httpops.Config],
    ca: trustme.CA,
) -> None:
    seen: list[bytes] = []
    server = raw(mb.tls(mb.expired_cert(ca), mb.recording_ok(seen, b"insecure")))
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inner = list(warnings.filters)
        engine = make_engine(fast_config(verify=False))
        op = engine.get(f"https://127.0.0.1:{server.port}/x")
        assert engine.wait(op, timeout=10.0)
        assert op.state is httpops.State.DONE, op.error
        engine.close()
        assert warnings.filters == inner
    assert warnings.filters == before
    insecure = [w for w in caught if "Unverified HTTPS" in str(w.message)]
    assert insecure == []
