"""The matching behind the comparison pictures, checked on constructed cases and
against pycocotools (COCO greedy matching) and panopticapi (PQ) on real files."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections import defaultdict

import numpy as np
import pytest

from panoptix.core import Instances, PanopticMap, Segment, SemanticMap, SizeMismatchError, ValidationError
from panoptix.core.labels import rgb_to_id
from panoptix.io.files import read_png
from panoptix.viz import compare


def square(h, w, y0, y1, x0, x1) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


# --------------------------------------------------------------------------- semantic
def test_semantic_pixels_and_miou():
    gt = SemanticMap(np.array([[1, 1, 2, 2], [1, 1, 2, 255]]))
    pr = SemanticMap(np.array([[1, 1, 1, 2], [1, 1, 2, 2]]))
    c = compare(gt, pr)
    assert c.pixels == {"correct": 6, "wrong": 1, "ignored": 1}
    # class 1: 4 / 5, class 2: 2 / 3
    assert c.score == pytest.approx((4 / 5 + 2 / 3) / 2)
    assert c.counts == c.pixels


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64])
def test_semantic_score_matches_a_pixel_by_pixel_miou(dtype):
    # compare() counts value pairs (runs, or the C table for 8-bit maps); this counts pixels.
    rng = np.random.default_rng(np.dtype(dtype).itemsize)
    for _ in range(20):
        h, w = rng.integers(1, 25, 2)
        g, p = rng.integers(0, 5, (h, w)), rng.integers(0, 5, (h, w))
        g[rng.random((h, w)) < 0.2] = 255
        p[rng.random((h, w)) < 0.1] = 255
        g, p = np.repeat(g, 3, 1), np.repeat(p, 3, 1)  # runs, as label maps have
        c = compare(SemanticMap(g.astype(dtype)), SemanticMap(p.astype(dtype)))
        valid = g != 255
        assert c.pixels == {"correct": int((valid & (g == p)).sum()), "wrong": int((valid & (g != p)).sum()),
                            "ignored": int((~valid).sum())}
        ious = [((g == k) & (p == k) & valid).sum() / (((g == k) | (p == k)) & valid).sum()
                for k in np.unique(np.r_[g[valid], p[valid]]) if k != 255]
        assert c.score == pytest.approx(np.mean(ious), abs=1e-12) if ious else math.isnan(c.score)


def test_semantic_all_ignored_has_no_score():
    c = compare(SemanticMap(np.full((2, 2), 255)), SemanticMap(np.ones((2, 2), int)))
    assert math.isnan(c.score) and c.pixels["ignored"] == 4


def test_kind_and_size_checks():
    a = SemanticMap(np.ones((2, 2), int))
    with pytest.raises(SizeMismatchError, match="2x2.*3x3"):
        compare(a, SemanticMap(np.ones((3, 3), int)))
    with pytest.raises(ValidationError, match="kind 'panoptic'"):
        compare(a, a, kind="panoptic")
    assert compare(a, a, kind="sem").score == 1.0


# --------------------------------------------------------------------------- instance
def test_instance_greedy_by_score_and_crowd_absorbs():
    h = w = 40
    gt = Instances.from_masks(np.stack([square(h, w, 0, 10, 0, 10), square(h, w, 20, 40, 20, 40)]), [1, 1],
                              iscrowd=[0, 1])
    pred = Instances.from_masks(np.stack([
        square(h, w, 0, 10, 1, 10),    # 0: IoU 0.9 with gt 0, low score
        square(h, w, 0, 10, 0, 9),     # 1: IoU 0.9 with gt 0, high score -> takes it
        square(h, w, 20, 30, 20, 30),  # 2, 3: inside the crowd region -> both ignored
        square(h, w, 30, 40, 30, 40),
    ]), [1, 1, 1, 1], scores=[0.5, 0.9, 0.8, 0.7])
    c = compare(gt, pred)
    assert [(g, d) for g, d, _ in c.tp] == [(0, 1)]
    assert c.fp == [0] and c.fn == [] and sorted(c.ignored) == [2, 3]
    assert c.score == pytest.approx(2 / 3)


def test_instance_max_dets_and_no_scores():
    h = w = 10
    gt = Instances.from_masks(square(h, w, 0, 5, 0, 5)[None], [1])
    pred = Instances.from_masks(np.stack([square(h, w, 5, 10, 5, 10), square(h, w, 0, 5, 0, 5)]), [1, 1],
                                scores=[0.9, 0.1])
    assert compare(gt, pred, max_dets=1).fn == [0]  # the matching detection is past the cap
    assert len(compare(gt, pred).tp) == 1
    no_scores = Instances.from_masks(square(h, w, 0, 5, 0, 5)[None], [1])
    assert compare(gt, no_scores).score == 1.0
    assert math.isnan(compare(Instances.empty(h, w), Instances.empty(h, w)).score)


@pytest.mark.parametrize("case", [
    "score_ties_segm", "crowd_region_segm", "multi_polygon_gt_segm", "missing_dt_image_segm",
    "self_intersecting_polygon_segm", "boundary_area_segm", "zero_overlap_segm", "perfect_match_segm", "polygon_at_image_edge_segm",
])
def test_instance_matching_equals_pycocotools(shared_data, case):
    """Per-image TP/FP/FN/ignored at IoU 0.5, area 'all', 100 dets, against COCOeval.evalImgs."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    folder = shared_data / "coco-eval-quirk-fixtures" / case
    gt_json = json.loads((folder / "gt.json").read_text())
    dt_json = json.loads((folder / "dt.json").read_text())
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(folder / "gt.json"))
        coco_dt = coco_gt.loadRes(str(folder / "dt.json"))
        ev = COCOeval(coco_gt, coco_dt, "segm")
        ev.evaluate()
    want = defaultdict(lambda: {"tp": set(), "fp": set(), "fn": set(), "ignored": set()})
    for e in ev.evalImgs:
        if e is None or e["aRng"] != [0, 1e10]:
            continue
        r = want[e["image_id"]]
        for d, m, ig in zip(e["dtIds"], e["dtMatches"][0], e["dtIgnore"][0]):
            r["ignored" if ig else ("tp" if m else "fp")].add((d, int(m)) if m and not ig else d)
        for g, m, ig in zip(e["gtIds"], e["gtMatches"][0], e["gtIgnore"]):
            if not m and not ig:
                r["fn"].add(g)
    # loadRes numbers detections 1.. in file order
    dts = [dict(d, id=i + 1) for i, d in enumerate(dt_json)]
    for img in gt_json["images"]:
        anns = [a for a in gt_json["annotations"] if a["image_id"] == img["id"]]
        dets = [d for d in dts if d["image_id"] == img["id"]]
        gt = Instances.from_coco(anns, img["height"], img["width"])
        pr = Instances.from_coco(dets, img["height"], img["width"], results=True)
        c = compare(gt, pr)
        got = {"tp": {(dets[d]["id"], anns[g]["id"]) for g, d, _ in c.tp},
               "fp": {dets[d]["id"] for d in c.fp}, "fn": {anns[g]["id"] for g in c.fn},
               "ignored": {dets[d]["id"] for d in c.ignored}}
        assert got == want[img["id"]], (case, img["id"])


# --------------------------------------------------------------------------- panoptic
def test_panoptic_iou_must_exceed_half():
    gt = PanopticMap.from_ids(np.array([[1, 1, 1, 1]]), {1: 1})
    pr = PanopticMap.from_ids(np.array([[1, 1, 2, 2]]), {1: 1, 2: 5})
    c = compare(gt, pr)  # IoU exactly 0.5: no match under PQ's strict rule
    assert c.tp == [] and c.fn == [1] and c.fp == [1, 2]


def test_panoptic_void_left_out_of_union_and_crowd_ignores():
    gt_ids = np.array([[1, 1, 0, 0, 3, 3]])
    gt = PanopticMap(gt_ids, [Segment(1, 1), Segment(3, 1, iscrowd=True)])
    pr = PanopticMap.from_ids(np.array([[1, 1, 1, 1, 2, 2]]), {1: 1, 2: 1})
    c = compare(gt, pr)
    # pred 1 covers gt 1 and two VOID pixels: IoU = 2 / (4 + 2 - 2 - 2) = 1
    assert c.tp == [(1, 1, 1.0)]
    assert c.ignored == [2] and c.fp == [] and c.fn == []


def _panopticapi_image_pq(gt_ann, pr_ann, gt_dir, pr_dir, categories):
    """panopticapi's counts for one image, pooled over its classes: Σ IoU / (TP + FP/2 + FN/2)."""
    from panopticapi.evaluation import pq_compute_single_core

    with contextlib.redirect_stdout(io.StringIO()):
        stat = pq_compute_single_core(0, [(gt_ann, pr_ann)], str(gt_dir), str(pr_dir), categories)
    per = stat.pq_per_cat.values()
    tp, fp, fn = (sum(getattr(s, k) for s in per) for k in ("tp", "fp", "fn"))
    return sum(s.iou for s in per) / (tp + 0.5 * fp + 0.5 * fn), (tp, fp, fn)


def test_panoptic_image_pq_equals_panopticapi(shared_data, tmp_path):
    """One image, prediction = ground truth shifted and relabelled: same TP/FP/FN and the
    same pooled IoU as panopticapi's matching."""
    from PIL import Image

    folder = shared_data / "coco-panoptic-sample"
    data = json.loads((folder / "panoptic_examples.json").read_text())
    cats = {c["id"]: c for c in json.loads((folder / "panoptic_coco_categories.json").read_text())}
    for ann in data["annotations"]:
        ids = rgb_to_id(read_png(folder / "panoptic_examples" / ann["file_name"], mode="RGB"))
        segs = [Segment.from_coco(s) for s in ann["segments_info"]]
        gt = PanopticMap(ids, segs)
        shifted = np.roll(ids, 9, axis=1)
        shifted[:, :9] = 0
        shifted[:40] = 0  # a band of VOID
        rng = np.random.default_rng(0)
        pr_segs = [Segment(s.id, s.category_id if rng.random() > 0.2 else 1) for s in segs
                   if (shifted == s.id).any()]
        # stuff classes may not repeat in a prediction: relabelled stuff became person (a thing)
        pr = PanopticMap(shifted, pr_segs)
        pr_dir = tmp_path / "pred"
        pr_dir.mkdir(exist_ok=True)
        Image.fromarray(pr.to_rgb()).save(pr_dir / ann["file_name"])
        pr_ann = {"image_id": ann["image_id"], "file_name": ann["file_name"],
                  "segments_info": [s.to_coco() for s in pr_segs]}
        want, counts = _panopticapi_image_pq(ann, pr_ann, folder / "panoptic_examples", pr_dir, cats)
        c = compare(gt, pr)
        assert (len(c.tp), len(c.fp), len(c.fn)) == counts
        assert c.score == pytest.approx(want, abs=1e-12)
        assert 0.05 < c.score < 0.95 and c.tp and c.fp and c.fn
