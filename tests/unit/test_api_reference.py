"""The API reference: every public name is on the page, and docstrings carry no Sphinx roles.

mkdocstrings renders Markdown, so a Sphinx role such as ``:meth:`close``` shows up
verbatim on the page; cross-references are written ``[`close`][httpops.Engine.close]``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import httpops

ROOT = Path(__file__).resolve().parents[2]
API_PAGE = ROOT / "docs" / "api.md"
SPHINX_ROLE = re.compile(r":(?:meth|class|func|attr|data|mod|exc|obj|py:\w+):`")
INTEGRATIONS = ("asyncio", "pygame", "pyglet", "tkinter")


def _documented() -> set[str]:
    return set(re.findall(r"^::: (\S+)", API_PAGE.read_text(encoding="utf-8"), re.M))


def _docstrings(obj: object, seen: set[int]) -> list[tuple[str, str]]:
    """(qualified name, docstring) of ``obj`` and its public members, recursively."""
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    found = [(getattr(obj, "__qualname__", repr(obj)), inspect.getdoc(obj) or "")]
    if inspect.isclass(obj) or inspect.ismodule(obj):
        for name, member in vars(obj).items():
            if name.startswith("_"):
                continue
            if isinstance(member, property):
                found.append((f"{obj.__name__}.{name}", inspect.getdoc(member) or ""))
            elif (inspect.isfunction(member) or inspect.isclass(member)) and getattr(
                member, "__module__", ""
            ).startswith("httpops"):
                found.extend(_docstrings(member, seen))
    return found


def test_every_public_name_has_a_section_in_the_api_page() -> None:
    documented = _documented()
    missing = [
        name for name in httpops.__all__ if name != "__version__"
        and f"httpops.{name}" not in documented
    ]  # fmt: skip
    assert not missing, f"add '::: httpops.<name>' to docs/api.md for: {missing}"


def test_the_api_page_uses_public_paths() -> None:
    private = [
        name for name in _documented()
        if re.search(r"\._", name) and name != "httpops._errors"  # its tree only
    ]  # fmt: skip
    assert not private, private


def test_the_integrations_have_sections() -> None:
    documented = _documented()
    assert {f"httpops.integrations.{name}" for name in INTEGRATIONS} <= documented


def test_rendered_docstrings_have_no_sphinx_roles() -> None:
    seen: set[int] = set()
    docs: list[tuple[str, str]] = []
    for name in httpops.__all__:
        docs.extend(_docstrings(getattr(httpops, name), seen))
    for name in INTEGRATIONS:
        # Read the source: importing an adapter imports its library (pygame, tk).
        path = ROOT / "httpops" / "integrations" / f"{name}.py"
        docs.append((path.name, path.read_text(encoding="utf-8")))
    docs.append(("httpops.integrations", importlib.import_module("httpops.integrations").__doc__))
    offenders = [
        f"{where}: {line.strip()}"
        for where, text in docs
        for line in (text or "").splitlines()
        if SPHINX_ROLE.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def _mkdocstrings_docstring_options() -> dict[str, object]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    block = text.split("docstring_options:", 1)[1]
    return {
        key: value == "true"
        for key, value in re.findall(r"^\s+(returns_\w+): (true|false)", block, re.M)
    }


def test_returns_sections_parse_as_one_unnamed_value() -> None:
    """A wrapped or colon-bearing "Returns:" line stays one value, not a table of names."""
    griffe = importlib.import_module("griffe")  # installed with the docs extra
    options = _mkdocstrings_docstring_options()
    assert options == {"returns_multiple_items": False, "returns_named_value": False}
    package = griffe.load("httpops", search_paths=[str(ROOT)])
    checked = 0
    for path in ("Engine.cancel", "Engine.get", "Operation.result", "Engine.wait"):
        sections = package[path].docstring.parse("google", **options)
        returns = [s for s in sections if s.kind.value == "returns"]
        assert len(returns) == 1 and len(returns[0].value) == 1, path
        item = returns[0].value[0]
        assert not item.name and "``" not in str(item.annotation or ""), (path, item.annotation)
        checked += 1
    assert checked == 4
