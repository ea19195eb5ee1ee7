"""Port of OTCv8 ``modules/updater/updater.lua`` (its HTTP parts) to the httpops facade.

The Lua asks the updater API for a manifest with ``HTTP.postJSON``, compares
the CRC32 of each file with the local one, and downloads what differs one
file at a time with ``HTTP.download(url .. file, file, ...)``, checking the
checksum and retrying up to ``Updater.maxRetries`` times 250 ms later. The
window is reduced to :class:`~examples.otcv8.client.Widget` objects; the
client restart at the end (``g_resources.updateData``, ``g_app.restart``) is
replaced by recording what was updated.

``HTTP`` is a module global as in Lua: the tests point it at a facade of their
own engine.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpops

from .client import Widget, displayErrorBox, removeEvent, scheduleEvent

HTTP: httpops.HTTPFacade = httpops.HTTP
Services = {"updater": "http://127.0.0.1:8080/otcv8/updater"}
APP_VERSION = 3


class UpdaterWindow:
    """The widgets of ``updater.otui`` the Lua touches."""

    def __init__(self) -> None:
        self.status = Widget("status")
        self.mainProgress = Widget("mainProgress")
        self.downloadProgress = Widget("downloadProgress")
        self.downloadStatus = Widget("downloadStatus")


# Lua: Updater = { }; Updater.maxRetries = 5 (``updated``/``finalFiles``/``errors``
# record what the port did instead of restarting the client).
Updater = SimpleNamespace(maxRetries=5, updated=None, finalFiles=[], errors=[])


updaterWindow: UpdaterWindow | None = None
scheduledEvent: int | None = None
httpOperationId = 0


def filesChecksums() -> dict[str, str]:
    """``g_resources.filesChecksums()``: CRC32 of the files already downloaded."""
    sums = {}
    root = HTTP.downloadsDir
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                key = "/" + os.path.relpath(path, root).replace(os.sep, "/")
                sums[key] = f"{zlib.crc32(f.read()):08x}"
    return sums


def downloadFiles(
    url: str,
    files: list[tuple[str, str]],
    index: int,
    retries: int,
    doneCallback: Callable[[], Any],
) -> None:
    global httpOperationId, scheduledEvent
    entry = files[index - 1] if index <= len(files) else None  # Lua tables count from 1
    if not entry:  # finished
        return doneCallback()
    file, file_checksum = entry
    assert updaterWindow is not None

    if retries > 0:
        updaterWindow.downloadStatus.setText(f"Downloading ({retries} retry):\n{file}")
    else:
        updaterWindow.downloadStatus.setText(f"Downloading:\n{file}")
    updaterWindow.downloadProgress.setPercent(0)
    updaterWindow.mainProgress.setPercent(100 * index // len(files))

    def on_download(file: str, checksum: str, err: str | None) -> None:
        global scheduledEvent
        if not err and checksum != file_checksum:
            err = f"Invalid checksum of: {file}.\nShould be {file_checksum}, is: {checksum}"
        if err:
            if retries >= Updater.maxRetries:
                Updater.error(f"Can't download file: {file}.\nError: {err}")
            else:
                scheduledEvent = scheduleEvent(
                    lambda: downloadFiles(url, files, index, retries + 1, doneCallback), 250
                )
            return
        downloadFiles(url, files, index + 1, 0, doneCallback)

    def on_progress(progress: int, speed: float) -> None:
        assert updaterWindow is not None
        updaterWindow.downloadProgress.setPercent(progress)
        updaterWindow.downloadProgress.setText(f"{speed} kbps")  # bytes/s here, see porting.md

    httpOperationId = HTTP.download(url + file, file, on_download, on_progress)


def updateFiles(data: Any, keepCurrentFiles: bool = False) -> None:
    global scheduledEvent
    if not isinstance(data, dict):
        return Updater.error("Invalid data from updater api (not table)")
    if isinstance(data.get("error"), str) and len(data["error"]) > 0:
        return Updater.error(data["error"])
    if not data.get("files") or not isinstance(data.get("url"), str) or len(data["url"]) < 4:
        return Updater.error(f"Invalid data from updater api: {data}")
    if data.get("keepFiles"):
        keepCurrentFiles = True

    finalFiles = []
    localFiles = filesChecksums()
    toUpdate = []
    # keep all files or files from data/things
    for file in localFiles:
        if keepCurrentFiles or "data/things" in file:
            finalFiles.append(file)
    # update files
    for file, checksum in data["files"].items():
        finalFiles.append(file)
        if file not in localFiles or localFiles[file] != checksum:
            toUpdate.append((file, checksum))
    Updater.finalFiles = finalFiles  # what g_resources.updateData() would get
    assert updaterWindow is not None

    if len(toUpdate) == 0:  # nothing to update
        updaterWindow.mainProgress.setPercent(100)
        Updater.updated = []
        scheduledEvent = scheduleEvent(Updater.abort, 20)
        return

    updaterWindow.status.setText(f"Updating {len(toUpdate)} files")
    updaterWindow.mainProgress.setPercent(0)
    updaterWindow.downloadProgress.setPercent(0)
    updaterWindow.downloadProgress.show()
    updaterWindow.downloadStatus.show()

    def done() -> None:
        assert updaterWindow is not None
        updaterWindow.status.setText("Updating client (may take few seconds)")
        updaterWindow.mainProgress.setPercent(100)
        updaterWindow.downloadProgress.hide()
        updaterWindow.downloadStatus.hide()
        Updater.updated = [file for file, _ in toUpdate]  # instead of g_app.restart()

    downloadFiles(data["url"], toUpdate, 1, 0, done)


def _abort() -> None:
    global updaterWindow
    HTTP.cancel(httpOperationId)
    removeEvent(scheduledEvent)
    updaterWindow = None


def _check(args: Any = None) -> None:
    global updaterWindow, httpOperationId
    if updaterWindow:
        return
    updaterWindow = UpdaterWindow()
    updateData: list[Any] = []  # a Lua upvalue assigned from the callback

    def progressUpdater(value: int) -> None:
        global scheduledEvent
        removeEvent(scheduledEvent)
        if value == 100:
            return Updater.error("Timeout")
        if updateData:  # not on mobile: no time to pick a custom updater
            return updateFiles(updateData[0])
        scheduledEvent = scheduleEvent(lambda: progressUpdater(value + 1), 50)
        assert updaterWindow is not None
        updaterWindow.mainProgress.setPercent(value)

    progressUpdater(0)

    def on_manifest(data: Any, err: str | None) -> None:
        if err:
            return Updater.error(err)
        updateData.append(data)

    httpOperationId = HTTP.postJSON(
        Services["updater"],
        {
            "version": APP_VERSION,
            "build": "httpops",
            "os": "linux",
            "platform": "",
            "args": args or {},
        },
        on_manifest,
    )


def _error(message: str) -> None:
    removeEvent(scheduledEvent)
    if not updaterWindow:
        return
    Updater.errors.append(message)
    displayErrorBox("Updater Error", message)


Updater.abort = _abort
Updater.check = _check
Updater.error = _error
