"""Shared helpers of the format tests: synthetic datasets, the shared real data, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from panoptix.core import Category, Instances, PanopticMap, SemanticMap, Taxonomy
from panoptix.io.dataset import Dataset, ImageInfo, Sample

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"  # ../shared/data beside the repository
COCO_TINY = SHARED / "coco-tiny" / "instances_val2017.json"
PANOPTIC_SAMPLE = SHARED / "coco-panoptic-sample" / "panoptic_examples.json"
FIXTURES = SHARED / "format-fixtures"


def need(path: Path) -> Path:
    """Skip the test when the shared data is not on this machine."""
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def taxonomy() -> Taxonomy:
    return Taxonomy([Category(1, "person"), Category(3, "car", color=(0, 0, 142)),
                     Category(7, "road", isthing=False), Category(9, "sky", isthing=False)])


def instances_sample(image_id=1, file_name="a.jpg", h=20, w=30) -> Sample:
    """Three objects: a polygon pair, an uncompressed-RLE crowd region, a compressed RLE with a hole."""
    ring = np.zeros((h, w), bool)
    ring[2:10, 15:25] = True
    ring[4:7, 18:21] = False
    crowd = np.zeros((h, w), bool)
    crowd[12:18, 2:12] = True
    from pycocotools import mask as cm

    rle = cm.encode(np.asfortranarray(crowd.astype(np.uint8)))
    uncompressed = {"size": [h, w], "counts": _uncompressed_counts(crowd)}
    assert cm.area(rle) == crowd.sum()
    from panoptix.core import masks as M

    segs = [[[2.0, 2.0, 8.5, 2.0, 8.5, 9.25, 2.0, 9.25], [10.0, 1.0, 13.0, 1.0, 13.0, 5.0]],
            uncompressed, M.encode(ring)]
    inst = Instances(segs, h, w, [1, 1, 3], iscrowd=[0, 1, 0], areas=[60.75, 60, ring.sum()],
                     bboxes=[[2, 1, 11, 8.25], [2, 12, 10, 6], [15, 2, 10, 8]], ids=[11, 12, 13])
    return Sample(ImageInfo(image_id, file_name, h, w, {"license": 3, "coco_url": "http://x/a.jpg"}),
                  instances=inst)


def _uncompressed_counts(mask: np.ndarray) -> list[int]:
    flat = mask.T.ravel().astype(np.int8)  # column-major, as COCO
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], change])).tolist()
    return counts if flat[0] == 0 else [0] + counts


def panoptic_sample(image_id=1, file_name="a.jpg", h=12, w=16) -> Sample:
    ids = np.zeros((h, w), np.int64)
    ids[:5] = 9  # sky
    ids[5:] = 7  # road
    ids[6:10, 2:6] = 1001  # a person
    ids[7:11, 9:14] = 3001  # a car
    ids[2:4, 12:15] = 3002  # a crowd of cars
    ids[11, 0] = 0  # VOID
    pan = PanopticMap.from_ids(ids, {9: 9, 7: 7, 1001: 1, 3001: 3, 3002: 3}, {3002: True})
    return Sample(ImageInfo(image_id, file_name, h, w), panoptic=pan)


def semantic_sample(image_id=1, file_name="a.jpg", h=6, w=8) -> Sample:
    labels = np.full((h, w), 7)
    labels[:2] = 9
    labels[3:5, 2:4] = 1
    labels[5, 7] = 255
    return Sample(ImageInfo(image_id, file_name, h, w), semantic=SemanticMap(labels))


def dataset(*samples: Sample, tax: Taxonomy | None = None, **kw) -> Dataset:
    return Dataset.from_samples(tax or taxonomy(), samples, **kw)


def write_image(path: Path, h: int, w: int) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (90, 120, 30)).save(path)
    return path


def paint_panoptic(sample: Sample) -> Sample:
    """A panoptic map painted from COCO instances (larger objects first, so smaller ones stay
    visible), for round trips of panoptic formats on coco-tiny without panoptix.convert."""
    inst = sample.instances
    h, w = inst.shape
    ids = np.zeros((h, w), np.int64)
    cats, crowd = {}, {}
    for k, i in enumerate(np.argsort(-inst.mask_areas, kind="stable").tolist(), start=1):
        ids[inst.mask(i)] = k
        cats[k], crowd[k] = int(inst.category_ids[i]), bool(inst.iscrowd[i])
    present = set(np.unique(ids).tolist())
    pan = PanopticMap.from_ids(ids, {k: c for k, c in cats.items() if k in present}, crowd)
    return Sample(sample.image, panoptic=pan)


def semantic_of(pan: PanopticMap) -> SemanticMap:
    lut = {s.id: s.category_id for s in pan.segments}
    labels = np.full(pan.shape, 255, np.int64)
    for sid, cid in lut.items():
        labels[pan.ids == sid] = cid
    return SemanticMap(labels)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
