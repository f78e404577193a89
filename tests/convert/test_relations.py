"""The relations between the three kinds on small hand-made arrays: every rule and edge case."""

from __future__ import annotations

import numpy as np
import pytest

from panoptix.convert import (
    GROUND_TRUTH_FUSE,
    fuse,
    instances_to_panoptic,
    instances_to_semantic,
    panoptic_to_instances,
    panoptic_to_semantic,
    priority,
    semantic_to_instances,
    semantic_to_panoptic,
    to_kind,
)
from panoptix.convert.relations import _group, _panoptic, _rles_from_id_map
from panoptix.core import (
    Category,
    CategoryError,
    Instances,
    PanopticMap,
    PanoptixError,
    Segment,
    SemanticMap,
    SizeMismatchError,
    Taxonomy,
    ValidationError,
)
from panoptix.core import masks as M
from panoptix.io.dataset import ImageInfo, Sample

PERSON, DOG, ROAD, SKY = 1, 2, 7, 184
TAX = Taxonomy([Category(PERSON, "person"), Category(DOG, "dog"), Category(ROAD, "road", isthing=False),
                Category(SKY, "sky", isthing=False)])


def masks_of(shape, *boxes):
    """N×H×W masks, one filled rectangle ``(y0, y1, x0, x1)`` each."""
    out = np.zeros((len(boxes),) + shape, bool)
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        out[k, y0:y1, x0:x1] = True
    return out


def seg_table(pan: PanopticMap):
    return [(s.id, s.category_id, s.iscrowd, s.area) for s in pan.segments]


# --------------------------------------------------------------------------- RLE from an id map
@pytest.mark.parametrize("seed", range(6))
def test_rles_from_id_map_equal_encoding_each_mask(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 9, size=2)
    ids = rng.integers(0, 4, size=(h, w)) * 1000  # sparse ids, runs touching first and last pixel
    wanted = [0, 1000, 2000, 3000, 5000]  # 5000 is absent: an empty mask
    rles = _rles_from_id_map(ids, wanted)
    for k, rle in zip(wanted, rles):
        assert rle == M.encode(ids == k)


def test_rles_from_id_map_of_full_and_single_pixel_masks():
    ids = np.zeros((3, 4), np.int64)
    ids[2, 3] = 9  # the very last pixel in column-major order
    assert _rles_from_id_map(ids, [0, 9]) == [M.encode(ids == 0), M.encode(ids == 9)]
    ids[...] = 9
    assert _rles_from_id_map(ids, [9]) == [M.encode(np.ones((3, 4), bool))]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (6, 9), (0, 3)])
def test_group_is_unique_with_inverse_counts_and_boxes(shape):
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    a = rng.choice([0, 3, 3, 3, 70000], size=shape)
    uniq, inverse, counts, boxes = _group(a)
    u, i, c = np.unique(a, return_inverse=True, return_counts=True)
    assert uniq.tolist() == u.tolist() and inverse.tolist() == i.ravel().tolist() and counts.tolist() == c.tolist()
    for v, (x0, y0, x1, y1) in zip(uniq.tolist(), boxes.tolist()):
        ys, xs = np.nonzero(a == v)
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max(), ys.max())


def test_panoptic_stats_equal_the_core_measurements():
    rng = np.random.default_rng(3)
    ids = rng.choice([0, 1, 2, 4], size=(7, 5), p=[0.4, 0.3, 0.3, 0.0]).astype(np.int32)
    segs = [Segment(k, PERSON) for k in (1, 2, 3, 4)]  # 3 and 4 absent
    assert _panoptic(ids, segs) == PanopticMap(ids, segs).with_stats()


# --------------------------------------------------------------------------- panoptic -> semantic
def test_panoptic_to_semantic_maps_every_segment_and_void():
    ids = np.array([[0, 5, 5, 9], [3, 3, 9, 9]])
    pan = PanopticMap.from_ids(ids, {5: PERSON, 3: PERSON, 9: SKY}, iscrowd={3: True})
    sem = panoptic_to_semantic(pan, TAX)
    assert sem.labels.tolist() == [[255, 1, 1, 184], [1, 1, 184, 184]]  # crowd keeps its class
    assert sem.ignore_index == 255 and sem.labels.dtype == np.uint8
    assert panoptic_to_semantic(pan, TAX, ignore_index=0).labels[0, 0] == 0
    assert panoptic_to_semantic(pan, TAX, things_as=183).labels.tolist() == [[255, 183, 183, 184],
                                                                             [183, 183, 184, 184]]


def test_panoptic_to_semantic_uses_the_taxonomy_ignore_index_and_wide_ids():
    tax = Taxonomy([Category(300, "big", isthing=False)], ignore_index=0)
    pan = PanopticMap.from_ids(np.array([[0, 1]]), {1: 300})
    sem = panoptic_to_semantic(pan, tax)
    assert sem.labels.tolist() == [[0, 300]] and sem.labels.dtype == np.uint16 and sem.ignore_index == 0


def test_panoptic_to_semantic_of_an_all_void_map():
    sem = panoptic_to_semantic(PanopticMap(np.zeros((2, 3), np.int32), []), TAX)
    assert (sem.labels == 255).all() and sem.classes().size == 0


def test_panoptic_to_semantic_bad_input_names_the_segment():
    pan = PanopticMap.from_ids(np.array([[1, 2]]), {1: PERSON})
    with pytest.raises(ValidationError, match="segment 2: segment is in the id map but has no segment record"):
        panoptic_to_semantic(pan, TAX)
    pan = PanopticMap.from_ids(np.array([[1, 2]]), {1: PERSON, 2: 99})
    with pytest.raises(CategoryError, match="segment 2: unknown category id 99") as err:
        panoptic_to_semantic(pan, TAX)
    assert err.value.segment_id == 2
    pan = PanopticMap(np.array([[1, 1]]), [Segment(1, PERSON), Segment(1, DOG)])
    with pytest.raises(ValidationError, match="segment 1: duplicate segment id"):
        panoptic_to_semantic(pan, TAX)
    with pytest.raises(ValidationError, match="ignore_index 7 is also the id of category 'road'"):
        panoptic_to_semantic(PanopticMap.from_ids(np.array([[1]]), {1: PERSON}), TAX, ignore_index=ROAD)


# --------------------------------------------------------------------------- panoptic -> instances
def test_panoptic_to_instances_keeps_things_crowd_ids_and_pixel_areas():
    ids = np.array([[0, 5, 5, 9], [3, 3, 9, 9], [3, 0, 9, 9]])
    segs = [Segment(9, SKY), Segment(5, PERSON, area=999, bbox=(9, 9, 9, 9)), Segment(3, DOG, iscrowd=True),
            Segment(4, PERSON)]  # 4 has no pixel
    inst = panoptic_to_instances(PanopticMap(ids, segs), TAX)
    assert inst.ids.tolist() == [5, 3]  # record order, things only, pixel-less record dropped
    assert inst.category_ids.tolist() == [PERSON, DOG]
    assert inst.iscrowd.tolist() == [False, True]
    assert inst.areas.tolist() == [2.0, 3.0]  # measured, not the recorded 999
    assert inst.bboxes.tolist() == [[1, 0, 2, 1], [0, 1, 2, 2]]
    assert inst.scores is None
    assert np.array_equal(inst.masks(), np.stack([ids == 5, ids == 3]))
    every = panoptic_to_instances(PanopticMap(ids, segs), TAX, things_only=False)
    assert every.ids.tolist() == [9, 5, 3] and every.areas.tolist() == [5.0, 2.0, 3.0]


def test_panoptic_to_instances_of_stuff_only_is_empty():
    inst = panoptic_to_instances(PanopticMap.from_ids(np.array([[1, 1], [0, 1]]), {1: ROAD}), TAX)
    assert len(inst) == 0 and inst.shape == (2, 2) and inst.masks().shape == (0, 2, 2)


# --------------------------------------------------------------------------- priority
def test_priority_orders_and_ties():
    m = masks_of((4, 4), (0, 4, 0, 4), (0, 1, 0, 1), (0, 2, 0, 2), (0, 1, 0, 2))  # areas 16, 1, 4, 2
    inst = Instances.from_masks(m, [1] * 4, scores=[0.9, 0.5, 0.9, 0.5])
    assert priority(inst, "score").tolist() == [0, 2, 1, 3]  # ties keep the given order
    assert priority(inst, ("score", "area")).tolist() == [2, 0, 1, 3]
    assert priority(inst, "area").tolist() == [1, 3, 2, 0]
    assert priority(inst, "given").tolist() == [0, 1, 2, 3]
    gt = Instances.from_masks(m, [1] * 4)  # no scores: all count as 1
    assert priority(gt, "score").tolist() == [0, 1, 2, 3]
    assert priority(gt, ("score", "area")).tolist() == [1, 3, 2, 0]
    assert priority(Instances.empty(2, 2), "area").tolist() == []
    with pytest.raises(PanoptixError, match="order must be one or more of score, area, given"):
        priority(inst, "size")
    with pytest.raises(PanoptixError, match="order must be"):
        priority(inst, ())


# --------------------------------------------------------------------------- instances -> semantic
def test_instances_to_semantic_overlaps_follow_the_order():
    m = masks_of((3, 4), (0, 3, 0, 4), (1, 3, 1, 3))  # a big person, a small dog inside
    inst = Instances.from_masks(m, [PERSON, DOG], scores=[0.9, 0.6])
    by_score = instances_to_semantic(inst, TAX, order="score")
    assert by_score.labels.tolist() == [[1, 1, 1, 1]] * 3
    default = instances_to_semantic(inst, TAX)  # higher score first
    assert default == by_score
    by_area = instances_to_semantic(inst, TAX, order="area")
    assert by_area.labels.tolist() == [[1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 2, 1]]


def test_instances_to_semantic_ground_truth_puts_smaller_objects_on_top():
    m = masks_of((3, 4), (0, 3, 0, 4), (1, 3, 1, 3))
    gt = Instances.from_masks(m, [PERSON, DOG])
    assert instances_to_semantic(gt, TAX).labels.tolist() == [[1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 2, 1]]
    assert instances_to_semantic(gt, TAX, order="given").labels.tolist() == [[1, 1, 1, 1]] * 3


def test_instances_to_semantic_equal_scores_break_ties_by_area_then_given_order():
    m = masks_of((2, 4), (0, 2, 0, 3), (0, 2, 1, 4), (0, 2, 2, 4))  # areas 6, 6, 4
    inst = Instances.from_masks(m, [PERSON, DOG, PERSON], scores=[0.7, 0.7, 0.7])
    sem = instances_to_semantic(inst, TAX)
    # the smallest (index 2) on top at columns 2-3; then 0 before 1 at column 1
    assert sem.labels.tolist() == [[1, 1, 1, 1]] * 2
    inst = Instances.from_masks(m[:2], [DOG, PERSON], scores=[0.7, 0.7])
    assert instances_to_semantic(inst, TAX).labels.tolist() == [[2, 2, 2, 1]] * 2


def test_instances_to_semantic_crowd_uncovered_and_empty():
    m = masks_of((2, 3), (0, 1, 0, 3))
    inst = Instances.from_masks(m, [PERSON], iscrowd=[True])
    assert instances_to_semantic(inst, TAX).labels.tolist() == [[1, 1, 1], [255, 255, 255]]
    assert instances_to_semantic(inst, TAX, ignore_index=0).labels.tolist() == [[1, 1, 1], [0, 0, 0]]
    empty = instances_to_semantic(Instances.empty(2, 3), TAX)
    assert empty.shape == (2, 3) and (empty.labels == 255).all()


def test_instances_to_semantic_unknown_category_names_the_annotation():
    inst = Instances.from_masks(masks_of((2, 2), (0, 1, 0, 1)), [42], ids=[17])
    with pytest.raises(CategoryError, match="segment 17: unknown category id 42"):
        instances_to_semantic(inst, TAX)


# --------------------------------------------------------------------------- fuse
def naive_fuse(sem_labels, masks, cats, scores, thr, overlap, limit, ignore=255):
    """The fusion written the plain way (full masks, one object at a time) to check against."""
    h, w = sem_labels.shape
    out = np.zeros((h, w), np.int64)
    table = []
    for i in sorted(range(len(masks)), key=lambda i: -scores[i]):  # Python's sort is stable
        area = masks[i].sum()
        if scores[i] < thr or area == 0:
            continue
        taken = (masks[i] & (out > 0)).sum()
        if taken / area > overlap or taken == area:
            continue
        out[masks[i] & (out == 0)] = len(table) + 1
        table.append(cats[i])
    for c in sorted(set(sem_labels.ravel().tolist())):
        if c == ignore or TAX[c].isthing:
            continue
        region = (sem_labels == c) & (out == 0)
        if region.sum() >= limit and region.any():
            out[region] = len(table) + 1
            table.append(c)
    return out, table


@pytest.mark.parametrize("seed", range(8))
def test_fuse_matches_the_plain_algorithm_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    h, w, n = 12, 15, int(rng.integers(0, 9))
    sem = rng.choice([PERSON, DOG, ROAD, SKY, 255], size=(h, w), p=[0.1, 0.1, 0.35, 0.35, 0.1])
    masks = np.zeros((n, h, w), bool)
    for k in range(n):
        y0, x0 = rng.integers(0, h - 1), rng.integers(0, w - 1)
        masks[k, y0:y0 + rng.integers(1, 8), x0:x0 + rng.integers(1, 8)] = True
    cats = rng.choice([PERSON, DOG], size=n).tolist()
    scores = np.round(rng.uniform(0.2, 1.0, size=n), 1).tolist()  # rounded: ties happen
    thr, overlap, limit = 0.5, float(rng.choice([0.0, 0.3, 0.5, 1.0])), int(rng.integers(0, 40))
    inst = Instances.from_masks(masks, cats, scores=scores)
    pan = fuse(SemanticMap(sem), inst, TAX, score_threshold=thr, overlap_threshold=overlap, stuff_area_limit=limit)
    want, table = naive_fuse(sem, masks, cats, scores, thr, overlap, limit)
    assert np.array_equal(pan.ids, want)
    assert [s.category_id for s in pan.segments] == table
    assert [s.id for s in pan.segments] == list(range(1, len(table) + 1))
    pan.validate(TAX)  # areas measured, one segment per stuff class, no record without pixels


def test_fuse_score_threshold_boundary_is_kept():
    m = masks_of((2, 4), (0, 1, 0, 2), (1, 2, 2, 4))
    inst = Instances.from_masks(m, [PERSON, DOG], scores=[0.5, np.nextafter(0.5, 0)])
    pan = fuse(None, inst, TAX)  # default score_threshold 0.5
    assert seg_table(pan) == [(1, PERSON, False, 2)]
    assert pan.ids.tolist() == [[1, 1, 0, 0], [0, 0, 0, 0]]


def test_fuse_skips_nan_scores_and_empty_masks():
    m = masks_of((2, 4), (0, 1, 0, 2), (1, 2, 2, 4), (0, 0, 0, 0))
    inst = Instances.from_masks(m, [PERSON, DOG, DOG], scores=[np.nan, 0.9, 0.95])
    assert seg_table(fuse(None, inst, TAX)) == [(1, DOG, False, 2)]


def test_fuse_overlap_threshold_boundary_and_free_pixels_only():
    # first object: 4 pixels; second: 4 pixels, 2 of them taken -> fraction exactly 0.5
    m = masks_of((2, 6), (0, 2, 0, 2), (0, 2, 1, 3))
    inst = Instances.from_masks(m, [PERSON, DOG], scores=[0.9, 0.8])
    pan = fuse(None, inst, TAX, overlap_threshold=0.5)
    assert pan.ids.tolist() == [[1, 1, 2, 0, 0, 0]] * 2  # kept, pasted on its 2 free pixels
    assert seg_table(pan) == [(1, PERSON, False, 4), (2, DOG, False, 2)]
    pan = fuse(None, inst, TAX, overlap_threshold=0.49)
    assert seg_table(pan) == [(1, PERSON, False, 4)]


def test_fuse_drops_an_object_left_with_no_free_pixel_even_at_overlap_one():
    m = masks_of((2, 2), (0, 2, 0, 2), (0, 1, 0, 1))
    inst = Instances.from_masks(m, [PERSON, DOG], scores=[0.9, 0.8])
    pan = fuse(None, inst, TAX, overlap_threshold=1.0)
    assert seg_table(pan) == [(1, PERSON, False, 4)]
    pan.validate(TAX)


def test_fuse_score_ties_keep_the_given_order():
    m = masks_of((1, 3), (0, 1, 0, 2), (0, 1, 1, 3))
    inst = Instances.from_masks(m, [PERSON, DOG], scores=[0.7, 0.7])
    assert fuse(None, inst, TAX, overlap_threshold=1).ids.tolist() == [[1, 1, 2]]
    assert [s.category_id for s in fuse(None, inst[[1, 0]], TAX, overlap_threshold=1).segments] == [DOG, PERSON]


def test_fuse_stuff_area_limit_boundary_and_semantic_things_ignored():
    sem = SemanticMap(np.array([[ROAD, ROAD, ROAD, SKY],
                                [ROAD, PERSON, SKY, SKY],
                                [255, PERSON, SKY, SKY]]))
    pan = fuse(sem, None, TAX, stuff_area_limit=5)  # road 4 < 5: dropped; sky 5: kept
    assert pan.ids.tolist() == [[0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1]]
    assert seg_table(pan) == [(1, SKY, False, 5)]
    pan = fuse(sem, None, TAX, stuff_area_limit=4)
    assert seg_table(pan) == [(1, ROAD, False, 4), (2, SKY, False, 5)]  # by class id
    assert pan.ids[1, 1] == pan.ids[2, 0] == 0  # semantic thing pixels and ignore pixels: VOID


def test_fuse_stuff_limit_counts_only_pixels_left_free():
    sem = SemanticMap(np.full((2, 3), SKY))
    inst = Instances.from_masks(masks_of((2, 3), (0, 2, 0, 2)), [PERSON], scores=[0.9], iscrowd=[True])
    pan = fuse(sem, inst, TAX, stuff_area_limit=3)
    assert seg_table(pan) == [(1, PERSON, True, 4)]  # only 2 sky pixels left < 3; crowd flag kept
    assert pan.ids.tolist() == [[1, 1, 0], [1, 1, 0]]
    assert seg_table(fuse(sem, inst, TAX, stuff_area_limit=2)) == [(1, PERSON, True, 4), (2, SKY, False, 2)]


def test_fuse_makes_no_empty_stuff_segment_at_area_limit_zero():
    sem = SemanticMap(np.array([[SKY, SKY, ROAD]]))
    inst = Instances.from_masks(masks_of((1, 3), (0, 1, 0, 2)), [PERSON], scores=[0.9])
    pan = fuse(sem, inst, TAX, stuff_area_limit=0)  # sky entirely under the person
    assert seg_table(pan) == [(1, PERSON, False, 2), (2, ROAD, False, 1)]
    pan.validate(TAX)


def test_fuse_of_empty_inputs():
    pan = fuse(SemanticMap(np.full((2, 2), 255)), Instances.empty(2, 2, with_scores=True), TAX)
    assert pan.segments == [] and (pan.ids == 0).all() and pan.shape == (2, 2)


def test_fuse_bad_input():
    sem = SemanticMap(np.full((2, 3), SKY))
    with pytest.raises(SizeMismatchError, match="semantic map is 2x3, instances are 3x2"):
        fuse(sem, Instances.empty(3, 2), TAX)
    road = Instances.from_masks(masks_of((2, 3), (0, 1, 0, 1)), [ROAD], scores=[0.9], ids=[31])
    with pytest.raises(ValidationError, match="segment 31: an instance of stuff class 'road'"):
        fuse(sem, road, TAX)
    with pytest.raises(CategoryError, match="unknown class id 5 in the semantic map"):
        fuse(SemanticMap(np.full((2, 3), 5)), None, TAX)
    with pytest.raises(ValidationError, match="nothing to fuse"):
        fuse(None, None, TAX)


# --------------------------------------------------------------------------- instances -> panoptic
def test_instances_to_panoptic_keeps_every_ground_truth_object():
    m = masks_of((3, 4), (0, 3, 0, 4), (1, 3, 1, 3), (0, 1, 0, 1))  # person, dog inside, crowd corner
    gt = Instances.from_masks(m, [PERSON, DOG, PERSON], iscrowd=[False, False, True])
    pan = instances_to_panoptic(gt, TAX)  # smaller on top, overlap threshold 1: nobody lost
    assert pan.ids.tolist() == [[1, 3, 3, 3], [3, 2, 2, 3], [3, 2, 2, 3]]
    assert seg_table(pan) == [(1, PERSON, True, 1), (2, DOG, False, 4), (3, PERSON, False, 7)]
    pan.validate(TAX)
    # options override the ground-truth defaults
    assert len(instances_to_panoptic(gt, TAX, overlap_threshold=0.0).segments) == 2


def test_instances_to_panoptic_of_predictions_uses_fuse_defaults():
    m = masks_of((3, 4), (0, 3, 0, 4), (1, 3, 1, 3), (0, 1, 0, 1))
    pred = Instances.from_masks(m, [PERSON, DOG, PERSON], scores=[0.9, 0.8, 0.4])
    pan = instances_to_panoptic(pred, TAX)  # dog fully inside the person: dropped; 0.4 < 0.5: skipped
    assert seg_table(pan) == [(1, PERSON, False, 12)]
    assert seg_table(instances_to_panoptic(pred, TAX, score_threshold=0.3, overlap_threshold=1.0)) == [
        (1, PERSON, False, 12)]


def test_ground_truth_fuse_options():
    assert GROUND_TRUTH_FUSE == {"score_threshold": 0.0, "overlap_threshold": 1.0, "stuff_area_limit": 0,
                                 "order": "area"}


# --------------------------------------------------------------------------- semantic -> instances / panoptic
SEM = np.array([[1, 1, 184, 2, 255],
                [184, 184, 1, 2, 255],
                [7, 184, 184, 184, 1],
                [7, 7, 1, 184, 1]])


def test_semantic_to_instances_connected_components():
    sem = SemanticMap(SEM)
    eight = semantic_to_instances(sem, TAX)
    # person: {(0,0),(0,1),(1,2)} joined by a corner, {(2,4),(3,4)}, {(3,2)}; dog: one column
    assert eight.category_ids.tolist() == [PERSON, PERSON, PERSON, DOG]
    assert eight.ids.tolist() == [1, 2, 3, 4] and eight.scores is None and not eight.iscrowd.any()
    assert eight.areas.tolist() == [3.0, 2.0, 1.0, 2.0]
    assert eight.bboxes.tolist() == [[0, 0, 3, 2], [4, 2, 1, 2], [2, 3, 1, 1], [3, 0, 1, 2]]
    assert np.argwhere(eight.masks()[1]).tolist() == [[2, 4], [3, 4]]
    four = semantic_to_instances(sem, TAX, connectivity=4)
    assert four.category_ids.tolist() == [PERSON] * 4 + [DOG]
    assert four.areas.tolist() == [2.0, 1.0, 2.0, 1.0, 2.0]  # raster order of the first pixel
    union = four.masks().any(0)
    assert np.array_equal(union, np.isin(SEM, [PERSON, DOG]))


def test_semantic_to_instances_stuff_only_empty_and_bad_input():
    assert len(semantic_to_instances(SemanticMap(np.full((2, 2), SKY)), TAX)) == 0
    assert len(semantic_to_instances(SemanticMap(np.full((2, 2), 255)), TAX)) == 0
    with pytest.raises(CategoryError, match="unknown class id 3"):
        semantic_to_instances(SemanticMap(np.array([[3]])), TAX)
    with pytest.raises(PanoptixError, match="connectivity must be 4 or 8, got 6"):
        semantic_to_instances(SemanticMap(SEM), TAX, connectivity=6)


def test_semantic_to_panoptic_one_segment_per_stuff_class_and_per_thing_component():
    pan = semantic_to_panoptic(SemanticMap(SEM), TAX)
    assert [(s.id, s.category_id, s.area) for s in pan.segments] == [
        (1, PERSON, 3), (2, PERSON, 2), (3, PERSON, 1), (4, DOG, 2), (5, ROAD, 3), (6, SKY, 7)]
    assert pan.ids.tolist() == [[1, 1, 6, 4, 0],
                                [6, 6, 1, 4, 0],
                                [5, 6, 6, 6, 2],
                                [5, 5, 3, 6, 2]]
    pan.validate(TAX)
    assert panoptic_to_semantic(pan, TAX) == SemanticMap(SEM)  # exact back to semantic


def test_semantic_to_panoptic_of_an_ignored_map():
    pan = semantic_to_panoptic(SemanticMap(np.full((2, 2), 255)), TAX)
    assert pan.segments == [] and (pan.ids == 0).all()


# --------------------------------------------------------------------------- to_kind
def sample(**labels):
    return Sample(ImageInfo(42, "x.jpg", 3, 4), **labels)


PAN = PanopticMap.from_ids(np.array([[1, 1, 2, 2], [1, 3, 3, 2], [0, 3, 3, 2]]), {1: SKY, 2: PERSON, 3: DOG})


def test_to_kind_prefers_panoptic():
    s = sample(panoptic=PAN, instances=Instances.empty(3, 4))
    sem = to_kind(s, "semantic", TAX)
    assert sem.semantic == panoptic_to_semantic(PAN, TAX) and sem.instances is s.instances
    inst = to_kind(sample(panoptic=PAN, semantic=SemanticMap(np.full((3, 4), SKY))), "instances", TAX)
    assert inst.instances.ids.tolist() == [2, 3]
    assert to_kind(s, "panoptic", TAX) is s  # already there: unchanged


def test_to_kind_fuses_semantic_and_instances_as_ground_truth():
    sem = panoptic_to_semantic(PAN, TAX)
    inst = panoptic_to_instances(PAN, TAX)
    out = to_kind(sample(semantic=sem, instances=inst), "panoptic", TAX)
    assert panoptic_to_semantic(out.panoptic, TAX) == sem
    assert len(out.panoptic.segments) == 3  # 1-pixel-free sky kept: no area limit for ground truth
    # predictions get fuse's defaults: the small sky region goes
    pred = Instances(inst.rles, 3, 4, inst.category_ids, scores=[0.9, 0.9])
    out = to_kind(sample(semantic=sem, instances=pred), "panoptic", TAX)
    assert [s.category_id for s in out.panoptic.segments] == [PERSON, DOG]
    out = to_kind(sample(semantic=sem, instances=pred), "panoptic", TAX, stuff_area_limit=3)
    assert [s.category_id for s in out.panoptic.segments] == [PERSON, DOG, SKY]


def test_to_kind_from_a_single_other_kind():
    sem = panoptic_to_semantic(PAN, TAX)
    assert to_kind(sample(semantic=sem), "panoptic", TAX).panoptic == semantic_to_panoptic(sem, TAX)
    assert len(to_kind(sample(semantic=sem), "instances", TAX).instances) == 2
    inst = panoptic_to_instances(PAN, TAX)
    assert to_kind(sample(instances=inst), "semantic", TAX).semantic.labels.tolist() == [
        [255, 255, 1, 1], [255, 2, 2, 1], [255, 2, 2, 1]]
    pan = to_kind(sample(instances=inst), "panoptic", TAX).panoptic
    assert [s.category_id for s in pan.segments] == [PERSON, DOG]  # equal areas: given order


def test_to_kind_errors_name_the_image():
    with pytest.raises(ValidationError, match="image 42: no semantic or instance labels"):
        to_kind(sample(), "panoptic", TAX)
    with pytest.raises(ValidationError, match="image 42: no panoptic or instance labels"):
        to_kind(sample(), "semantic", TAX)
    with pytest.raises(ValidationError, match="image 42: no panoptic or semantic labels"):
        to_kind(sample(), "instances", TAX)
    with pytest.raises(ValidationError, match="image 42: unknown kind 'boxes'"):
        to_kind(sample(panoptic=PAN), "boxes", TAX)
    with pytest.raises(SizeMismatchError, match="image 42: semantic labels are 2x2, expected 3x4"):
        to_kind(sample(semantic=SemanticMap(np.full((2, 2), SKY))), "panoptic", TAX)
    with pytest.raises(SizeMismatchError, match="image 42: .*expected 3x4"):
        to_kind(sample(semantic=SemanticMap(np.full((3, 4), SKY)), instances=Instances.empty(4, 3)), "panoptic", TAX)
    bad = PanopticMap.from_ids(np.ones((3, 4), np.int64), {1: 99})
    with pytest.raises(CategoryError, match="image 42, segment 1: unknown category id 99") as err:
        to_kind(sample(panoptic=bad), "semantic", TAX)
    assert (err.value.image_id, err.value.segment_id) == (42, 1)
