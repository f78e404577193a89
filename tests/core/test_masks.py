"""Bit-exact agreement with pycocotools for every segmentation form."""

import json

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from panoptix.core import FormatError, SizeMismatchError
from panoptix.core import masks as M


def test_encode_decode_round_trip_random():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, w = rng.integers(1, 40, size=2)
        m = rng.random((h, w)) > 0.6
        rle = M.encode(m)
        assert isinstance(rle["counts"], str)
        assert np.array_equal(M.decode(rle), m)
        ref = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
        assert rle["counts"].encode() == ref["counts"]
        assert M.area(rle) == int(m.sum())


def test_polygons_rasterised_exactly_as_pycocotools():
    rng = np.random.default_rng(1)
    for _ in range(50):
        h, w = 37, 53
        polys = [list(rng.uniform(-5, 60, size=2 * rng.integers(3, 9))) for _ in range(rng.integers(1, 3))]
        ours = M.to_rle(polys, h, w)
        ref = coco_mask.merge(coco_mask.frPyObjects(polys, h, w))
        assert ours["counts"].encode() == ref["counts"]


def test_uncompressed_rle_matches_pycocotools():
    m = np.zeros((6, 4), np.uint8)
    m[1:4, 1:3] = 1
    flat = m.ravel(order="F")
    counts, cur, run = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(run); cur, run = v, 0
        run += 1
    counts.append(run)
    seg = {"size": [6, 4], "counts": counts}
    ours = M.to_rle(seg, 6, 4)
    assert ours["counts"].encode() == coco_mask.frPyObjects(seg, 6, 4)["counts"]
    assert np.array_equal(M.decode(ours), m.astype(bool))


def test_every_annotation_of_coco_tiny_matches_ann_to_rle(shared_data):
    path = shared_data / "coco-tiny" / "instances_val2017.json"
    coco = COCO(str(path))
    data = json.loads(path.read_text())
    images = {i["id"]: i for i in data["images"]}
    kinds = set()
    for ann in data["annotations"]:
        img = images[ann["image_id"]]
        kinds.add(M.segmentation_kind(ann["segmentation"]))
        ours = M.to_rle(ann["segmentation"], img["height"], img["width"])
        assert ours["counts"].encode() == coco.annToRLE(ann)["counts"], ann["id"]
    assert kinds == {"polygon", "rle"}


def test_bad_segmentations_are_format_errors():
    with pytest.raises(FormatError):
        M.to_rle("nope", 3, 3)
    with pytest.raises(SizeMismatchError):
        M.to_rle({"size": [4, 4], "counts": [16]}, 3, 3)
    with pytest.raises(FormatError, match="sum"):
        M.to_rle({"size": [3, 3], "counts": [2, 3]}, 3, 3)
    with pytest.raises(FormatError):
        M.to_rle([["a", "b", "c", "d", "e", "f"]], 3, 3)


def test_iou_crowd_uses_detection_area():
    a = np.zeros((10, 10), bool); a[:, :5] = True
    b = np.zeros((10, 10), bool); b[:, :]= True
    ious = M.iou([M.encode(a)], [M.encode(b)], [1])
    assert ious[0, 0] == pytest.approx(1.0)
    ious = M.iou([M.encode(a)], [M.encode(b)], [0])
    assert ious[0, 0] == pytest.approx(0.5)
