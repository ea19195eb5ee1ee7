"""Port of OTCv8 ``modules/client_entergame/entergame.lua`` (the HTTP login) to the facade.

``EnterGame.doLoginHttp`` posts the account as JSON to the login URL with
``HTTP.postJSON`` and ``onHTTPResult(data, err)`` turns the answer into a
character list or an error box. A login server that moved from ``http`` to
``https`` answers the POST with a 301/302; OTCv8 re-posts the body there,
and so does the facade (``docs/porting.md``).

One addition to the Lua, for servers that publish several login URLs:
``G.hosts`` is tried in order, and a connection-level failure moves on to
the next URL (an answer from the server, even an error, does not).

The character list, settings and protocol set-up are reduced to recording
what ``onCharacterList`` got. ``HTTP`` is a module global as in Lua.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpops

from .client import displayErrorBox, g_logger

HTTP: httpops.HTTPFacade = httpops.HTTP
APP_VERSION = 3


class G:
    account = ""
    password = ""
    authenticatorToken = ""
    host = ""
    hosts: list[str] = []
    UUID = "httpops-demo"
    sessionKey = ""


# Lua: EnterGame = { } (``characterList``: what onCharacterList received, and the
# errors shown, for the tests).
EnterGame = SimpleNamespace(characterList=None, errors=[], loginErrors=[])


loadBox: str | None = None


def onSessionKey(protocol: Any, sessionKey: str) -> None:
    G.sessionKey = sessionKey


def onCharacterList(protocol: Any, characters: Any, account: Any, otui: Any = None) -> None:
    global loadBox
    loadBox = None
    EnterGame.characterList = (characters, account)


def onHTTPResult(data: Any, err: str | None) -> None:
    if err:
        return EnterGame.onError(err)
    if data.get("error") and len(data["error"]) > 0:
        return EnterGame.onLoginError(data["error"])

    characters = data.get("characters")
    account = data.get("account")
    session = data.get("session")
    version = data.get("version")
    g_logger.info(f"login: protocol version {version}")

    if session is not None and len(session) > 0:
        onSessionKey(None, session)

    onCharacterList(None, characters, account, None)


def _doLoginHttp() -> None:
    global loadBox
    if G.host is None or len(G.host) < 10:
        return EnterGame.onError("Invalid server url: " + str(G.host))

    loadBox = "Connecting to login server..."

    data = {
        "account": G.account,
        "password": G.password,
        "token": G.authenticatorToken,
        "version": APP_VERSION,
        "uid": G.UUID,
    }
    hosts = G.hosts or [G.host]

    def attempt(index: int) -> None:
        def result(data_: Any, err: str | None) -> None:
            # The port's failover: only when no server answered at all.
            unreachable = err is not None and err.startswith(("connection error", "resolve error"))
            if unreachable and index + 1 < len(hosts):
                g_logger.warning(f"login server {hosts[index]} unreachable: {err}")
                return attempt(index + 1)
            onHTTPResult(data_, err)

        HTTP.postJSON(hosts[index], data, result)

    attempt(0)


def _onError(err: str) -> None:
    global loadBox
    loadBox = None
    EnterGame.errors.append(err)
    displayErrorBox("Login Error", err)


def _onLoginError(err: str) -> None:
    global loadBox
    loadBox = None
    EnterGame.loginErrors.append(err)
    displayErrorBox("Login Error", err)


EnterGame.doLoginHttp = _doLoginHttp
EnterGame.onError = _onError
EnterGame.onLoginError = _onLoginError
