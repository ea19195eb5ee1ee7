"""Every HTTP method: ``request()``, ``request_json()``, ``put``, ``patch``, ``delete``, ``head``.

A mixin of [`Engine`][httpops.Engine], kept out of ``_engine.py`` (which
holds the registry and the poll loop). Each method validates its
arguments on the caller's thread, encodes the body (`httpops._body`) and
hands one resolved request to ``Engine._http``; nothing here blocks.

Bodies, for every method that sends one: ``data=`` bytes as-is, str as a
form body, a dict or list as JSON, a ``pathlib.Path`` or open binary file
streamed from disk; ``json=`` anything JSON-serialisable; ``files=`` a
multipart form (with ``data=`` as its fields). Retries follow
[`Retry`][httpops.Retry]: GET, HEAD, PUT, DELETE and OPTIONS are retried,
POST and PATCH only with ``Retry(retry_non_idempotent=True)``.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

from ._auth import auth_header
from ._body import _NO_JSON, encode_body
from ._config import DEFAULT, Default, Retry
from ._cookie_view import CookieView
from ._errors import InvalidArgument
from ._operation import Operation
from ._redirects import RFC9110, RedirectPolicy
from ._response import Response
from ._validation import check_headers

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._auth import Auth
    from ._callbacks import JSONCallback, ResponseCallback

__all__ = ["MethodsMixin", "check_method", "check_retry", "proxies_for", "with_auth"]

_JSON = "application/json"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# CONNECT opens a tunnel, not a request with a response body: not ours to send.
_REFUSED = frozenset({"CONNECT"})

FilesArg = Mapping[str, Any] | None


class RequestKeywords(TypedDict, total=False):
    """The keywords ``put``/``patch`` pass on to ``request`` (for type checkers)."""

    json: Any
    files: FilesArg
    content_type: str | None
    on_progress: ResponseCallback | None
    headers: Mapping[str, str] | None
    params: Mapping[str, Any] | None
    auth: Auth | None
    timeout: float | Default
    deadline: float | Default | None
    retry: Retry | None | Default
    raise_for_status: bool
    redirects: RedirectPolicy
    priority: int


class BodyKeywords(RequestKeywords, total=False):
    """``RequestKeywords`` plus ``data`` (``delete``/``head``)."""

    data: Any


def check_method(method: object) -> str:
    """The method in capitals; raises InvalidArgument for a non-token or CONNECT."""
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise InvalidArgument(f"method must be an HTTP method name like 'PUT', got {method!r}")
    method = method.upper()
    if method in _REFUSED:
        raise InvalidArgument(f"method {method} is not supported")
    return method


def check_retry(default: Retry | None, retry: object) -> Retry | None:
    """The retry policy of a call: ``default`` (the config's) unless ``retry`` is given."""
    if isinstance(retry, Default):
        return default
    if retry is not None and not isinstance(retry, Retry):
        raise InvalidArgument(f"retry must be a httpops.Retry or None, got {retry!r}")
    return retry


def with_auth(headers: Mapping[str, str] | None, auth: object) -> Mapping[str, str] | None:
    """``headers`` with the ``Authorization`` of ``auth`` (it wins, as in requests)."""
    authorization = auth_header(auth)
    if authorization is None:
        return headers
    kept = {k: v for k, v in check_headers(headers).items() if k.lower() != "authorization"}
    return {**kept, "Authorization": authorization}


def proxies_for(proxies: Mapping[str, str], url: str) -> dict[str, str]:
    """The proxies for ``url``: none when the ``no`` list names its host."""
    if not proxies:
        return {}
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if "no" in proxies and bypass(urlsplit(url).hostname or "", proxies):
        return {}
    return {k: v for k, v in proxies.items() if k in ("http", "https")}


def _kind(method: str) -> str:
    # GET and POST keep their listeners (on_get, on_post); the rest are "request".
    return {"GET": "get", "POST": "post"}.get(method, "request")


class MethodsMixin:
    """``request``/``request_json`` and the method shortcuts of [`Engine`][httpops.Engine]."""

    if TYPE_CHECKING:
        transport: Any

        # Engine._http, which this mixin's methods end in (typed there).
        _http: Callable[..., Operation]

    @property
    def cookies(self) -> CookieView:
        """The engine's cookies: read, set, clear, save, load ([`CookieView`][httpops.CookieView]).

        Empty and storing nothing with ``Config(cookies=False)``.

        Thread-safety: any thread.
        """
        return CookieView(getattr(self.transport, "cookies", None))

    def request(
        self,
        method: str,
        url: str,
        callback: ResponseCallback | None = None,
        *,
        data: Any = None,
        json: Any = _NO_JSON,
        files: FilesArg = None,
        content_type: str | None = None,
        on_progress: ResponseCallback | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: Auth | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        retry: Retry | None | Default = DEFAULT,
        raise_for_status: bool = True,
        redirects: RedirectPolicy = RFC9110,
        priority: int = 0,
    ) -> Operation[Response]:
        """Start a request with any method; ``op.value`` will be the [`Response`][httpops.Response].

        Args:
            method: ``"GET"``, ``"PUT"``, ``"OPTIONS"``... (any case; not CONNECT).
            url: Absolute http:// or https:// URL.
            callback: Called as ``callback(op)`` on the polling thread when done.
            data: The body: ``bytes`` as-is, ``str`` UTF-8 as a form body, a
                dict or list as JSON (with ``files=``: the form's fields), a
                ``pathlib.Path`` or an open binary file streamed from disk
                (never read into memory whole; a file object is read from its
                current position and not closed).
            json: Send this value as JSON instead (not with ``data``/``files``).
            files: A multipart form upload: ``{"field": Path | bytes |
                (filename, data) | (filename, data, content_type)}``; files
                are streamed.
            content_type: Overrides the body's ``Content-Type``.
            on_progress: Called as ``on_progress(op)`` while the body is
                sent (``op.received``/``op.total`` count the bytes sent), then
                while the answer arrives.
            headers: Extra request headers (they override the engine's).
            params: Query parameters.
            auth: ``(user, password)`` for Basic, [`BasicAuth`][httpops.BasicAuth]
                or [`BearerAuth`][httpops.BearerAuth]; overrides an
                ``Authorization`` header. Not sent on to another host after a redirect.
            timeout: Connect and stall timeout in seconds (default: the config's).
            deadline: Seconds for the whole operation; None for none.
            retry: This call's [`Retry`][httpops.Retry] policy (None: no
                retries; default: the config's). POST and PATCH are retried
                only with ``retry_non_idempotent=True``.
            raise_for_status: True (the default): a status >= 400 fails the
                operation with [`HTTPStatusError`][httpops.HTTPStatusError];
                False: it is delivered like any other response.
            redirects: How a redirect treats the method and body (RFC 9110).
            priority: Queued work of a larger priority starts first (default 0).

        Returns:
            The [`Operation`][httpops.Operation], at once.

        Raises:
            InvalidURL, InvalidArgument, InvalidCallback, EngineClosed: At the
                call (a bad method, a missing file, a text-mode file, a bad
                field name...).

        Thread-safety: any thread.
        """
        method = check_method(method)
        body, kind = encode_body(method, data, files, json)
        return self._http(
            _kind(method), method, url, body, content_type or kind, callback, on_progress,
            headers, params, timeout, deadline, want_json=False,
            raise_for_status=raise_for_status, redirects=redirects, auth=auth, retry=retry,
            priority=priority,
        )  # fmt: skip

    def request_json(
        self,
        method: str,
        url: str,
        callback: JSONCallback | None = None,
        *,
        data: Any = None,
        json: Any = _NO_JSON,
        files: FilesArg = None,
        content_type: str | None = None,
        on_progress: JSONCallback | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: Auth | None = None,
        timeout: float | Default = DEFAULT,
        deadline: float | Default | None = DEFAULT,
        retry: Retry | None | Default = DEFAULT,
        raise_for_status: bool = True,
        redirects: RedirectPolicy = RFC9110,
        priority: int = 0,
    ) -> Operation[Any]:
        """[`request`][httpops.Engine.request] whose answer is decoded as JSON on the worker.

        ``op.value`` is the decoded JSON (None for an empty body); sends
        ``Accept: application/json``. Arguments as for ``request``.

        Thread-safety: any thread.
        """
        method = check_method(method)
        body, kind = encode_body(method, data, files, json)
        headers = {"Accept": _JSON, **check_headers(headers)}
        return self._http(
            _kind(method), method, url, body, content_type or kind, callback, on_progress,
            headers, params, timeout, deadline, want_json=True,
            raise_for_status=raise_for_status, redirects=redirects, auth=auth, retry=retry,
            priority=priority,
        )  # fmt: skip

    def put(
        self,
        url: str,
        data: Any = None,
        callback: ResponseCallback | None = None,
        **kwargs: Unpack[RequestKeywords],
    ) -> Operation[Response]:
        """Start a PUT (retried under a [`Retry`][httpops.Retry] policy: it is idempotent).

        Keywords as for [`request`][httpops.Engine.request] (``json=``,
        ``files=``, ``auth=``, ``on_progress=``...).

        Thread-safety: any thread.
        """
        return self.request("PUT", url, callback, data=data, **kwargs)

    def patch(
        self,
        url: str,
        data: Any = None,
        callback: ResponseCallback | None = None,
        **kwargs: Unpack[RequestKeywords],
    ) -> Operation[Response]:
        """Start a PATCH (not retried unless ``Retry(retry_non_idempotent=True)``).

        Keywords as for [`request`][httpops.Engine.request].

        Thread-safety: any thread.
        """
        return self.request("PATCH", url, callback, data=data, **kwargs)

    def delete(
        self, url: str, callback: ResponseCallback | None = None, **kwargs: Unpack[BodyKeywords]
    ) -> Operation[Response]:
        """Start a DELETE. Keywords as for [`request`][httpops.Engine.request].

        Thread-safety: any thread.
        """
        return self.request("DELETE", url, callback, **kwargs)

    def head(
        self, url: str, callback: ResponseCallback | None = None, **kwargs: Unpack[BodyKeywords]
    ) -> Operation[Response]:
        """Start a HEAD: the answer's status and headers, no body.

        Keywords as for [`request`][httpops.Engine.request].

        Thread-safety: any thread.
        """
        return self.request("HEAD", url, callback, **kwargs)
