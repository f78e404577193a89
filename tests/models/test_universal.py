"""Mask2Former, MaskFormer, OneFormer, DETR: tiny random models, real images, all three kinds."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from panoptix.core.labels import Instances, PanopticMap, SemanticMap
from panoptix.models import Prediction, load
from panoptix.models._hf import split_outputs
from panoptix.models.transformers_universal import UniversalSegmenter

from .conftest import LOOSE

UNIVERSAL = ["mask2former", "maskformer", "oneformer", "detr"]
#: person/car are things, sky/road stuff, with COCO panoptic ids.
CATS = [{"id": 1, "name": "person", "isthing": 1}, {"id": 3, "name": "car", "isthing": 1},
        {"id": 184, "name": "sky", "isthing": 0}, {"id": 149, "name": "road", "isthing": 0}]


def _check(pred: Prediction, size, taxonomy):
    assert pred.kinds == ["semantic", "instances", "panoptic"]
    assert pred.shape == size
    sem, inst, pan = pred.semantic, pred.instances, pred.panoptic
    assert isinstance(sem, SemanticMap) and isinstance(inst, Instances) and isinstance(pan, PanopticMap)
    assert set(np.unique(sem.labels).tolist()) <= set(taxonomy.ids) | {taxonomy.ignore_index}
    assert set(inst.category_ids.tolist()) <= set(taxonomy.ids)
    assert inst.scores is not None and len(inst.scores) == len(inst)
    assert ((inst.scores >= 0) & (inst.scores <= 1)).all()
    assert (inst.mask_areas > 0).all()
    assert pan.ids.min() >= 0
    assert sorted(s.id for s in pan.segments) == list(range(1, len(pan.segments) + 1))
    assert set(np.unique(pan.ids).tolist()) - {0} == {s.id for s in pan.segments}
    assert set(pred.extra["panoptic_scores"]) == {s.id for s in pan.segments}
    assert pred.problems() == []


@pytest.mark.parametrize("kind", UNIVERSAL)
def test_all_three_kinds_from_one_model(tiny, coco_images, kind):
    seg = load(tiny(kind), device="cpu", batch_size=3, **LOOSE)
    assert isinstance(seg, UniversalSegmenter) and seg.arch == kind
    assert [c.name for c in seg.taxonomy] == ["person", "car", "sky", "road"] and seg.taxonomy.ids == [0, 1, 2, 3]
    preds = seg.predict(coco_images, task="all")
    assert len(preds) == len(coco_images)
    for pred, path in zip(preds, coco_images):
        from PIL import Image

        w, h = Image.open(path).size
        _check(pred, (h, w), seg.taxonomy)
        assert pred.image.id == int(path.stem) and pred.image.file_name == path.name
    # Random (but opinionated) weights and loose thresholds: there are objects and segments.
    assert any(len(p.instances) > 0 for p in preds) and any(len(p.panoptic.segments) > 0 for p in preds)


def test_predictions_are_deterministic(tiny, coco_images):
    seg = load(tiny("mask2former"), device="cpu", batch_size=2, **LOOSE)
    a, b = seg.predict(coco_images[:2], task="all"), seg.predict(coco_images[:2], task="all")
    for p, q in zip(a, b):
        assert np.array_equal(p.panoptic.ids, q.panoptic.ids) and p.panoptic.segments == q.panoptic.segments
        assert np.array_equal(p.semantic.labels, q.semantic.labels)
        assert np.array_equal(p.instances.masks(), q.instances.masks())
        assert np.array_equal(p.instances.scores, q.instances.scores)


@pytest.mark.parametrize("kind", ["mask2former", "oneformer"])
def test_categories_make_stuff_and_things_only_instances(tiny, coco_images, kind):
    seg = load(tiny(kind), device="cpu", categories=CATS, **LOOSE)
    assert seg.taxonomy.stuff_ids == [184, 149] and seg.lut[:4].tolist() == [1, 3, 184, 149]
    for pred in seg.predict(coco_images[:2], task="all"):
        assert pred.problems() == []  # includes: at most one segment per stuff class
        assert set(pred.instances.category_ids.tolist()) <= {1, 3}
        stuff = [s.category_id for s in pred.panoptic.segments if s.category_id in (184, 149)]
        assert len(stuff) == len(set(stuff))
        assert set(np.unique(pred.semantic.labels).tolist()) <= {1, 3, 184, 149}


def test_default_task_and_single_task_predictions(tiny, coco_images):
    seg = load(tiny("mask2former"), device="cpu", **LOOSE)
    assert seg.default_task == "panoptic"
    pred = seg.predict(coco_images[0])
    assert isinstance(pred, Prediction) and pred.kinds == ["panoptic"]
    assert seg.predict(coco_images[0], task="semantic").kinds == ["semantic"]
    inst = load(tiny("mask2former"), device="cpu", task="instance", **LOOSE).predict(coco_images[0])
    assert inst.kinds == ["instances"]
    # The other kinds derive from the one predicted (panoptix.convert).
    assert pred.get("semantic").shape == pred.shape


def test_mask2former_instances_keep_overlaps(tiny, coco_images):
    seg = load(tiny("mask2former"), device="cpu", **LOOSE)
    preds = seg.predict(coco_images, task="instance")
    assert any((p.instances.masks().sum(0) > 1).any() for p in preds)


def test_detr_instances_come_from_a_segment_map_without_overlap(tiny, coco_images):
    seg = load(tiny("detr"), device="cpu", **LOOSE)
    for p in seg.predict(coco_images, task="instance"):
        assert (p.instances.masks().sum(0) <= 1).all()


def test_oneformer_task_token_changes_the_output(tiny, coco_images):
    seg = load(tiny("oneformer"), device="cpu", **LOOSE)
    im = [np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(coco_images[0]).convert("RGB"))]
    a = seg._forward(im, "semantic")[0].class_queries_logits
    b = seg._forward(im, "panoptic")[0].class_queries_logits
    assert not torch.allclose(a, b)


def test_default_thresholds_give_valid_output(tiny, coco_images):
    seg = load(tiny("mask2former"), device="cpu")
    assert (seg.threshold, seg.mask_threshold, seg.overlap_mask_area_threshold) == (0.5, 0.5, 0.8)
    pred = seg.predict(coco_images[0], task="all")
    assert pred.problems() == [] and pred.panoptic.ids.shape == pred.shape
    assert (pred.instances.scores >= 0.5).all()


def test_large_images_are_shrunk_with_a_warning_and_restored(tiny):
    seg = load(tiny("mask2former"), device="cpu", max_side=64, **LOOSE)
    img = np.random.default_rng(0).integers(0, 256, (150, 200, 3), dtype=np.uint8)
    with pytest.warns(UserWarning, match="200x150 is larger than max_side=64"):
        pred = seg.predict(img, task="all")
    assert pred.shape == (150, 200) and pred.extra["resized_from"] == (48, 64)
    assert pred.problems() == []


# --------------------------------------------------------------------------- mapping, crafted outputs
def _crafted(classes, masks, num_labels=4):
    """Outputs of one image: each query sure of its class (index ``num_labels`` = no object), its mask."""
    q = len(classes)
    logits = torch.full((1, q, num_labels + 1), -10.0)
    for k, c in enumerate(classes):
        logits[0, k, c] = 10.0
    m = torch.as_tensor(np.where(np.asarray(masks), 10.0, -10.0), dtype=torch.float32)[None]
    return SimpleNamespace(class_queries_logits=logits, masks_queries_logits=m)


def _quadrants(h=8, w=8):
    out = np.zeros((4, h, w), bool)
    out[0, : h // 2, : w // 2] = True
    out[1, : h // 2, w // 2:] = True
    out[2, h // 2:, : w // 2] = True
    out[3, h // 2:, w // 2:] = True
    return out


def test_stuff_fusion_never_reuses_a_segment_id(tiny):
    # sky, person, sky, person: the processors' own fusion would give the 2nd person the 1st one's id
    # (transformers #23461); panoptix fuses afterwards and keeps two persons and one sky.
    seg = load(tiny("mask2former"), device="cpu", categories=CATS)
    pan, scores = seg._panoptic(_crafted([2, 0, 2, 0], _quadrants()), (16, 16))
    cats = sorted(s.category_id for s in pan.segments)
    assert cats == [1, 1, 184]
    sky = next(s for s in pan.segments if s.category_id == 184)
    assert sky.area == 2 * 64
    assert all(s.area == 64 for s in pan.segments if s.category_id == 1)
    assert set(scores) == {s.id for s in pan.segments} and all(v > 0.99 for v in scores.values())


def test_no_object_queries_give_nothing_and_labels_map_to_ids(tiny):
    seg = load(tiny("mask2former"), device="cpu", categories=CATS)
    # Only "no object" (index 4): the processor returns -1 everywhere -> all VOID, no segment, no instance.
    pan, scores = seg._panoptic(_crafted([4, 4, 4, 4], _quadrants()), (16, 16))
    assert (pan.ids == 0).all() and pan.segments == [] and scores == {}
    assert len(seg._instances(_crafted([4, 4, 4, 4], _quadrants()), (16, 16))) == 0
    # Query 0 says "no object": it makes no segment (its pixels go to the query that wins them, as the
    # transformers post-processing does); 1 is car (id 3), 2 road (149), 3 person (1).
    pan, _ = seg._panoptic(_crafted([4, 1, 3, 0], _quadrants()), (16, 16))
    assert sorted(s.category_id for s in pan.segments) == [1, 3, 149]
    assert pan.ids[4, 12] == next(s.id for s in pan.segments if s.category_id == 3)
    inst = seg._instances(_crafted([4, 1, 3, 0], _quadrants()), (16, 16))
    assert sorted(inst.category_ids.tolist()) == [1, 3]  # road is stuff: not an instance
    sem = seg._semantic(_crafted([4, 1, 3, 0], _quadrants()), (16, 16))
    assert sem.labels[12, 4] == 149 and sem.labels[4, 12] == 3


def test_overlapping_instance_masks_survive(tiny):
    seg = load(tiny("mask2former"), device="cpu", categories=CATS)
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :6, :6] = True
    masks[1, 2:, 2:] = True
    inst = seg._instances(_crafted([0, 1], masks), (16, 16))
    assert sorted(inst.category_ids.tolist()) == [1, 3]
    m = inst.masks()
    overlap = int((m.sum(0) == 2).sum())
    assert 48 <= overlap <= 80  # the 4x4 overlap of the 8x8 logits is about 8x8 at 16x16
    assert (inst.scores > 0.9).all()


def test_batch_padding_is_cropped_before_post_processing(tiny):
    # Image 2 of the batch fills the top-left 4x6 of the 8x12 padded logits; its query 1 only lives
    # in the padding and must not become an object; query 0 covers the valid area.
    logits = torch.full((2, 2, 5), -10.0)
    logits[:, 0, 0] = 10.0
    logits[:, 1, 1] = 10.0
    masks = torch.full((2, 2, 8, 12), -10.0)
    masks[:, 0, :4, :6] = 10.0
    masks[:, 1, 4:, 6:] = 10.0
    outputs = SimpleNamespace(class_queries_logits=logits, masks_queries_logits=masks)
    pixel_mask = torch.zeros(2, 32, 48, dtype=torch.long)
    pixel_mask[0] = 1
    pixel_mask[1, :16, :24] = 1
    per = split_outputs(outputs, pixel_mask, ("class_queries_logits", "masks_queries_logits"),
                        ("masks_queries_logits",))
    assert per[0].masks_queries_logits.shape == (1, 2, 8, 12) and per[1].masks_queries_logits.shape == (1, 2, 4, 6)
    assert per[1].class_queries_logits.shape == (1, 2, 5)
    seg = load(tiny("mask2former"), device="cpu", categories=CATS)
    inst = seg._instances(per[1], (40, 60))
    assert inst.category_ids.tolist() == [1] and inst.masks()[0].all()
    both = seg._instances(per[0], (40, 60))
    assert sorted(both.category_ids.tolist()) == [1, 3]
