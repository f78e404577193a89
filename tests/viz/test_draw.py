"""Drawing functions on hand-made labels: colours at known pixels, outlines, legends, VOID."""

from __future__ import annotations

import numpy as np
import pytest

from panoptix.core import Instances, PanopticMap, SemanticMap, SizeMismatchError, ValidationError
from panoptix.core.taxonomy import stable_color
from panoptix.viz import (
    annotate as A, draw_comparison, draw_instances, draw_labels_of, draw_panoptic, draw_semantic, object_colors,
    shade, shades,
)
from panoptix.viz.colors import FN_COLOR, FP_COLOR, IGNORED_COLOR, TP_COLOR, text_color

PERSON, CAR, ROAD, SKY = (220, 20, 60), (0, 0, 142), (128, 64, 128), (70, 130, 180)
WHITE = (255, 255, 255)


def count(img, color) -> int:
    return int((img[..., :3] == np.asarray(color, np.uint8)).all(-1).sum())


def px(img, y, x) -> tuple:
    return tuple(int(v) for v in img[y, x])


def is_grey(p) -> bool:
    return p[0] == p[1] == p[2]


def square(h, w, y0, y1, x0, x1) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


# --------------------------------------------------------------------------- colours
def test_shades_start_at_class_colour_and_never_repeat():
    s = shades(PERSON, range(50))
    assert tuple(s[0]) == PERSON
    assert len({tuple(c) for c in s.tolist()}) == 50
    assert shade(PERSON, 3) == tuple(int(v) for v in s[3])


def test_object_colours_follow_ids_not_input_order(tax):
    a = object_colors(tax, [1, 1, 3], [7, 2, 5])
    b = object_colors(tax, [3, 1, 1], [5, 2, 7])
    assert a[1].tolist() == list(PERSON) and a[2].tolist() == list(CAR)  # rank 0 of each class
    assert a[0].tolist() == b[2].tolist() and a[1].tolist() == b[1].tolist()
    assert a[0].tolist() != a[1].tolist()


def test_unknown_class_gets_stable_colour(tax):
    sem = SemanticMap(np.full((16, 16), 99))
    out = draw_semantic(None, sem, tax, alpha=1.0, legend=False, outlines=False)
    assert px(out, 8, 8) == stable_color(99)
    assert px(draw_semantic(None, sem, tax, alpha=1.0, legend=False, outlines=False), 8, 8) == stable_color(99)


def test_text_colour_contrasts():
    assert text_color(PERSON) == WHITE and text_color((240, 240, 100)) == (0, 0, 0)


# --------------------------------------------------------------------------- annotators
def test_boundaries_mark_both_sides_of_each_edge():
    ids = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    b = A.boundaries(ids)
    assert b[0, 1] and b[0, 2] and b[1, 0] and b[2, 0]
    assert not b[0, 0]


def test_fill_masks_averages_overlaps_and_outline_masks_paint_edges():
    a, b = square(10, 10, 0, 6, 0, 6), square(10, 10, 3, 9, 3, 9)
    out = A.fill_masks(np.zeros((10, 10, 3), np.uint8), [a, b], [(200, 0, 0), (0, 0, 100)], alpha=1.0)
    assert px(out, 1, 1) == (200, 0, 0) and px(out, 8, 8) == (0, 0, 100) and px(out, 4, 4) == (100, 0, 50)
    assert px(out, 9, 9) == (0, 0, 0)
    edged = A.outline_masks(out, [a], [(1, 2, 3)])
    assert px(edged, 0, 3) == (1, 2, 3) and px(edged, 5, 2) == (1, 2, 3) and px(edged, 2, 2) == (200, 0, 0)


def test_grey_out_hatches_in_two_greys():
    img = np.zeros((20, 20, 3), np.uint8)
    img[..., 1] = 255
    where = square(20, 20, 0, 20, 10, 20)
    out = A.grey_out(img, where)
    region = out[where]
    assert (region[:, 0] == region[:, 1]).all() and (region[:, 1] == region[:, 2]).all()
    assert len(np.unique(region[:, 0])) == 2  # plain grey and the darker hatch lines
    assert px(out, 5, 5) == (0, 255, 0)
    flat = A.grey_out(img, where, hatch=False)[where]
    assert len(np.unique(flat[:, 0])) == 1


def test_canvas_rejects_wrong_sizes():
    with pytest.raises(SizeMismatchError, match="image is 4x4 but the labels are 5x5"):
        A.canvas(np.zeros((4, 4, 3), np.uint8), (5, 5))
    with pytest.raises(SizeMismatchError):
        A.canvas(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(SizeMismatchError):
        A.canvas(None)
    assert A.canvas(np.zeros((3, 3, 4), np.uint16)).dtype == np.uint8


def test_legend_has_exact_swatches_and_more_line():
    img = np.zeros((200, 200, 3), np.uint8)
    entries = [(f"c{i}", (10 * i + 5, 3, 200)) for i in range(5)]
    out = A.draw_legend(img, entries, max_entries=3, font_size=10)
    assert all(count(out, c) == 100 for _, c in entries[:3])  # 10x10 swatches
    assert count(out, entries[3][1]) == 0 and count(out, entries[4][1]) == 0
    # a fourth line ("+2 more") is written: white text below the third swatch
    assert (out[4 + 4 + 3 * 14: 4 + 4 + 4 * 14, :60].min(-1) > 180).any()


def test_add_title_and_layout():
    a = np.zeros((10, 20, 3), np.uint8)
    t = A.add_title(a, "semantic", font_size=12)
    assert t.shape == (10 + 24, 20, 3) and (t[:24] != 255).any() and (t[24:] == 0).all()
    assert A.hstack([a, a], gap=2).shape == (10, 42, 3)
    assert A.grid([a] * 5, ncols=2, gap=1).shape == (32, 41, 3)
    with pytest.raises(ValidationError):
        A.hstack([])


# --------------------------------------------------------------------------- semantic
@pytest.fixture
def sem():
    labels = np.full((64, 64), 184)
    labels[32:, :32] = 7
    labels[32:, 32:] = 255
    return SemanticMap(labels)


def test_semantic_colours_outlines_and_ignore(tax, sem):
    out = draw_semantic(None, sem, tax, alpha=1.0, legend=False)
    assert px(out, 10, 40) == SKY and px(out, 50, 10) == ROAD
    assert px(out, 31, 10) == WHITE and px(out, 32, 10) == WHITE  # edge sky | road, both sides
    assert px(out, 50, 32) == WHITE  # edge road | ignored
    ignored = out[34:62, 34:62].reshape(-1, 3)
    assert (ignored[:, 0] == ignored[:, 1]).all() and (ignored[:, 1] == ignored[:, 2]).all()
    no_edges = draw_semantic(None, sem, tax, alpha=1.0, legend=False, outlines=False)
    assert px(no_edges, 31, 10) == SKY


def test_semantic_blends_over_the_photo(tax, sem):
    photo = np.zeros((64, 64, 3), np.uint8)
    out = draw_semantic(photo, sem, tax, alpha=0.5, legend=False, outlines=False)
    assert px(out, 10, 40) == tuple(int(np.rint(c * 0.5)) for c in SKY)
    assert photo.sum() == 0  # the input is not touched


def test_semantic_legend_lists_classes_present_only(tax, sem):
    plain = draw_semantic(None, sem, tax, alpha=0.5, legend=False)
    legend = draw_semantic(None, sem, tax, alpha=0.5, legend=True, font_size=10)
    assert count(plain, SKY) == 0 and count(plain, ROAD) == 0
    assert count(legend, SKY) == 100 and count(legend, ROAD) == 100
    assert count(legend, PERSON) == 0 and count(legend, CAR) == 0
    # largest class first: sky (2048 px) above road (1024 px)
    sky_rows = np.nonzero((legend == SKY).all(-1))[0]
    road_rows = np.nonzero((legend == ROAD).all(-1))[0]
    assert sky_rows.max() < road_rows.min()


def test_semantic_size_mismatch_names_sizes(tax, sem):
    with pytest.raises(SizeMismatchError, match="32x32"):
        draw_semantic(np.zeros((32, 32, 3), np.uint8), sem, tax)


# --------------------------------------------------------------------------- instances
@pytest.fixture
def inst():
    masks = np.stack([square(60, 60, 10, 30, 10, 30), square(60, 60, 20, 40, 20, 40),
                      square(60, 60, 45, 55, 45, 55)])
    return Instances.from_masks(masks, category_ids=[1, 1, 3], scores=[0.9, 0.8, 0.7])


def test_instances_shades_overlap_and_outlines(tax, inst):
    out = draw_instances(None, inst, tax, alpha=1.0, labels=False)
    second = shade(PERSON, 1)
    assert px(out, 15, 15) == PERSON and px(out, 35, 35) == second and px(out, 50, 50) == CAR
    mixed = tuple(int(np.rint((a + b) / 2)) for a, b in zip(PERSON, second))
    assert px(out, 25, 25) == mixed  # overlap: both colours show
    dark = tuple(int(c * 0.6) for c in PERSON)
    assert px(out, 10, 15) == dark  # first object's outline
    assert px(out, 29, 25) == dark  # ... still visible inside the second object
    assert px(out, 20, 35) == tuple(int(c * 0.6) for c in second)
    assert px(out, 5, 5) == (160, 160, 160)  # background untouched


def test_instance_tags_show_class_and_score(tax, inst):
    with_scores = draw_instances(None, inst, tax, alpha=0.3, font_size=10)
    without = draw_instances(None, inst, tax, alpha=0.3, scores=False, font_size=10)
    bare = draw_instances(None, inst, tax, alpha=0.3, labels=False)
    assert count(bare, PERSON) == 0
    assert count(with_scores, PERSON) > count(without, PERSON) > 0  # "person 0.90" is wider than "person"
    tag = with_scores[10:24, 10:60]
    assert (tag.min(-1) > 180).any()  # white text on the dark red tag


def test_min_score_and_empty(tax, inst):
    out = draw_instances(None, inst, tax, alpha=1.0, labels=False, min_score=0.85)
    assert px(out, 15, 15) == PERSON and px(out, 35, 35) == (160, 160, 160)
    empty = draw_instances(None, Instances.empty(8, 8), tax)
    assert (empty == 160).all()


def test_instance_legend_and_crowd_tag(tax):
    m = np.stack([square(80, 80, 30, 70, 30, 70)])
    crowd = Instances.from_masks(m, [1], iscrowd=[1])
    out = draw_instances(None, crowd, tax, alpha=0.3, legend=True, labels=False, font_size=10)
    assert count(out, PERSON) == 100  # the legend swatch only
    tagged = draw_instances(None, crowd, tax, alpha=0.3, labels=True, font_size=10)
    plain = draw_instances(None, Instances.from_masks(m, [1]), tax, alpha=0.3, font_size=10)
    assert count(tagged, PERSON) > count(plain, PERSON) > 0  # "person (crowd)" is the wider tag


# --------------------------------------------------------------------------- panoptic
@pytest.fixture
def pan():
    ids = np.zeros((40, 40), np.int64)
    ids[:10] = 10
    ids[30:] = 11
    ids[10:30, 0:10] = 1
    ids[10:30, 10:20] = 2
    ids[10:30, 20:30] = 5
    return PanopticMap.from_ids(ids, {10: 184, 11: 7, 1: 1, 2: 1, 5: 3})


def test_panoptic_stuff_things_void_outlines(tax, pan):
    out = draw_panoptic(None, pan, tax, alpha=1.0, legend=False)
    assert px(out, 5, 20) == SKY and px(out, 35, 20) == ROAD
    assert px(out, 20, 4) == PERSON and px(out, 20, 15) == shade(PERSON, 1) and px(out, 20, 25) == CAR
    assert px(out, 9, 20) == WHITE and px(out, 10, 20) == WHITE  # sky | car edge
    assert px(out, 20, 9) == WHITE and px(out, 20, 10) == WHITE  # person | person edge
    void = out[11:29, 31:40].reshape(-1, 3)
    assert (void[:, 0] == void[:, 1]).all() and (void[:, 1] == void[:, 2]).all()
    assert len(np.unique(void[:, 0])) == 2  # hatched
    flat = draw_panoptic(None, pan, tax, alpha=1.0, legend=False, hatch_void=False)[11:29, 31:40]
    assert len(np.unique(flat.reshape(-1, 3)[:, 0])) == 1


def test_panoptic_unlisted_segment_is_magenta_and_labels(tax, pan):
    ids = pan.ids.copy()
    ids[0:5, 0:5] = 99
    out = draw_panoptic(None, PanopticMap(ids, pan.segments), tax, alpha=1.0, legend=False)
    assert px(out, 2, 2) == (255, 0, 255)
    labelled = draw_panoptic(None, pan, tax, alpha=0.3, legend=False, labels=True, font_size=10)
    assert count(labelled, SKY) > 0 and count(labelled, CAR) > 0  # one tag per segment
    legend = draw_panoptic(None, pan, tax, alpha=0.3, legend=True, font_size=10)
    assert count(legend, ROAD) == 100 and count(legend, PERSON) == 100


def test_dispatch_on_label_type(tax, pan, sem, inst):
    assert (draw_labels_of(None, pan, tax) == draw_panoptic(None, pan, tax)).all()
    assert (draw_labels_of(None, sem, tax) == draw_semantic(None, sem, tax)).all()
    assert (draw_labels_of(None, inst, tax) == draw_instances(None, inst, tax)).all()
    with pytest.raises(ValidationError):
        draw_labels_of(None, np.zeros((2, 2)), tax)


# --------------------------------------------------------------------------- comparison
def test_semantic_comparison_colours(tax, sem):
    pred = sem.labels.copy()
    pred[:16] = 7  # a quarter of the sky called road
    pred[32:, 32:] = 7  # ignored pixels: prediction does not matter
    out = draw_comparison(None, sem, SemanticMap(pred), tax, alpha=1.0, legend=False)
    assert px(out, 8, 40) == FP_COLOR and px(out, 24, 40) == TP_COLOR and px(out, 50, 10) == TP_COLOR
    assert is_grey(px(out, 50, 50))
    with_legend = draw_comparison(None, sem, SemanticMap(pred), tax, alpha=0.4, font_size=10)
    assert count(with_legend, TP_COLOR) == 100 and count(with_legend, FP_COLOR) == 100


def test_instance_comparison_colours(tax):
    h = w = 60
    gt = Instances.from_masks(np.stack([square(h, w, 0, 20, 0, 20), square(h, w, 30, 50, 30, 50),
                                        square(h, w, 0, 20, 40, 60)]), [1, 1, 1], iscrowd=[0, 0, 1])
    pred = Instances.from_masks(np.stack([
        square(h, w, 0, 20, 2, 22),   # 0: matches gt 0, IoU 0.82 -> TP
        square(h, w, 30, 50, 0, 20),  # 1: a car where there is none -> FP
        square(h, w, 5, 15, 45, 55),  # 2: inside the crowd region -> ignored
        square(h, w, 0, 20, 0, 20),   # 3: duplicate of gt 0, lower score -> FP
    ]), [1, 3, 1, 1], scores=[0.9, 0.8, 0.7, 0.6])
    out = draw_comparison(None, gt, pred, tax, alpha=1.0, legend=False, labels=False)
    assert px(out, 10, 20) == TP_COLOR
    assert px(out, 10, 1) == FP_COLOR
    assert px(out, 10, 10) == tuple(int(np.rint((a + b) / 2)) for a, b in zip(TP_COLOR, FP_COLOR))
    assert px(out, 40, 10) == FP_COLOR
    assert px(out, 40, 40) == FN_COLOR
    assert px(out, 10, 50) == IGNORED_COLOR
    assert px(out, 2, 58) == (160, 160, 160)  # the crowd region itself is not drawn
    legend = draw_comparison(None, gt, pred, tax, alpha=0.3, labels=False, font_size=10)
    assert count(legend, IGNORED_COLOR) == 100  # the "ignored 1" swatch
    confident = draw_comparison(None, gt, pred, tax, alpha=1.0, legend=False, labels=False, min_score=0.65)
    assert px(confident, 10, 10) == TP_COLOR and px(confident, 10, 1) == (160, 160, 160)  # the 0.6 FP hidden
    assert px(confident, 40, 40) == FN_COLOR and px(confident, 10, 50) == IGNORED_COLOR


def test_panoptic_comparison_colours(tax):
    gt_ids = np.zeros((40, 40), np.int64)
    gt_ids[:20, :20] = 1
    gt_ids[:20, 20:] = 9
    gt_ids[20:, 20:] = 2
    gt = PanopticMap.from_ids(gt_ids, {1: 1, 9: 184, 2: 3})
    pr_ids = np.zeros((40, 40), np.int64)
    pr_ids[:20, 2:22] = 1   # person, IoU 0.82 -> TP
    pr_ids[:20, 22:] = 9    # sky, IoU 0.9 -> TP
    pr_ids[20:, 20:] = 2    # called person, gt is car -> FP (and the car is FN)
    pr_ids[20:, 0:10] = 4   # lies on VOID -> ignored
    pr = PanopticMap.from_ids(pr_ids, {1: 1, 9: 184, 2: 1, 4: 3})
    out = draw_comparison(None, gt, pr, tax, alpha=1.0, legend=False, labels=False)
    assert px(out, 10, 10) == TP_COLOR and px(out, 10, 30) == TP_COLOR
    assert px(out, 30, 30) == tuple(int(v) for v in (np.add(FP_COLOR, FN_COLOR) // 2))
    assert px(out, 30, 5) == IGNORED_COLOR
    assert is_grey(px(out, 30, 15))  # VOID in both
    assert px(out, 20, 25) == FN_COLOR  # missed car outlined in blue
    with pytest.raises(ValidationError, match="cannot compare"):
        draw_comparison(None, gt, SemanticMap(gt_ids), tax)
