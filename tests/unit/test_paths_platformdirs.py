"""Places on disk: platform directories by default, os.PathLike everywhere, never the real home."""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePath

import platformdirs
import pytest

import httpops
from httpops._config import default_downloads_dir, default_image_cache_dir


def test_the_suite_runs_with_a_private_home(private_home: Path) -> None:
    assert Path.home() == private_home
    assert Path(httpops.Config().downloads_dir).is_relative_to(private_home)
    assert Path(httpops.Config().image_cache_dir or "").is_relative_to(private_home)


def test_downloads_default_to_the_user_data_dir() -> None:
    expected = os.path.join(platformdirs.user_data_dir("httpops", appauthor=False), "downloads")
    assert httpops.Config().downloads_dir == expected == default_downloads_dir()


def test_the_image_cache_defaults_to_the_user_cache_dir_not_beside_downloads(
    tmp_path: Path,
) -> None:
    config = httpops.Config(downloads_dir=tmp_path / "dl")
    expected = os.path.join(platformdirs.user_cache_dir("httpops", appauthor=False), "images")
    assert config.image_cache_dir == expected == default_image_cache_dir()
    assert not Path(expected).is_relative_to(tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG variables are Linux's")
def test_xdg_variables_choose_the_linux_directories(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = httpops.Config()
    assert config.downloads_dir == str(tmp_path / "data" / "httpops" / "downloads")
    assert config.image_cache_dir == str(tmp_path / "cache" / "httpops" / "images")


class _CustomPath:
    """An os.PathLike that is not a pathlib path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


@pytest.mark.parametrize("kind", [Path, PurePath, _CustomPath])
def test_every_path_option_takes_an_os_pathlike(tmp_path: Path, kind: type) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read until a TLS connection is made")
    config = httpops.Config(
        downloads_dir=kind(str(tmp_path / "dl")),
        image_cache_dir=kind(str(tmp_path / "img")),
        verify=kind(str(bundle)),
    )
    # Stored as str: what the rest of the engine and the user read back.
    assert config.downloads_dir == str(tmp_path / "dl")
    assert config.image_cache_dir == str(tmp_path / "img")
    assert config.verify == str(bundle) and config.tls_verify == str(bundle)


@pytest.mark.parametrize("field", ["downloads_dir", "image_cache_dir", "verify"])
@pytest.mark.parametrize("bad", [b"/tmp/x", "", 42, "a\0b"])
def test_a_path_option_that_is_not_a_text_path_is_refused(field: str, bad: object) -> None:
    with pytest.raises(httpops.InvalidArgument, match=field):
        httpops.Config(**{field: bad})  # type: ignore[arg-type]


def test_a_pathlike_ca_bundle_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(httpops.InvalidArgument, match="does not exist"):
        httpops.Config(verify=tmp_path / "missing.pem")


def test_verify_booleans_stay_booleans() -> None:
    assert httpops.Config().tls_verify is True
    assert httpops.Config(verify=False).tls_verify is False
