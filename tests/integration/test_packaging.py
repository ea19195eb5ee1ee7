"""Release hygiene, checked from the files a release is built from.

Building the sdist and wheel needs a fresh build environment (seconds, and
the package index), so that is ``make dist`` (``python -m build`` then
``twine check --strict``), which ``.ci/run`` calls. These tests check what
the build reads.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import httpops

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest brings tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_mit_as_a_pep_639_expression_with_its_file() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and "WITHOUT WARRANTY OF ANY KIND" in text
    # PEP 639: a license expression replaces the License :: classifiers.
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    build = _pyproject()["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77 for r in build)


def test_classifiers_name_python_versions_typing_and_topic() -> None:
    project = _pyproject()["project"]
    classifiers = set(project["classifiers"])
    required = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert required is not None
    floor = int(required.group(1))
    versions = {int(c.rsplit(".", 1)[1]) for c in classifiers if re.match(r".*:: 3\.\d+$", c)}
    assert min(versions) == floor and versions == set(range(floor, max(versions) + 1))
    assert "Typing :: Typed" in classifiers
    assert (ROOT / "httpops" / "py.typed").exists()
    assert any(c.startswith("Topic :: ") for c in classifiers)


def test_dev_tools_are_a_dependency_group_not_a_published_extra() -> None:
    data = _pyproject()
    assert "dev" not in data["project"]["optional-dependencies"]
    dev = data["dependency-groups"]["dev"]
    names = {re.split(r"[<>=!\[ ]", req, maxsplit=1)[0] for req in dev}
    assert {"pytest", "ruff", "mypy", "build", "twine"} <= names
    # Published extras carry floors, never exact pins.
    for extra, reqs in data["project"]["optional-dependencies"].items():
        assert not [r for r in reqs if "==" in r], extra
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--group dev" in makefile and "'pip>=25.1'" in makefile


def test_platformdirs_is_a_runtime_dependency_with_a_floor() -> None:
    deps = _pyproject()["project"]["dependencies"]
    assert [d for d in deps if re.fullmatch(r"platformdirs>=\d+(\.\d+)*", d)]


def test_the_sdist_manifest_ships_tests_docs_license_and_changelog() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").split("\n")
    assert "graft tests" in manifest and "graft docs" in manifest
    included = {word for line in manifest if line.startswith("include ") for word in line.split()}
    assert {"LICENSE", "CHANGELOG.md", "README.md"} <= included
    assert all((ROOT / name).exists() for name in included - {"include"})


def test_the_changelog_top_section_is_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    top = re.search(r"^## (.+)$", text, re.M)
    assert top is not None
    assert top.group(1).split()[0] == httpops.__version__, top.group(0)


def test_ci_builds_and_checks_the_distributions() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make dist" in ci.splitlines()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndist:", 1)[1].split("\n\n", 1)[0]
    assert "-m build" in recipe and "twine check --strict" in recipe
