"""Redirects and cookies on the curl transport: one hop at a time.

libcurl's own redirect following (``FOLLOWLOCATION``) and cookie engine are
off. The network loop follows a redirect itself -- each hop a new transfer
-- so every hop gets what the requests transport gives it:

* the engine's redirect rule (:func:`httpops._redirects.redirect_method`:
  RFC 9110, or OTCv8's re-POST on an http -> https upgrade), which
  libcurl's ``POSTREDIR`` cannot express;
* the limit ``max_redirects`` and only http/https targets;
* ``Authorization`` dropped when requests would drop it (another host, or
  another scheme/port but for http -> https on default ports), and a
  ``Cookie`` header of the caller's dropped at every redirect, the jar's
  cookies sent instead -- what requests does;
* the engine's Python cookie jar
  (:class:`~httpops._cookies.BoundedCookieJar`, the same bounds as on
  requests): ``Set-Cookie`` of every hop stored, the ``Cookie`` header of
  every hop built from it;
* a ``Response.history`` entry for every redirect followed.

Pure functions over :class:`~httpops._transport.Request`; they run on the
curl network thread (the jar locks internally, so the host may read it).
"""

from __future__ import annotations

import dataclasses
import email.message
import logging
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urljoin, urlsplit

from requests.sessions import SessionRedirectMixin
from requests.utils import requote_uri

from .._errors import ConnectError, TooManyRedirects
from .._redirects import redirect_method
from .._transport import Request

__all__ = ["REDIRECT_STATUSES", "cookie_header", "next_hop", "store_cookies"]

log = logging.getLogger("httpops")

#: Statuses followed when they carry a Location (requests' ``REDIRECT_STATI``).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that describe a body: gone with the body when a redirect drops it.
_BODY_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding"})
_STRIP_AUTH = SessionRedirectMixin().should_strip_auth  # requests' own rule, no state


def next_hop(original: Request, hop: Request, status: int, location: str, followed: int) -> Request:
    """The request of the hop after ``hop``, which answered ``status`` with ``location``.

    Args:
        original: The request as the caller made it (limits, policy, error URL).
        hop: The request that was redirected.
        status: Its 3xx status.
        location: Its ``Location`` header, as sent.
        followed: Redirects followed before this one.

    Raises:
        TooManyRedirects: ``max_redirects`` were followed already.
        ConnectError: The target is not an http(s) URL.
    """
    method, url = original.method, original.url
    if followed >= original.max_redirects:
        raise TooManyRedirects(method, url, f"more than {original.max_redirects} redirects")
    target = _target(hop.url, location)
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise ConnectError(method, url, f"redirect refused: {target!r} is not an http(s) URL")
    new_method, keep_body = redirect_method(hop.method, status, hop.url, target, original.redirects)
    drop = {"cookie"}  # rebuilt from the jar at every hop, as requests does
    if not keep_body:
        drop |= _BODY_HEADERS
    if _STRIP_AUTH(hop.url, target):  # type: ignore[no-untyped-call]
        drop.add("authorization")
    headers = {name: value for name, value in hop.headers.items() if name.lower() not in drop}
    body = hop.body if keep_body else None
    return dataclasses.replace(
        hop, method=new_method, url=target, params=None, headers=headers, body=body
    )


def _target(current: str, location: str) -> str:
    """The absolute URL ``location`` points to, as requests resolves it."""
    try:  # sent as Latin-1 on the wire, meant as UTF-8 (requests' get_redirect_target)
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    if location.startswith("//"):
        location = f"{urlsplit(current).scheme}:{location}"
    parts = urlsplit(location)
    if not parts.fragment:  # a fragment carries over a redirect that has none
        fragment = urlsplit(current).fragment
        if fragment:
            location = parts._replace(fragment=fragment).geturl()
    if not parts.netloc:
        return str(urljoin(current, requote_uri(location)))
    return str(requote_uri(location))


def cookie_header(jar: CookieJar, hop: Request) -> str | None:
    """The ``Cookie`` header the jar has for ``hop`` (None: no cookie applies)."""
    if not len(jar):
        return None
    shim = urllib.request.Request(hop.url, method=hop.method)
    jar.add_cookie_header(shim)
    return shim.get_header("Cookie")


class _Answer:
    """The part of a urllib response ``CookieJar.extract_cookies`` reads."""

    def __init__(self, message: email.message.Message) -> None:
        self._message = message

    def info(self) -> email.message.Message:
        return self._message


def store_cookies(jar: CookieJar, hop: Request, lines: list[tuple[str, str]]) -> None:
    """Put the ``Set-Cookie`` headers among ``lines`` (one hop's answer) into ``jar``."""
    message: email.message.Message | None = None
    for name, value in lines:
        if name.lower() in ("set-cookie", "set-cookie2"):
            if message is None:
                message = email.message.Message()
            message[name] = value
    if message is None:
        return
    try:
        shim = urllib.request.Request(hop.url, method=hop.method)
        jar.extract_cookies(_Answer(message), shim)  # type: ignore[arg-type]
    except Exception:  # a cookie the jar cannot parse is ignored, as requests ignores it
        log.debug("cookies of %s %s not stored", hop.method, hop.url, exc_info=True)
