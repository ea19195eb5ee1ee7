"""Docs do not say ``max_workers`` bounds the request threads: ``max_elastic_workers`` does.

Since elastic workers, ``max_workers`` is only how many request workers are
kept; while all are busy more start, up to ``max_elastic_workers``. Any
paragraph of the README or the docs that names ``max_workers`` must say so
(benchmarks.md is excluded: it records the settings measurements ran with).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXCLUDED = {"benchmarks.md"}
MAX_WORKERS = re.compile(r"\bmax_workers\b")


def _prose_paragraphs(text: str) -> list[str]:
    """Paragraphs (and table rows) outside code fences."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        if block.lstrip().startswith("|"):
            paragraphs.extend(block.splitlines())  # each table row stands alone
        else:
            paragraphs.append(block)
    return paragraphs


def test_every_mention_of_max_workers_names_the_elastic_bound() -> None:
    wrong = [
        f"{page.name}: {paragraph.strip()[:120]}"
        for page in PAGES
        if page.name not in EXCLUDED
        for paragraph in _prose_paragraphs(page.read_text(encoding="utf-8"))
        if MAX_WORKERS.search(paragraph) and "max_elastic_workers" not in paragraph
    ]
    assert wrong == []


def test_the_paragraphs_checked_include_the_worker_docs() -> None:
    # The check above reads something: the pages that explain workers are found.
    found = {
        page.name
        for page in PAGES
        for paragraph in _prose_paragraphs(page.read_text(encoding="utf-8"))
        if MAX_WORKERS.search(paragraph)
    }
    assert {"configuration.md", "porting.md", "scripts.md", "security.md"} <= found
