"""How a redirect changes a request: the rule as data, shared by every transport.

RFC 9110 section 15.4: 307 and 308 re-send the same method and body; 303
turns anything but HEAD into GET without a body; 301 and 302 turn a POST
into a GET without a body (what every browser, requests and libcurl do).

OTClient v8 re-sends the method and the body on every redirect. A login
server that moves ``http://host/login`` to ``https://host/login`` with a
301/302 relies on that: with the RFC rule the credentials are lost. The
`RedirectPolicy` field ``keep_method_on_https_upgrade`` (the HTTP
facade sets it) keeps method and body for exactly that case -- a 301/302
from ``http`` to ``https`` on the same host name, any port -- and nothing
else. ``Authorization`` is still dropped whenever the host changes (the
transport's own rule).

A transport applies `redirect_method` at each hop: the requests
transport in its session's ``rebuild_method``, a libcurl transport when it
follows ``Location`` itself (libcurl's ``CURLOPT_POSTREDIR`` cannot express
"only on an upgrade to https").

Pure (no threads, no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["OTCV8_REDIRECTS", "RFC9110", "RedirectPolicy", "redirect_method"]


@dataclass(frozen=True, slots=True)
class RedirectPolicy:
    """How redirects treat the method and the body.

    Attributes:
        keep_method_on_https_upgrade: A 301/302 from ``http://H`` to
            ``https://H`` (same host name, the port may change) keeps the
            method and re-sends the body, as OTClient v8 does.
    """

    keep_method_on_https_upgrade: bool = False


#: The engine's rule: RFC 9110 as browsers apply it.
RFC9110 = RedirectPolicy()
#: The HTTP facade's rule: RFC 9110, plus OTCv8's re-POST on an http -> https upgrade.
OTCV8_REDIRECTS = RedirectPolicy(keep_method_on_https_upgrade=True)


def is_https_upgrade(from_url: str, to_url: str) -> bool:
    """Whether ``to_url`` is ``from_url``'s host over https, coming from http."""
    old, new = urlsplit(from_url), urlsplit(to_url)
    return (
        old.scheme.lower() == "http"
        and new.scheme.lower() == "https"
        and old.hostname is not None
        and old.hostname == new.hostname
    )


def redirect_method(
    method: str, status: int, from_url: str, to_url: str, policy: RedirectPolicy = RFC9110
) -> tuple[str, bool]:
    """The method of the next hop and whether the body is re-sent.

    Args:
        method: The method of the request that was redirected.
        status: The redirect's status code.
        from_url: The URL that answered with the redirect.
        to_url: The absolute URL of its ``Location``.
        policy: The rule to apply.

    Returns:
        ``(method, keep_body)``.
    """
    if status in (307, 308):
        return method, True
    if status == 303:
        return ("HEAD", False) if method == "HEAD" else ("GET", False)
    if status in (301, 302):
        if policy.keep_method_on_https_upgrade and is_https_upgrade(from_url, to_url):
            return method, True
        if method == "POST":
            return "GET", False
    return method, method not in ("GET", "HEAD")
