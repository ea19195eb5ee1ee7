"""Per-call authentication: ``auth=(user, password)``, ``BasicAuth`` or ``BearerAuth``.

An auth object is turned into an ``Authorization`` header value at the
call, so it is plain data on the request (``Request.headers``) that every
transport sends as it is. Both transports drop it on a redirect to another
host (requests' ``rebuild_auth``; libcurl never forwards a custom
``Authorization`` across hosts), so a token is not handed to a third party.
"""

from __future__ import annotations

import base64
from typing import TypeAlias

from ._errors import InvalidArgument
from ._validation import check_headers

__all__ = ["Auth", "BasicAuth", "BearerAuth", "auth_header"]


class BasicAuth:
    """HTTP Basic authentication (RFC 7617), UTF-8 encoded.

    ``auth=("user", "password")`` means the same.

    Args:
        username: The user name (no ``:``).
        password: The password.
    """

    __slots__ = ("_password", "username")

    def __init__(self, username: str, password: str) -> None:
        if not isinstance(username, str) or not isinstance(password, str):
            raise InvalidArgument("BasicAuth: username and password must be str")
        if ":" in username:
            raise InvalidArgument("BasicAuth: the username must not contain ':' (RFC 7617)")
        self.username = username
        self._password = password

    def header(self) -> str:
        """The ``Authorization`` header value. Thread-safety: any thread."""
        raw = f"{self.username}:{self._password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:  # never the password (repr ends up in logs)
        return f"BasicAuth({self.username!r}, '***')"


class BearerAuth:
    """A bearer token (RFC 6750): ``Authorization: Bearer <token>``.

    Args:
        token: The token, as the service issued it.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip():
            raise InvalidArgument("BearerAuth: token must be a non-empty str")
        check_headers({"Authorization": f"Bearer {token}"})
        self._token = token

    def header(self) -> str:
        """The ``Authorization`` header value. Thread-safety: any thread."""
        return f"Bearer {self._token}"

    def __repr__(self) -> str:  # never the token (repr ends up in logs)
        return "BearerAuth('***')"


#: What ``auth=`` takes.
Auth: TypeAlias = "tuple[str, str] | BasicAuth | BearerAuth"


def auth_header(auth: object) -> str | None:
    """The ``Authorization`` value for ``auth`` (None for None).

    Raises:
        InvalidArgument: Not a (user, password) pair, BasicAuth or BearerAuth.
    """
    if auth is None:
        return None
    if isinstance(auth, tuple):
        if len(auth) != 2:
            raise InvalidArgument("auth must be a (username, password) pair")
        auth = BasicAuth(auth[0], auth[1])
    if isinstance(auth, (BasicAuth, BearerAuth)):
        value = auth.header()
        check_headers({"Authorization": value})
        return value
    raise InvalidArgument(
        f"auth must be a (username, password) pair, BasicAuth or BearerAuth, "
        f"got {type(auth).__name__}"
    )
