"""Instance AP/AR agree with pycocotools (and faster-coco-eval) to the last bit.

Randomised COCO datasets (seeded) with the cases that trip evaluators: images
without ground truth or without detections, categories never annotated,
detections of unknown categories, crowd regions (uncompressed RLE), multi-polygon
objects, areas exactly 32² and 96², score ties, more than 100 detections in an
image, polygons and RLE, results with and without boxes (pycocotools then uses
box areas for detections). Every number of ``stats``, every cell of
``precision``/``recall`` and per-class AP are compared.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as cmask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from panoptix.metrics.instance import SUMMARY_KEYS, InstanceEvaluator, coco_pairs, evaluate_coco

QUIRKS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "coco-eval-quirk-fixtures"
CATS = [1, 2, 3, 5, 7]          # 7 is never annotated
TOL = 1e-12


# --------------------------------------------------------------------------- synthetic data
def _polygon(rng, cx, cy, r, n=8):
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rr = r * rng.uniform(0.5, 1.0, n)
    return [float(round(v, 2)) for p in zip(cx + rr * np.cos(t), cy + rr * np.sin(t)) for v in p]


def _mask_of(seg, h, w):
    if isinstance(seg, list):
        return cmask.decode(cmask.merge(cmask.frPyObjects(seg, h, w))).astype(bool)
    if isinstance(seg["counts"], list):
        return cmask.decode(cmask.frPyObjects(seg, h, w)).astype(bool)
    return cmask.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)


def _rle(mask):
    r = cmask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": r["counts"].decode()}


def _uncompressed(mask):
    flat = mask.T.reshape(-1).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def make_dataset(seed, n_img=24, with_boxes=False, poly_dets=False):
    """A COCO ground truth dict and results list full of edge cases."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    aid = 1
    for i in range(n_img):
        h, w = [(48, 64), (60, 50), (120, 130), (33, 47)][i % 4]
        img_id = int(3 * i + 2)  # sparse, not in file order below
        images.append({"id": img_id, "height": h, "width": w, "file_name": f"{img_id}.png"})
        kind = i % 6
        n_gt = 0 if kind == 1 else int(rng.integers(1, 7))
        gts = []
        for _ in range(n_gt):
            cat = int(rng.choice(CATS[:4]))
            r = float(rng.uniform(3, min(h, w) / 1.5))
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            seg = [_polygon(rng, cx, cy, r)]
            if rng.random() < 0.2:   # a second part
                seg.append(_polygon(rng, rng.uniform(0, w), rng.uniform(0, h), r / 2))
            m = _mask_of(seg, h, w)
            if m.sum() == 0:
                continue
            crowd = int(rng.random() < 0.12)
            if crowd:
                seg = _uncompressed(m)
            elif rng.random() < 0.15:
                seg = _rle(m)
            area = float(m.sum())
            u = rng.random()
            if u < 0.08:
                area = 32.0 ** 2
            elif u < 0.16:
                area = 96.0 ** 2
            elif u < 0.2:
                area = float(rng.uniform(9000, 20000))
            ys, xs = np.nonzero(m)
            anns.append({"id": aid, "image_id": img_id, "category_id": cat, "segmentation": seg, "area": area,
                         "bbox": [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                                  float(ys.max() - ys.min() + 1)], "iscrowd": crowd})
            gts.append((cat, m))
            aid += 1
        if kind == 2:
            continue  # an image without detections
        for cat, m in gts:
            for _ in range(int(rng.integers(0, 4))):
                sh = np.roll(m, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), (0, 1))
                if rng.random() < 0.3:
                    sh = sh & (rng.random(sh.shape) > 0.2)
                c = cat if rng.random() < 0.8 else int(rng.choice(CATS + [9]))
                dets.append((img_id, c, sh, float(np.round(rng.random(), 1))))
        n_fp = 130 if kind == 3 and i < 12 else int(rng.integers(0, 8))
        for _ in range(n_fp):
            c = 2 if n_fp == 130 else int(rng.choice(CATS + [9]))
            m = np.zeros((h, w), bool)
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y:y + int(rng.integers(1, 40)), x:x + int(rng.integers(1, 40))] = True
            dets.append((img_id, c, m, float(np.round(rng.random() * 0.6, 2))))
    order = rng.permutation(len(dets))
    results = []
    for j in order.tolist():
        img_id, c, m, s = dets[j]
        rec = {"image_id": img_id, "category_id": c, "segmentation": _rle(m), "score": s}
        if poly_dets and m.any() and rng.random() < 0.3:
            ys, xs = np.nonzero(m)
            x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            rec["segmentation"] = [[float(x0), float(y0), float(x1), float(y0), float(x1), float(y1),
                                    float(x0), float(y1)]]
        if with_boxes:
            bb = cmask.toBbox(cmask.encode(np.asfortranarray(m.astype(np.uint8))))
            rec["bbox"] = [float(v) + float(np.round(rng.uniform(-1, 1), 3)) for v in bb]
        results.append(rec)
    random.Random(seed).shuffle(images)
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": c, "name": f"c{c}", "supercategory": "x"} for c in CATS]}
    return gt, results


def write(tmp_path: Path, gt, results, tag=""):
    g, d = tmp_path / f"gt{tag}.json", tmp_path / f"dt{tag}.json"
    g.write_text(json.dumps(gt))
    d.write_text(json.dumps(results))
    return g, d


def pycoco(gt_path, dt_path, iou_type="segm", use_cats=1):
    with contextlib.redirect_stdout(io.StringIO()):
        g = COCO(str(gt_path))
        d = g.loadRes(str(dt_path))
        e = COCOeval(g, d, iou_type)
        e.params.useCats = use_cats
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


def per_class_ap(e):
    out = {}
    for k, cid in enumerate(e.params.catIds):
        p = e.eval["precision"][:, :, k, 0, -1]
        p = p[p > -1]
        out[str(cid)] = float(np.mean(p)) if p.size else None
    return out


def assert_same(res, e, per_class=True):
    """Every number of pycocotools' COCOeval equals ours (tolerance 1e-12, in practice 0)."""
    stats = np.array([res.summary[k] for k in SUMMARY_KEYS])
    np.testing.assert_allclose(stats, e.stats, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.extra["precision"], e.eval["precision"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.extra["recall"], e.eval["recall"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.extra["scores"], e.eval["scores"], rtol=0, atol=TOL)
    if per_class:
        ref = per_class_ap(e)
        assert set(res.per_class) == set(ref)
        for cid, ap in ref.items():
            ours = res.per_class[cid]["AP"]
            assert (ours is None) == (ap is None), cid
            if ap is not None:
                assert abs(ours - ap) <= TOL, cid


def evaluator_path(gt_path, dt_path, iou_type="segm", **kw):
    tax, pairs = coco_pairs(gt_path, dt_path, iou_type=iou_type)
    ev = InstanceEvaluator(tax, iou_type=iou_type, **kw)
    for image_id, gt, pred, areas in pairs:
        ev.update(gt, pred, image_id=image_id, dt_areas=areas)
    return ev


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize("seed,with_boxes,poly_dets", [(0, False, False), (1, True, False), (2, True, True)])
def test_segm_matches_pycocotools(tmp_path, seed, with_boxes, poly_dets):
    gt, results = make_dataset(seed, with_boxes=with_boxes, poly_dets=poly_dets)
    g, d = write(tmp_path, gt, results)
    e = pycoco(g, d)
    assert e.stats[0] > 0.05  # the data is not degenerate
    res = evaluate_coco(g, d, jobs=1)
    assert_same(res, e)
    # the evaluator path gives the very same numbers, bit for bit
    res2 = evaluator_path(g, d).compute()
    assert res2.summary == res.summary
    assert np.array_equal(res2.extra["precision"], res.extra["precision"])
    assert res2.per_class == res.per_class


@pytest.mark.parametrize("seed", [3, 4])
def test_bbox_matches_pycocotools(tmp_path, seed):
    gt, results = make_dataset(seed, with_boxes=True)
    g, d = write(tmp_path, gt, results)
    e = pycoco(g, d, "bbox")
    res = evaluate_coco(g, d, iou_type="bbox", jobs=1)
    assert_same(res, e)
    res2 = evaluator_path(g, d, "bbox").compute()
    assert res2.summary == res.summary
    assert np.array_equal(res2.extra["recall"], res.extra["recall"])


def test_bbox_from_masks_matches_pycocotools(tmp_path):
    # results without boxes: loadRes takes toBbox(segmentation) and the mask area
    gt, results = make_dataset(5)
    g, d = write(tmp_path, gt, results)
    assert_same(evaluate_coco(g, d, iou_type="bbox", jobs=1), pycoco(g, d, "bbox"))


def test_without_categories_matches_pycocotools(tmp_path):
    gt, results = make_dataset(6, with_boxes=True)
    g, d = write(tmp_path, gt, results)
    e = pycoco(g, d, use_cats=0)
    res = evaluate_coco(g, d, use_cats=False, jobs=1)
    assert_same(res, e, per_class=False)
    assert res.per_class == {}


def test_parallel_shards_are_bit_identical(tmp_path, monkeypatch):
    gt, results = make_dataset(7, n_img=60)
    g, d = write(tmp_path, gt, results)
    one = evaluate_coco(g, d, jobs=1)
    assert evaluate_coco(g, d, jobs=2).summary == one.summary  # files read on two threads
    from panoptix.metrics import _coco_files as F
    from panoptix.metrics._coco_batch import Params

    # force several worker processes on this small input
    params = Params.make("segm")
    gtf = F.load_ground_truth(g, params)
    dtf = F.load_results(d, gtf, params)
    seen = []
    monkeypatch.setattr(F, "CHUNK_IMAGES", 7)  # several batches per shard, too
    blocks = F.run_shards(gtf, dtf, params, jobs=3, min_work=0, progress=lambda a, b: seen.append((a, b)))
    assert len(blocks) >= 9 and seen[-1] == (60, 60) and len(seen) >= 4  # chunks of the parent's shard too
    assert all(a < b for (a, _), (b, _) in zip(seen, seen[1:]))
    ev = InstanceEvaluator()
    ev._cat_ids = np.asarray(gtf.cat_ids)
    ev._add_blocks(blocks)
    three = ev.compute()
    assert three.summary == one.summary
    assert np.array_equal(three.extra["precision"], one.extra["precision"])


def test_threaded_accumulation_is_bit_identical(tmp_path, monkeypatch):
    from panoptix.metrics import instance

    gt, results = make_dataset(12, with_boxes=True)
    g, d = write(tmp_path, gt, results)
    one = evaluate_coco(g, d, jobs=1)
    monkeypatch.setattr(instance, "_THREADED_ACCUMULATE", 0)
    monkeypatch.setattr(instance, "resolve_jobs", lambda jobs: 3 if jobs is None else jobs)
    three = evaluate_coco(g, d, jobs=1)
    assert three.summary == one.summary and three.per_class == one.per_class
    for key in ("precision", "recall", "scores"):
        assert np.array_equal(three.extra[key], one.extra[key])


def test_matches_faster_coco_eval(tmp_path):
    import faster_coco_eval as faster
    gt, results = make_dataset(8)
    g, d = write(tmp_path, gt, results)
    with contextlib.redirect_stdout(io.StringIO()):
        fg = faster.COCO(str(g))
        fd = fg.loadRes(str(d))
        fe = faster.COCOeval_faster(fg, fd, "segm")
        fe.evaluate()
        fe.accumulate()
        fe.summarize()
    res = evaluate_coco(g, d, jobs=1)
    stats = np.array([res.summary[k] for k in SUMMARY_KEYS])
    np.testing.assert_allclose(stats, np.asarray(fe.stats)[:12], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.extra["precision"], fe.eval["precision"], rtol=0, atol=TOL)


def test_merge_of_shards_in_any_order_is_identical(tmp_path):
    gt, results = make_dataset(9, n_img=30, with_boxes=True)
    g, d = write(tmp_path, gt, results)
    tax, pairs = coco_pairs(g, d)
    pairs = list(pairs)
    whole = InstanceEvaluator(tax)
    for image_id, a, b, ar in pairs:
        whole.update(a, b, image_id=image_id, dt_areas=ar)
    ref = whole.compute()
    rng = random.Random(0)
    for n_shards in (2, 3, 5):
        shuffled = pairs[:]
        rng.shuffle(shuffled)
        shards = [InstanceEvaluator(tax) for _ in range(n_shards)]
        for j, (image_id, a, b, ar) in enumerate(shuffled):
            shards[j % n_shards].update(a, b, image_id=image_id, dt_areas=ar)
        rng.shuffle(shards)
        merged = shards[0]
        for s in shards[1:]:
            merged = merged + s if rng.random() < 0.5 else merged.merge(s)
        res = merged.compute()
        assert res.summary == ref.summary
        assert res.per_class == ref.per_class
        assert np.array_equal(res.extra["precision"], ref.extra["precision"])
        assert np.array_equal(res.extra["scores"], ref.extra["scores"])


# --------------------------------------------------------------------------- quirk fixtures
def _quirk_cases():
    if not QUIRKS.is_dir():
        return []
    return sorted(p.name for p in QUIRKS.iterdir() if (p / "gt.json").is_file())


@pytest.mark.parametrize("case", _quirk_cases() or ["(missing)"])
def test_quirk_fixtures_match_pycocotools(case):
    if case == "(missing)":
        pytest.skip("../shared/data/coco-eval-quirk-fixtures is not present")
    g, d = QUIRKS / case / "gt.json", QUIRKS / case / "dt.json"
    e = pycoco(g, d)
    assert_same(evaluate_coco(g, d, jobs=1), e)
    res2 = evaluator_path(g, d).compute()
    assert_same(res2, e)
