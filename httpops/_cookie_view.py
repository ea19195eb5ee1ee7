"""``engine.cookies``: a view of the engine's shared cookie jar.

The jar itself belongs to the transport (for ``requests``, the bounded
``http.cookiejar.CookieJar`` every worker's session shares). The view reads
and changes it the way a user expects -- ``get``/``set``/``clear``,
iteration over ``http.cookiejar.Cookie`` objects -- and persists it in the
Netscape/Mozilla ``cookies.txt`` format (``http.cookiejar.MozillaCookieJar``),
so a game can keep a login across runs. Cookies loaded pass through the
jar's own limits.

With ``Config(cookies=False)`` there is no jar: the view is empty, and
``set``/``load`` raise.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.cookiejar import Cookie, CookieJar, CookiePolicy, MozillaCookieJar

from ._errors import InvalidArgument

__all__ = ["NO_COOKIES", "CookieView"]


class _RefuseAll(CookiePolicy):
    """A ``CookiePolicy`` that neither stores nor returns any cookie (``cookies=False``).

    A policy, not just an empty jar: requests copies the jar while it follows
    redirects, and the copy keeps the policy, so not even a cookie set by a
    redirect reaches the next hop.
    """

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie: Cookie, request: object) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: object) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: object) -> bool:
        return False

    def path_return_ok(self, path: str, request: object) -> bool:
        return False


#: The policy of a jar that keeps nothing (``Config(cookies=False)``).
NO_COOKIES = _RefuseAll()


class CookieView:
    """The engine's cookies: read, set, clear, save to and load from a ``cookies.txt`` file.

    Get it from [`Engine.cookies`][httpops.Engine.cookies]. Iterating gives
    ``http.cookiejar.Cookie`` objects; ``jar`` is the ``http.cookiejar.CookieJar``
    itself, for code that wants one.

    Thread-safety: any thread (the jar locks internally); requests in
    flight may add cookies at the same time.
    """

    def __init__(self, jar: CookieJar | None) -> None:
        policy = getattr(jar, "_policy", None)  # CookieJar keeps it there (no getter in typeshed)
        self._jar = jar if jar is not None and policy is not NO_COOKIES else None
        self._lock = threading.Lock()  # one save/load at a time

    @property
    def enabled(self) -> bool:
        """False with ``Config(cookies=False)``. Thread-safety: any thread."""
        return self._jar is not None

    @property
    def jar(self) -> CookieJar:
        """The shared ``http.cookiejar.CookieJar`` (an empty one when cookies are off)."""
        return self._jar if self._jar is not None else CookieJar()

    def __iter__(self) -> Iterator[Cookie]:
        return iter(list(self._jar)) if self._jar is not None else iter(())

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return any(cookie.name == name for cookie in self)

    def get(
        self, name: str, default: str | None = None, *, domain: str | None = None
    ) -> str | None:
        """The value of the cookie ``name`` (the first found; narrow with ``domain``)."""
        for cookie in self:
            if cookie.name == name and (domain is None or cookie.domain.lstrip(".") == domain):
                return cookie.value
        return default

    def set(
        self,
        name: str,
        value: str,
        *,
        domain: str,
        path: str = "/",
        secure: bool = False,
        expires: int | None = None,
    ) -> None:
        """Store a cookie sent to ``domain`` (an exact host, e.g. ``"127.0.0.1"``).

        Raises:
            InvalidArgument: Cookies are off, or a bad name/value/domain.
        """
        jar = self._require()
        for what, text in (("name", name), ("value", value), ("domain", domain), ("path", path)):
            if not isinstance(text, str) or any(c in text for c in ";\r\n\0"):
                raise InvalidArgument(f"cookie {what} must be a str without ';', CR, LF or NUL")
        if not name or not domain:
            raise InvalidArgument("cookie name and domain must not be empty")
        # version, name, value, port, port given, domain, domain given, domain dot,
        # path, path given, secure, expires, discard, comment, comment url, rest
        cookie = Cookie(
            0, name, value, None, False, domain, False, domain.startswith("."),
            path, True, secure, expires, expires is None, None, None, {},
        )  # fmt: skip
        jar.set_cookie(cookie)

    def clear(self, domain: str | None = None) -> None:
        """Forget every cookie, or those of ``domain``."""
        if self._jar is None:
            return
        if domain is None:
            self._jar.clear()
            return
        for name in {c.domain for c in self if c.domain.lstrip(".") == domain.lstrip(".")}:
            self._jar.clear(name)

    def save(self, filename: str | os.PathLike[str], *, ignore_discard: bool = True) -> None:
        """Write the cookies to ``filename`` in the Mozilla ``cookies.txt`` format.

        ``ignore_discard`` (True) also saves session cookies, which a game
        usually wants to keep across runs.
        """
        mozilla = MozillaCookieJar()
        for cookie in self:
            mozilla.set_cookie(cookie)
        with self._lock:
            mozilla.save(os.fspath(filename), ignore_discard=ignore_discard, ignore_expires=False)

    def load(self, filename: str | os.PathLike[str], *, ignore_discard: bool = True) -> int:
        """Add the cookies saved in ``filename`` (Mozilla ``cookies.txt``); return how many.

        Raises:
            InvalidArgument: Cookies are off. OSError: The file cannot be read.
        """
        jar = self._require()
        mozilla = MozillaCookieJar()
        with self._lock:
            mozilla.load(os.fspath(filename), ignore_discard=ignore_discard, ignore_expires=False)
        count = 0
        for cookie in mozilla:
            jar.set_cookie(cookie)
            count += 1
        return count

    def _require(self) -> CookieJar:
        if self._jar is None:
            raise InvalidArgument("cookies are off (Config(cookies=False))")
        return self._jar

    def __repr__(self) -> str:
        return (
            f"<httpops.CookieView {len(self)} cookie(s)>"
            if self.enabled
            else "<httpops.CookieView off>"
        )
