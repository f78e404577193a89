"""Shared fixtures: tiny random models (built once per session) and small real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
COCO_TINY = DATA / "coco-tiny"
PANOPTIC_SAMPLE = DATA / "coco-panoptic-sample"

#: Universal-model options that let random weights produce segments (they are never confident).
LOOSE = dict(threshold=0.0, mask_threshold=0.05, overlap_mask_area_threshold=0.0)


def need_data():
    if not (COCO_TINY / "val2017").is_dir():
        pytest.skip("shared data folder (../shared/data) not present")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """``tiny(kind, labels=None)`` -> folder of a saved tiny random model (built once per session)."""
    import torch

    from panoptix.models.tiny import build_tiny

    # One intra-op thread: the test machine is small and shared, and OpenMP's thread barriers
    # make tiny models ~50x slower when the other core is busy. (No other part of panoptix uses torch.)
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny-models")
    built: dict = {}

    def get(kind: str, labels=None):
        key = (kind, None if labels is None else tuple(labels))
        if key not in built:
            built[key] = build_tiny(kind, root / f"{kind}-{len(built)}", labels=labels)
        return built[key]

    return get


@pytest.fixture(scope="session")
def coco_images(tmp_path_factory):
    """Four coco-tiny photos of different sizes, shrunk 4x (JPEG files) for speed."""
    need_data()
    out = tmp_path_factory.mktemp("coco-small")
    names = sorted(p.name for p in (COCO_TINY / "val2017").glob("*.jpg"))
    paths = []
    seen_sizes = set()
    for name in names:
        img = Image.open(COCO_TINY / "val2017" / name).convert("RGB")
        if img.size in seen_sizes:
            continue
        seen_sizes.add(img.size)
        small = img.resize((img.width // 4, img.height // 4), Image.BILINEAR)
        small.save(out / name, quality=95)
        paths.append(out / name)
        if len(paths) == 4:
            break
    return paths


@pytest.fixture(scope="session")
def coco_categories():
    need_data()
    import json

    return json.loads((COCO_TINY / "instances_val2017.json").read_text())["categories"]


def rng_image(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
