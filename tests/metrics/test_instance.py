"""InstanceEvaluator / evaluate_coco: hand cases, Boundary AP, file parsing, bad input."""

from __future__ import annotations

import contextlib
import io
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as cmask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy import ndimage

from panoptix.core import Category, FormatError, Instances, SizeMismatchError, Taxonomy, ValidationError
from panoptix.metrics import _coco_files as F
from panoptix.metrics._coco_boundary import boundary_mask, dilation_pixels
from panoptix.metrics.instance import SUMMARY_KEYS, InstanceEvaluator, evaluate_coco

THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)


def rle(mask):
    r = cmask.encode(np.asfortranarray(np.asarray(mask, np.uint8)))
    return {"size": list(mask.shape), "counts": r["counts"].decode()}


def coco_files(tmp_path, images, anns, dets, cats=(1,)):
    gt = {"images": [{"id": i, "height": h, "width": w, "file_name": f"{i}.png"} for i, h, w in images],
          "annotations": anns, "categories": [{"id": c, "name": f"c{c}"} for c in cats]}
    g, d = tmp_path / "gt.json", tmp_path / "dt.json"
    g.write_text(json.dumps(gt))
    d.write_text(dets if isinstance(dets, str) else json.dumps(dets))
    return g, d


def square(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def gt_ann(aid, img, mask, cat=1, crowd=0, area=None):
    return {"id": aid, "image_id": img, "category_id": cat, "segmentation": rle(mask),
            "area": float(mask.sum()) if area is None else area, "bbox": [0, 0, 1, 1], "iscrowd": crowd}


def pycoco_stats(g, d, iou_type="segm"):
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO(str(g))
        e = COCOeval(c, c.loadRes(str(d)), iou_type)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e.stats


# --------------------------------------------------------------------------- hand cases
def test_perfect_and_missing_detections():
    m = np.zeros((2, 50, 50), bool)
    m[0, 5:25, 5:25] = True
    m[1, 30:45, 30:45] = True
    gt = Instances.from_masks(m, [1, 1])
    ev = InstanceEvaluator()
    ev.update(gt, Instances.from_masks(m, [1, 1], scores=[0.9, 0.8]), image_id=1)
    res = ev.compute()
    assert res["AP"] == 1.0 and res["AR100"] == 1.0 and res["AR1"] == 0.5
    assert res["APm"] == -1.0 and res["APl"] == -1.0   # no medium or large objects
    assert res.per_class == {"1": {"AP": 1.0}}
    ev2 = InstanceEvaluator()
    ev2.update(gt, Instances.empty(50, 50, with_scores=True), image_id=1)
    assert ev2.compute()["AP"] == 0.0


def test_nothing_to_evaluate_gives_minus_one():
    res = InstanceEvaluator().compute()
    assert all(res[k] == -1.0 for k in SUMMARY_KEYS)
    tax = Taxonomy([Category(1, "a"), Category(2, "b")])
    ev = InstanceEvaluator(tax)
    ev.update(Instances.empty(8, 8), Instances.empty(8, 8, with_scores=True), image_id="x")
    res = ev.compute()
    assert res.per_class == {"1": {"AP": None}, "2": {"AP": None}}
    assert res.extra["precision"].shape == (10, 101, 2, 4, 3)


def test_area_field_sets_the_range_and_crowd_is_ignored():
    m = square(40, 40, 0, 10, 0, 10)
    crowd = square(40, 40, 20, 40, 20, 40)
    gt = Instances([rle(m), rle(crowd)], 40, 40, [1, 1], iscrowd=[0, 1], areas=[96.0 ** 2, 400.0])
    ev = InstanceEvaluator()
    det = square(40, 40, 22, 30, 22, 30)  # inside the crowd region: ignored, not a false positive
    ev.update(gt, Instances.from_masks(np.stack([m, det]), [1, 1], scores=[0.5, 0.9]), image_id=3)
    res = ev.compute()
    # area 96² is both medium and large (inclusive bounds); the detection's own area (100) is small.
    # Precision is tp / (tp + fp + eps) as in pycocotools, so one lone TP gives 1/(1+eps), not 1.
    one = 1 / (1 + np.spacing(1))
    assert res["AP"] == res["APm"] == res["APl"] == one and res["APs"] == -1.0
    pi = res.extra["per_image"]
    assert pi["image_id"] == [3] and pi["tp"].tolist() == [1] and pi["fp"].tolist() == [0]


def test_ground_truth_id_zero_reads_as_unmatched(tmp_path):
    # pycocotools stores the matched ground-truth *id*, so id 0 looks unmatched
    m = square(30, 30, 2, 20, 2, 20)
    g, d = coco_files(tmp_path, [(1, 30, 30)], [gt_ann(0, 1, m)],
                      [{"image_id": 1, "category_id": 1, "segmentation": rle(m), "score": 0.9}])
    res = evaluate_coco(g, d, jobs=1)
    ref = pycoco_stats(g, d)
    assert res["AP"] == ref[0] == 0.0
    np.testing.assert_array_equal([res[k] for k in SUMMARY_KEYS], ref)


def test_taxonomy_limits_categories_and_counts_the_rest():
    tax = Taxonomy([Category(1, "thing"), Category(2, "sky", isthing=False)])
    m = square(20, 20, 0, 10, 0, 10)
    ev = InstanceEvaluator(tax)
    ev.update(Instances.from_masks(np.stack([m, m]), [1, 5]),
              Instances.from_masks(np.stack([m, m]), [1, 6], scores=[0.9, 0.9]), image_id=1)
    res = ev.compute()
    assert res.extra["category_ids"] == [1]  # things only
    assert res.extra["ignored"] == {"gt_unknown_category": 1, "dt_unknown_category": 1}
    assert res["AP"] == 1 / (1 + np.spacing(1))  # one TP: tp / (tp + fp + eps)


def test_merge_and_errors_of_the_state():
    m = square(20, 20, 0, 10, 0, 10)
    a, b = InstanceEvaluator(), InstanceEvaluator()
    a.update(Instances.from_masks(m[None], [1]), Instances.from_masks(m[None], [1], scores=[1.0]), image_id=1)
    b.update(Instances.from_masks(m[None], [1]), Instances.empty(20, 20, with_scores=True), image_id=2)
    assert (a + b).compute()["AR100"] == 0.5
    with pytest.raises(ValidationError, match="image 1"):
        a.merge(a)
    with pytest.raises(ValueError):
        a.merge(InstanceEvaluator(iou_type="bbox"))
    with pytest.raises(ValidationError, match="evaluated twice"):
        a.update(Instances.from_masks(m[None], [1]), Instances.empty(20, 20, with_scores=True), image_id=1)
    c = InstanceEvaluator()
    c._blocks = list(a._blocks)  # state set from outside, as panoptix.distributed does
    with pytest.raises(ValidationError, match="image 1"):
        c.merge(a)


def test_state_pickles():
    import pickle

    m = square(20, 20, 0, 10, 0, 10)
    ev = InstanceEvaluator()
    ev.update(Instances.from_masks(m[None], [1]), Instances.from_masks(m[None], [1], scores=[1.0]), image_id=1)
    assert pickle.loads(pickle.dumps(ev)).compute().summary == ev.compute().summary


# --------------------------------------------------------------------------- Boundary AP
def reference_boundary(mask, ratio):
    """The boundary-iou-api construction: pad by one zero pixel, erode d times with 3x3."""
    h, w = mask.shape
    d = max(1, int(round(ratio * np.sqrt(h ** 2 + w ** 2))))
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1:h + 1, 1:w + 1]
    return mask.astype(np.uint8) - eroded


def test_boundary_mask_matches_the_reference_construction():
    rng = np.random.default_rng(0)
    for _ in range(12):
        h, w = rng.integers(5, 90, size=2)
        m = ndimage.binary_opening(rng.random((h, w)) > 0.35).astype(np.uint8)
        for ratio in (0.02, 0.05, 0.1):
            np.testing.assert_array_equal(boundary_mask(m, ratio), reference_boundary(m, ratio))
    assert dilation_pixels(480, 640, 0.02) == 16 and dilation_pixels(10, 10, 0.02) == 1


def _iou(a, b):
    inter = np.logical_and(a, b).sum()
    return 0.0 if inter == 0 else inter / np.logical_or(a, b).sum()


def _boundary_ap(gt_mask, det_mask, crowd=False, ratio=0.02):
    h, w = gt_mask.shape
    gt = Instances([rle(gt_mask)], h, w, [1], iscrowd=[int(crowd)])
    ev = InstanceEvaluator(iou_type="boundary", boundary_dilation_ratio=ratio)
    ev.update(gt, Instances.from_masks(det_mask[None], [1], scores=[0.9]), image_id=1)
    return ev.compute()["AP"]


def test_boundary_ap_uses_min_of_mask_and_boundary_iou():
    h = w = 100  # d = round(0.02 * 141.4) = 3
    gt = square(h, w, 20, 80, 20, 80)
    det = square(h, w, 22, 82, 21, 81)  # shifted: mask IoU high, boundary IoU much lower
    mask_iou = _iou(gt, det)
    b_iou = _iou(reference_boundary(gt, 0.02), reference_boundary(det, 0.02))
    assert b_iou < mask_iou
    expected = np.mean(THRS <= min(mask_iou, b_iou)) / (1 + np.spacing(1))
    assert _boundary_ap(gt, det) == pytest.approx(expected, abs=1e-12)
    # plain mask AP is higher on the same pair
    ev = InstanceEvaluator()
    ev.update(Instances([rle(gt)], h, w, [1]), Instances.from_masks(det[None], [1], scores=[0.9]), image_id=1)
    mask_ap = ev.compute()["AP"]
    assert mask_ap == pytest.approx(np.mean(THRS <= mask_iou) / (1 + np.spacing(1)), abs=1e-12)
    assert mask_ap > expected


def test_boundary_at_the_image_border_and_for_crowds():
    h = w = 60
    full = np.ones((h, w), bool)  # its boundary is a ring along the image border
    det = square(h, w, 0, 60, 0, 57)
    b_iou = _iou(reference_boundary(full, 0.02), reference_boundary(det, 0.02))
    expected = np.mean(THRS <= min(_iou(full, det), b_iou)) / (1 + np.spacing(1))
    assert _boundary_ap(full, det) == pytest.approx(expected, abs=1e-12)
    # crowd ground truth: the crowd rule (intersection / detection area) and no boundary term
    small = square(h, w, 10, 20, 10, 20)
    assert InstanceEvaluator(iou_type="boundary").params.iou_type == "boundary"
    gt = Instances([rle(full), rle(small)], h, w, [1, 1], iscrowd=[1, 0])
    ev = InstanceEvaluator(iou_type="boundary")
    ev.update(gt, Instances.from_masks(np.stack([small, square(h, w, 40, 50, 40, 50)]), [1, 1],
                                       scores=[0.9, 0.8]), image_id=1)
    res = ev.compute()
    # the second detection falls in the crowd region: ignored, so one TP and no FP
    assert res["AP"] == 1 / (1 + np.spacing(1))


def test_boundary_whole_file_equals_evaluator_path(tmp_path):
    from panoptix.metrics.instance import coco_pairs

    rng = np.random.default_rng(3)
    anns, dets, aid = [], [], 1
    for img in (1, 2, 3):
        for _ in range(4):
            y, x, s = int(rng.integers(0, 40)), int(rng.integers(0, 50)), int(rng.integers(4, 30))
            m = square(60, 70, y, y + s, x, x + s)
            anns.append(gt_ann(aid, img, m, crowd=int(aid % 7 == 0)))
            aid += 1
            for _ in range(2):
                sh = np.roll(m, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), (0, 1))
                dets.append({"image_id": img, "category_id": 1, "segmentation": rle(sh),
                             "score": float(rng.random())})
    g, d = coco_files(tmp_path, [(1, 60, 70), (2, 60, 70), (3, 60, 70)], anns, dets)
    a = evaluate_coco(g, d, iou_type="boundary", jobs=1)
    tax, pairs = coco_pairs(g, d, iou_type="boundary")
    ev = InstanceEvaluator(tax, iou_type="boundary")
    for image_id, gt, pred, areas in pairs:
        ev.update(gt, pred, image_id=image_id, dt_areas=areas)
    assert ev.compute().summary == a.summary
    assert 0 < a["AP"] < evaluate_coco(g, d, jobs=1)["AP"]


# --------------------------------------------------------------------------- results parsing
def _dataset(tmp_path):
    m1 = square(40, 50, 5, 30, 5, 30)
    m2 = square(40, 50, 4, 35, 1, 45)  # 44 background pixels first: its RLE string has a backslash
    anns = [gt_ann(1, 1, m1), gt_ann(2, 1, m2, cat=2), gt_ann(3, 2, m2)]
    dets = [{"image_id": 1, "category_id": 1, "segmentation": rle(m1), "score": 0.12345678901234567},
            {"image_id": 1, "category_id": 2, "segmentation": rle(m1 | m2), "score": 7e-1},
            {"image_id": 2, "category_id": 1, "segmentation": rle(m2), "score": 1},
            {"image_id": 2, "category_id": 1, "segmentation": rle(m1), "score": 0.5}]
    return anns, dets


def test_fast_scanner_and_orjson_path_agree(tmp_path, monkeypatch):
    anns, dets = _dataset(tmp_path)
    # escaped characters, odd whitespace, extra keys with nested values, exponents
    text = json.dumps(dets, indent=1).replace('"score"', '"extra": {"a": [1, {"b": "x\\"y"}], "c": null, '
                                                         '"d": true, "e": -1.5e-3}, "score"')
    assert "\\\\" in text  # the RLE strings carry escaped backslashes
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, text, cats=(1, 2))
    fast = evaluate_coco(g, d, jobs=1)
    params = F.Params.make("segm")
    gtf = F.load_ground_truth(g, params)
    buf = F._read_bytes(str(d))
    assert F._scan_results(buf, F._scan_raw(buf), str(d), gtf, params) is not None
    monkeypatch.setattr(F, "_scan_results", lambda *a: None)
    slow = evaluate_coco(g, d, jobs=1)
    assert fast.summary == slow.summary
    np.testing.assert_array_equal([fast[k] for k in SUMMARY_KEYS], pycoco_stats(g, d))
    np.testing.assert_array_equal(fast.extra["scores"], slow.extra["scores"])
    assert 0.12345678901234567 in fast.extra["scores"]  # 17 digits read exactly


def test_ground_truth_scanner_and_orjson_path_agree(tmp_path, monkeypatch):
    anns, dets = _dataset(tmp_path)
    poly = [[5.0, 5.0, 3.0e1, 5, 30, 30.000000000000004, 5, 30]]
    anns += [
        {"id": 7.0, "image_id": 2, "category_id": 1, "segmentation": poly, "area": 625, "iscrowd": False,
         "bbox": [5, 5, 25, 25]},
        {"id": 8, "image_id": 1, "category_id": 2, "segmentation": [poly[0], [40, 1, 45, 1, 45, 6, 40, 6]],
         "area": 650.5, "iscrowd": 0, "extra": {"nested": [1, [2, {"x": None}]]}, "bbox": [5, 1, 40, 29]},
        {"id": 9, "image_id": 1, "category_id": 1, "segmentation": poly, "iscrowd": True, "area": 1e3,
         "bbox": [5, 5, 25, 25]},
        {"id": 10, "image_id": 2, "category_id": 1, "segmentation": [[1, 2, 30, 4, 9, 25]], "area": 4,
         "iscrowd": 0, "bbox": [1, 2, 29, 23]},
    ]
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, dets, cats=(1, 2))
    text = g.read_text().replace('"area": 650.5', '"ar\\u0065a": 650.5')  # an escaped key: parsed by orjson
    g.write_text(text)
    params = F.Params.make("segm")
    scanned = F._scan_ground_truth(F._read_bytes(str(g)), str(g), params)
    assert scanned is not None and sorted(scanned[2].segs.odd) == [3, 4]  # id 7.0 and the escaped key
    fast = {t: evaluate_coco(g, d, iou_type=t, jobs=1) for t in ("segm", "bbox")}
    monkeypatch.setattr(F, "_scan_ground_truth", lambda *a: None)
    for t, res in fast.items():
        slow = evaluate_coco(g, d, iou_type=t, jobs=1)
        assert res.summary == slow.summary
        np.testing.assert_array_equal([res[k] for k in SUMMARY_KEYS], pycoco_stats(g, d, t))


def test_scanner_reads_numbers_exactly():
    from panoptix.metrics import _coco_scan as S

    values = ["0", "-0.0", "1", "0.5", "0.1", "0.30000000000000004", "123456789012345678", "1e-7",
              "2.5E+3", "0.12345678901234567", "9007199254740993", "1.7976931348623157e308", "4.9e-324",
              "0.000001234", "100000000000000000000000", "-3.25e-2"]
    records = ",".join('{"image_id": 1, "category_id": 2, "score": %s, "x": [%s]}' % (v, v) for v in values)
    buf = np.frombuffer(f" [ {records} ] ".encode(), np.uint8)
    out = S.ScanOutput(len(values), False)
    status, n = out.run(buf)
    assert (status, n) == (S.OK, len(values))
    for i, v in enumerate(values):
        if out.slow[i] < 0:  # read in the kernel: must be exactly Python's float()
            assert out.score[i] == float(v) and str(out.score[i]) == str(float(v)), v
        else:  # left to Python's float(): the position points at the number
            assert buf[out.slow[i]:out.slow[i] + len(v)].tobytes().decode() == v
    # the ordinary numbers stay in the kernel; > 53-bit digits or huge exponents go to float()
    in_kernel = [v for i, v in enumerate(values) if out.slow[i] < 0]
    assert in_kernel == ["0", "-0.0", "1", "0.5", "0.1", "1e-7", "2.5E+3", "0.000001234", "-3.25e-2"]
    bad = np.frombuffer(b'[{"image_id": 1, "score": 1.}]', np.uint8)
    assert S.ScanOutput(2, False).run(bad)[0] == S.GIVE_UP  # invalid JSON: left to orjson


def test_empty_results_and_images_without_anything(tmp_path):
    anns, _ = _dataset(tmp_path)
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50), (3, 40, 50)], anns, [], cats=(1, 2, 3))
    res = evaluate_coco(g, d, jobs=1)
    assert res["AP"] == 0.0 and res["AR100"] == 0.0
    assert res.per_class["3"]["AP"] is None
    assert res.extra["per_image"]["fn"].tolist() == [2, 1, 0]


def test_unknown_category_detections_are_left_out_as_pycocotools_does(tmp_path):
    anns, dets = _dataset(tmp_path)
    dets.append({"image_id": 2, "category_id": 99, "segmentation": dets[0]["segmentation"], "score": 0.99})
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, dets, cats=(1, 2))
    res = evaluate_coco(g, d, jobs=1)
    np.testing.assert_array_equal([res[k] for k in SUMMARY_KEYS], pycoco_stats(g, d))
    assert res.extra["ignored"]["dt_unknown_category"] == 1


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("mutate,pattern", [
    (lambda ds: ds[1].update(image_id=77), r"dt\.json, image 77: detection #2 is for an image that is not in"),
    (lambda ds: ds[2].pop("score"), r"dt\.json, image 2: detection #3: no 'score' field"),
    (lambda ds: ds[2].update(score="high"), r"image 2: detection #3: 'score' must be a number"),
    (lambda ds: ds[0].update(score=None), r"detection #1: 'score' must be a number"),
    (lambda ds: ds[3].update(segmentation={"size": [41, 50], "counts": ds[3]["segmentation"]["counts"]}),
     r"image 2: detection #4: mask size 41x50 differs from the image size 40x50"),
    (lambda ds: ds[1].update(segmentation={"size": [40, 50], "counts": "0;~"}),
     r"image 1: detection #2: compressed RLE has a character outside"),
    (lambda ds: ds[1].update(segmentation={"size": [40, 50], "counts": "05"}),
     r"image 1: detection #2: RLE run lengths do not add up"),
    (lambda ds: ds[0].update(category_id="cat"), r"detection #1: 'category_id' must be an integer"),
])
def test_bad_results_name_file_image_and_detection(tmp_path, mutate, pattern):
    anns, dets = _dataset(tmp_path)
    mutate(dets)
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, dets, cats=(1, 2))
    with pytest.raises(FormatError, match=pattern):
        evaluate_coco(g, d, jobs=1)


def test_nan_scores_and_broken_files(tmp_path):
    anns, dets = _dataset(tmp_path)
    text = json.dumps(dets).replace("0.5}", "NaN}")
    assert "NaN" in text
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, text, cats=(1, 2))
    with pytest.raises(FormatError, match=r"image 2: detection #4: 'score' is NaN"):
        evaluate_coco(g, d, jobs=1)
    d.write_text(json.dumps(dets)[:-30])
    with pytest.raises(FormatError, match=r"dt\.json: invalid JSON"):
        evaluate_coco(g, d, jobs=1)
    d.write_text(json.dumps({"annotations": dets}))
    with pytest.raises(FormatError, match="must be a JSON list"):
        evaluate_coco(g, d, jobs=1)
    with pytest.raises(FormatError, match="nope.json: file not found"):
        evaluate_coco(g, tmp_path / "nope.json", jobs=1)


def test_bad_ground_truth(tmp_path):
    anns, dets = _dataset(tmp_path)
    anns[2]["id"] = 1
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, dets, cats=(1, 2))
    with pytest.raises(FormatError, match=r"gt\.json, image 2, segment 1: duplicate annotation id"):
        evaluate_coco(g, d, jobs=1)
    anns[2]["id"] = 3
    anns[2]["segmentation"] = {"size": [40, 50], "counts": [5, 3]}
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, dets, cats=(1, 2))
    with pytest.raises(FormatError, match=r"image 2, segment 3: uncompressed RLE counts sum to 8"):
        evaluate_coco(g, d, jobs=1)
    anns[2]["segmentation"] = [[1, 2]]
    g, d = coco_files(tmp_path, [(1, 40, 50), (2, 40, 50)], anns, dets, cats=(1, 2))
    with pytest.raises(FormatError, match=r"image 2, segment 3: bad polygon"):
        evaluate_coco(g, d, jobs=1)
    g.write_text(json.dumps({"images": [{"id": 1}], "annotations": [], "categories": []}))
    with pytest.raises(FormatError, match=r"image 1: image needs a positive integer 'height'"):
        evaluate_coco(g, d, jobs=1)


def test_bad_input_to_update():
    m = square(20, 20, 0, 10, 0, 10)
    gt = Instances.from_masks(m[None], [1])
    ev = InstanceEvaluator()
    with pytest.raises(FormatError, match="image 4, segment 1: detection score is NaN"):
        ev.update(gt, Instances.from_masks(m[None], [1], scores=[float("nan")]), image_id=4)
    with pytest.raises(FormatError, match="image 4: detections have no scores"):
        ev.update(gt, Instances.from_masks(m[None], [1]), image_id=4)
    with pytest.raises(SizeMismatchError, match="image 4: detections are 20x21"):
        ev.update(gt, Instances.from_masks(np.zeros((1, 20, 21), bool), [1], scores=[1]), image_id=4)
    bad = Instances([{"size": [20, 20], "counts": "0;~"}], 20, 20, [1], scores=[0.3], ids=[8])
    with pytest.raises(FormatError, match="image 4, segment 8"):
        ev.update(gt, bad, image_id=4)
    with pytest.raises(ValueError, match="iou_type"):
        InstanceEvaluator(iou_type="keypoints")
    assert ev.image_ids == []  # nothing half-added
