"""Assemble README.md and BENCHMARKS.md from the sections in docs/readme/.

Each area keeps its section in its own file (the doctests of those files run in the test
suite); this script puts them in reading order. Run: ``python scripts/build_docs.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "readme"
ROOT = DOCS.parents[1]

README = ["00-intro.md", "10-commands.md", "formats.md", "convert.md", "metrics.md", "models.md", "viz.md",
          "studio.md", "remote-data.md", "scale-out.md", "90-development.md"]
BENCHMARKS = ["benchmarks-instance.md", "benchmarks-panoptic-semantic.md", "benchmarks-scale.md"]


def section(name: str) -> str:
    text = (DOCS / name).read_text().rstrip() + "\n"
    if name == "metrics.md" and (DOCS / "metrics-instance.md").exists():
        # The instance metrics have their own file: it replaces the short pointer in metrics.md.
        instance = (DOCS / "metrics-instance.md").read_text().rstrip() + "\n\n"
        text = re.sub(r"### Instance segmentation\n.*?(?=### Speed)", lambda _: instance, text, flags=re.S)
    # Links between section files point into BENCHMARKS.md once assembled.
    return re.sub(r"\((benchmarks-[\w-]+)\.md\)", "(BENCHMARKS.md)", text)


def build(names: list[str], title: str | None = None) -> str:
    parts = [f"# {title}\n"] if title else []
    parts += [section(n) for n in names if (DOCS / n).exists()]
    return "\n".join(parts)


if __name__ == "__main__":
    (ROOT / "README.md").write_text(build(README))
    (ROOT / "BENCHMARKS.md").write_text(build(BENCHMARKS, "Benchmarks"))
    print("wrote README.md and BENCHMARKS.md")
