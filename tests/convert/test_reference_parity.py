"""Parity with the COCO panoptic API's converters, and exact round trips, on real COCO data.

The expected files in ``tests/data/expected`` were written by panopticapi's own
``panoptic2semantic_segmentation.py`` and ``panoptic2detection_coco_format.py``
(see ``tests/data/expected/README.md``).
"""

from __future__ import annotations

import numpy as np
import pytest

from panoptix.convert import (
    fuse,
    instances_to_panoptic,
    panoptic_to_instances,
    panoptic_to_semantic,
    to_kind,
)
from panoptix.convert.relations import GROUND_TRUTH_FUSE
from panoptix.core import Instances, PanopticMap
from panoptix.io.dataset import ImageInfo, Sample
from panoptix.io.files import read_json, read_png

from .conftest import EXPECTED


def same_partition(a: PanopticMap, b: PanopticMap) -> None:
    """Assert ``a`` and ``b`` are the same panoptic labels up to renumbering of segments."""
    assert a.shape == b.shape
    assert np.array_equal(a.ids == 0, b.ids == 0), "VOID differs"
    keys = np.unique(a.ids.astype(np.int64).ravel() * 2**24 + b.ids.ravel())
    pairs = np.stack([keys // 2**24, keys % 2**24])
    # A bijection between the segment ids of a and b: every id pairs with exactly one.
    assert len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))
    seg_a = {s.id: s for s in a.segments}
    seg_b = {s.id: s for s in b.segments}
    for ia, ib in pairs.T.tolist():
        if ia == 0:
            continue
        sa, sb = seg_a[ia], seg_b[ib]
        assert (sa.category_id, sa.iscrowd, sa.area, sa.bbox) == (sb.category_id, sb.iscrowd, sb.area, sb.bbox)
    assert len(a.segments) == len(b.segments)


@pytest.mark.parametrize("things_as, folder", [(None, "semantic"), (183, "semantic_things_other")])
def test_panoptic_to_semantic_matches_panopticapi_pixel_for_pixel(coco_panoptic, coco_taxonomy, things_as, folder):
    for image_id, name, pan in coco_panoptic:
        expected = read_png(EXPECTED / folder / name)
        sem = panoptic_to_semantic(pan, coco_taxonomy, ignore_index=0, things_as=things_as)
        assert sem.labels.dtype == np.uint8 == expected.dtype
        assert sem.labels.shape == expected.shape
        assert np.array_equal(sem.labels, expected), f"image {image_id}: {np.sum(sem.labels != expected)} pixels differ"


@pytest.mark.parametrize("things_only, file", [(True, "instances_things_only.json"), (False, "detection_all.json")])
def test_panoptic_to_instances_matches_panopticapi_rle_for_rle(coco_panoptic, coco_taxonomy, things_only, file):
    expected = read_json(EXPECTED / file)["annotations"]
    ours = []
    for image_id, _, pan in coco_panoptic:
        inst = panoptic_to_instances(pan, coco_taxonomy, things_only=things_only)
        ours.extend(inst.to_coco(image_id))
    assert len(ours) == len(expected) > 0
    for got, want in zip(ours, expected):
        assert got["image_id"] == want["image_id"]
        assert got["segmentation"] == want["segmentation"]  # same size and same RLE string
        for key in ("category_id", "iscrowd", "area", "bbox"):
            assert got[key] == want[key], (key, got["id"])
    # panopticapi renumbers annotations 0..N-1; we keep the segment ids (documented).
    assert [a["id"] for a in expected] == list(range(len(expected)))
    assert any(a["iscrowd"] for a in ours)


def test_round_trip_panoptic_to_instances_and_semantic_and_back(coco_panoptic, coco_taxonomy):
    for image_id, _, pan in coco_panoptic:
        sem = panoptic_to_semantic(pan, coco_taxonomy)
        inst = panoptic_to_instances(pan, coco_taxonomy)
        back = fuse(sem, inst, coco_taxonomy, **GROUND_TRUTH_FUSE)
        back.validate(coco_taxonomy, image_id=image_id)
        same_partition(pan, back)
        assert [s.id for s in back.segments] == list(range(1, len(pan.segments) + 1))


def test_round_trip_through_samples(coco_panoptic, coco_taxonomy):
    for image_id, name, pan in coco_panoptic:
        h, w = pan.shape
        s = Sample(ImageInfo(image_id, name, h, w), panoptic=pan)
        s = to_kind(to_kind(s, "semantic", coco_taxonomy), "instances", coco_taxonomy)
        assert s.kinds == ["semantic", "instances", "panoptic"]
        back = to_kind(Sample(s.image, semantic=s.semantic, instances=s.instances), "panoptic", coco_taxonomy)
        same_partition(pan, back.panoptic)


def test_things_round_trip_through_instances(coco_panoptic, coco_taxonomy):
    for _, _, pan in coco_panoptic:
        inst = panoptic_to_instances(pan, coco_taxonomy)
        back = panoptic_to_instances(instances_to_panoptic(inst, coco_taxonomy), coco_taxonomy)
        assert len(back) == len(inst)
        # Same objects (the order becomes smaller-first; match them by mask).
        key = lambda i: sorted((r["counts"], int(c), bool(k)) for r, c, k in zip(i.rles, i.category_ids, i.iscrowd))
        assert key(back) == key(inst)


def test_instances_of_real_coco_ground_truth_to_panoptic(shared_data, coco_taxonomy):
    """COCO instance ground truth (polygons, crowd RLE, overlaps) -> panoptic: valid, nothing lost but overlaps."""
    d = read_json(shared_data / "coco-tiny" / "instances_val2017.json")
    by_image: dict[int, list] = {}
    for a in d["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    images = [im for im in d["images"] if im["id"] in by_image][:12]
    n_objects = 0
    for im in images:
        inst = Instances.from_coco(by_image[im["id"]], im["height"], im["width"])
        pan = instances_to_panoptic(inst, coco_taxonomy)
        pan.validate(coco_taxonomy, image_id=im["id"])
        masks = inst.masks()
        covered = masks.sum(0)
        # Every pixel one object covers is taken; no object is dropped unless fully covered.
        assert np.array_equal(pan.ids > 0, covered > 0)
        alone = (masks & (covered == 1)).any(axis=(1, 2))
        assert len(pan.segments) >= alone.sum()
        for seg in pan.segments:
            region = pan.ids == seg.id
            owners = np.flatnonzero(masks[:, region].all(axis=1))
            assert len(owners) >= 1 and any(inst.category_ids[o] == seg.category_id for o in owners)
        n_objects += len(inst)
    assert n_objects > 50
