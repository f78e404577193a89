"""Fixtures of the conversion tests: a small taxonomy and the carried COCO panoptic sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from panoptix.core import PanopticMap, Segment, Taxonomy
from panoptix.io.files import read_json, read_png

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "coco-panoptic-sample"
EXPECTED = DATA / "expected"


@pytest.fixture(scope="session")
def coco_taxonomy() -> Taxonomy:
    """The 133 COCO panoptic categories (80 things, 53 stuff)."""
    return Taxonomy.from_coco(read_json(SAMPLE / "panoptic_coco_categories.json"))


@pytest.fixture(scope="session")
def coco_panoptic() -> list[tuple[int, str, PanopticMap]]:
    """``(image_id, png name, PanopticMap)`` of the two sample images, read from PNG + JSON."""
    d = read_json(SAMPLE / "panoptic_examples.json")
    out = []
    for ann in d["annotations"]:
        rgb = read_png(SAMPLE / "panoptic_examples" / ann["file_name"], mode="RGB")
        segs = [Segment.from_coco(s, image_id=ann["image_id"]) for s in ann["segments_info"]]
        out.append((ann["image_id"], ann["file_name"], PanopticMap.from_rgb(rgb, segs)))
    assert len(out) == 2
    return out
