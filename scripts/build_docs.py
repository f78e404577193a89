"""Assemble BENCHMARKS.md from the benchmark pages of the documentation site.

The benchmark results live on the site (``docs/benchmarks/*.md``, one page per workload, each run
with its exact command); the project's rules also want them in one file at the root, so this
script joins the pages in reading order, one heading level down. Run:
``python scripts/build_docs.py`` (``--check`` exits 1 when BENCHMARKS.md is out of date).

The site itself is built by ``make docs`` (``mkdocs build --strict``, see ``mkdocs.yml``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# Page names in reading order; a page not yet moved is read from its old place in docs/readme/.
BENCHMARKS = ["instance", "panoptic-semantic", "scale"]


def source(name: str) -> Path:
    page = DOCS / "benchmarks" / f"{name}.md"
    return page if page.exists() else DOCS / "readme" / f"benchmarks-{name}.md"


def demote(text: str) -> str:
    """One heading level down (``#`` -> ``##``), leaving ``#`` comments in code blocks alone."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#+ ", line):
            line = "#" + line
        lines.append(line)
    return "\n".join(lines)


def section(path: Path) -> str:
    text = path.read_text().rstrip() + "\n"
    if path.parent.name == "benchmarks":
        text = demote(text) + "\n"
    # Links between the benchmark pages stay inside BENCHMARKS.md once assembled; links to the
    # other pages of the site point into docs/ from the root.
    names = "|".join(BENCHMARKS)
    text = re.sub(rf"\((?:benchmarks/|benchmarks-)?(?:{names})\.md(#[\w-]*)?\)", "(BENCHMARKS.md)", text)
    return re.sub(r"\(\.\./([\w/-]+\.md(?:#[\w-]*)?)\)", r"(docs/\1)", text)


def build() -> str:
    parts = ["# Benchmarks\n"] + [section(source(n)) for n in BENCHMARKS if source(n).exists()]
    return "\n".join(parts)


if __name__ == "__main__":
    target = ROOT / "BENCHMARKS.md"
    if "--check" in sys.argv[1:]:
        if target.read_text() != build():
            sys.exit("BENCHMARKS.md is out of date: run python scripts/build_docs.py")
        print("BENCHMARKS.md is up to date")
    else:
        target.write_text(build())
        print("wrote BENCHMARKS.md")
