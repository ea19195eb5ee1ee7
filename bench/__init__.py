"""Benchmarks of httpops, run with ``make bench`` (``python -m bench``).

Every module ``bench/bench_*.py`` defines ``run(quick: bool) -> list[dict]``
returning tables ``{"name", "title", "columns", "rows", "notes"}``; the
runner (:mod:`bench.__main__`) imports each in sorted order, prints its
tables as Markdown and writes ``bench/results/<name>.json``. See
``docs/benchmarks.md``.
"""
