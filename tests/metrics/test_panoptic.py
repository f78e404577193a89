"""PQ parity with panopticapi's pq_compute on random COCO panoptic datasets written to disk,
merge laws, and every bad-input error."""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from panoptix.core import Category, PanopticMap, Segment, Taxonomy
from panoptix.core.errors import CategoryError, FormatError, PanoptixError, SizeMismatchError, ValidationError
from panoptix.metrics import PanopticEvaluator, evaluate_panoptic_folder
from panoptix.metrics.panoptic import SUMMARY_KEYS, taxonomy_from_panoptic

THINGS = [1, 2, 3, 5, 7, 9]          # 9 is never annotated
STUFF = [100, 101, 102, 150]         # 150 is never annotated
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def id2rgb(ids: np.ndarray) -> np.ndarray:
    ids = ids.astype(np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)


def _ellipse(h, w, rng):
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = rng.uniform(2, h / 2.5), rng.uniform(2, w / 2.5)
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def make_dataset(root: Path, seed: int, n_images: int = 10, *, area_noise: bool = True):
    """A random COCO panoptic GT + prediction pair on disk; returns (gt_json, pred_json).

    Covers VOID borders and holes, crowd regions (two of one class in some images), split and
    merged predictions, wrong classes, predictions mostly on VOID or crowd, ids spread over all
    three RGB channels, JSON areas that differ slightly from the PNG, and unannotated classes.
    """
    rng = np.random.default_rng(seed)
    pyr = random.Random(seed)
    cats = [{"id": c, "name": f"thing{c}", "isthing": 1, "supercategory": "t", "color": [0, 0, 0]} for c in THINGS]
    cats += [{"id": c, "name": f"stuff{c}", "isthing": 0, "supercategory": "s", "color": [0, 0, 0]} for c in STUFF]
    (root / "gt").mkdir(parents=True)
    (root / "pred").mkdir(parents=True)
    images, gt_anns, pred_anns = [], [], []
    for i in range(n_images):
        h, w = int(rng.integers(20, 40)), int(rng.integers(24, 48))
        gt = np.zeros((h, w), np.int64)
        segs = []  # (id, cat, crowd)
        used = set()

        def new_id():
            while True:
                v = int(rng.choice([rng.integers(1, 256), rng.integers(256, 65536), rng.integers(65536, 2 ** 24)]))
                if v not in used:
                    used.add(v)
                    return v

        # stuff: horizontal bands with wavy borders, one segment per class
        cuts = np.sort(rng.uniform(0, h, 2))
        yy, xx = np.mgrid[0:h, 0:w]
        band = np.searchsorted(cuts, yy + 2 * np.sin(xx / 3 + i))
        stuff_cats = rng.choice(STUFF[:3], size=3, replace=False)
        for b in range(3):
            sid = new_id()
            gt[band == b] = sid
            segs.append((sid, int(stuff_cats[b]), False))
        # things, some crowd (sometimes two crowd regions of one class)
        for k in range(int(rng.integers(2, 7))):
            m = _ellipse(h, w, rng)
            sid = new_id()
            crowd = bool(rng.random() < 0.2)
            cat = int(rng.choice(THINGS[:5]))
            gt[m] = sid
            segs.append((sid, cat, crowd))
        if i % 3 == 0:
            for _ in range(2):
                sid = new_id()
                gt[_ellipse(h, w, rng)] = sid
                segs.append((sid, 3, True))
        # VOID: a border and a random hole
        gt[:1] = 0
        gt[:, :int(rng.integers(0, 3))] = 0
        gt[_ellipse(h, w, rng) & (rng.random((h, w)) < 0.5)] = 0
        present, counts = np.unique(gt, return_counts=True)
        area = dict(zip(present.tolist(), counts.tolist()))
        segs = [s for s in segs if s[0] in area]
        # prediction: perturbed ground truth
        pred = np.zeros((h, w), np.int64)
        psegs = []
        pused = set()

        def pnew():
            while True:
                v = int(rng.integers(1, 2 ** 24))
                if v not in pused:
                    pused.add(v)
                    return v

        order = list(segs)
        pyr.shuffle(order)
        for sid, cat, crowd in order:
            m = gt == sid
            r = rng.random()
            if r < 0.1:
                continue  # missed
            dy, dx = (int(v) for v in rng.integers(-2, 3, 2))
            m2 = np.roll(m, (dy, dx), (0, 1))
            pc = cat if rng.random() < 0.8 else int(rng.choice(THINGS[:5] if cat in THINGS else STUFF[:3]))
            if r < 0.25 and m2.sum() > 6:  # split in two
                ys = np.flatnonzero(m2.any(1))
                cut = ys[len(ys) // 2]
                a, b = m2.copy(), m2.copy()
                a[cut:] = False
                b[:cut] = False
                for part in (a, b):
                    if part.any():
                        pid = pnew()
                        pred[part] = pid
                        psegs.append((pid, pc))
            else:
                pid = pnew()
                pred[m2] = pid
                psegs.append((pid, pc))
        if len(psegs) >= 2 and rng.random() < 0.5:  # merge two predictions
            (a, ca), (b, _) = psegs[-2], psegs[-1]
            pred[pred == b] = a
            psegs = psegs[:-1]
        # a prediction mostly on VOID (top rows) and a random false positive
        pid = pnew()
        pred[:2, : w // 2] = pid
        psegs.append((pid, int(rng.choice(THINGS[:5]))))
        pid = pnew()
        pred[_ellipse(h, w, rng) & (rng.random((h, w)) < 0.7)] = pid
        psegs.append((pid, int(rng.choice(THINGS[:5] + STUFF[:3]))))
        # some VOID in the prediction
        pred[rng.random((h, w)) < 0.03] = 0
        ppresent = set(np.unique(pred).tolist())
        psegs = [s for s in psegs if s[0] in ppresent]

        fname = f"{i:06d}.png"
        Image.fromarray(id2rgb(gt)).save(root / "gt" / fname)
        Image.fromarray(id2rgb(pred)).save(root / "pred" / fname)
        image_id = 1000 + i
        images.append({"id": image_id, "file_name": f"{i:06d}.jpg", "height": h, "width": w})
        ginfo = []
        for sid, cat, crowd in segs:
            a = area[sid]
            if area_noise and rng.random() < 0.15:
                a = max(1, a + int(rng.integers(-3, 4)))
            if area_noise and rng.random() < 0.05:
                a = a + 0.5  # COCO areas may be floats; panopticapi uses them as they are
            ginfo.append({"id": sid, "category_id": cat, "iscrowd": int(crowd), "area": a, "bbox": [0, 0, 1, 1]})
        gt_anns.append({"image_id": image_id, "file_name": fname, "segments_info": ginfo})
        pinfo = [{"id": pid, "category_id": pc} for pid, pc in psegs]
        pyr.shuffle(pinfo)
        pred_anns.append({"image_id": image_id, "file_name": fname, "segments_info": pinfo})
    pyr.shuffle(pred_anns)
    gt_json, pred_json = root / "gt.json", root / "pred.json"
    gt_json.write_text(json.dumps({"images": images, "annotations": gt_anns, "categories": cats}))
    pred_json.write_text(json.dumps({"annotations": pred_anns}))
    return gt_json, pred_json


def panopticapi_reference(gt_json, pred_json, gt_dir=None, pred_dir=None):
    from panopticapi.evaluation import pq_compute

    with contextlib.redirect_stdout(io.StringIO()):
        return pq_compute(str(gt_json), str(pred_json), None if gt_dir is None else str(gt_dir),
                          None if pred_dir is None else str(pred_dir))


def assert_matches_panopticapi(res, ref):
    for name, suffix in (("All", ""), ("Things", "_th"), ("Stuff", "_st")):
        for m in ("pq", "sq", "rq"):
            assert res.summary[m.upper() + suffix] == pytest.approx(ref[name][m], abs=1e-12, rel=0), (name, m)
        assert res.extra["n"][name] == ref[name]["n"]
    for cid, vals in ref["per_class"].items():
        counts = res.extra["counts"][str(cid)]
        if counts["tp"] + counts["fp"] + counts["fn"] == 0:
            # panopticapi prints 0.0 for a class it skips; panoptix says None (left out).
            assert vals == {"pq": 0.0, "sq": 0.0, "rq": 0.0}
            assert res.per_class[str(cid)] == {"PQ": None, "SQ": None, "RQ": None}
            continue
        for m in ("pq", "sq", "rq"):
            assert res.per_class[str(cid)][m.upper()] == pytest.approx(vals[m], abs=1e-12, rel=0), (cid, m)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    out = []
    for seed in (0, 1, 2):
        root = tmp_path_factory.mktemp(f"pan{seed}")
        out.append(make_dataset(root, seed, n_images=12 if seed == 0 else 8))
    return out


def test_generator_covers_the_tricky_cases(datasets):
    gt_json, pred_json = datasets[0]
    gt = json.loads(gt_json.read_text())
    segs = [s for a in gt["annotations"] for s in a["segments_info"]]
    assert any(s["iscrowd"] for s in segs)
    assert any(s["id"] >= 65536 for s in segs) and any(s["id"] < 256 for s in segs)
    used = {s["category_id"] for s in segs}
    assert 9 not in used and 150 not in used


@pytest.mark.parametrize("k", [0, 1, 2])
def test_folder_matches_panopticapi(datasets, k):
    gt_json, pred_json = datasets[k]
    ref = panopticapi_reference(gt_json, pred_json)
    res = evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    assert_matches_panopticapi(res, ref)
    assert list(res.summary) == list(SUMMARY_KEYS)
    # the classes never annotated nor predicted are None, and left out of n
    assert res.per_class["9"] == {"PQ": None, "SQ": None, "RQ": None}
    total = res.extra["counts"]
    assert sum(r["tp"] for r in res.extra["per_image"]) == sum(c["tp"] for c in total.values())
    assert sum(r["fp"] for r in res.extra["per_image"]) == sum(c["fp"] for c in total.values())
    assert sum(r["fn"] for r in res.extra["per_image"]) == sum(c["fn"] for c in total.values())


def test_jobs_do_not_change_numbers(datasets):
    gt_json, pred_json = datasets[0]
    one = evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    two = evaluate_panoptic_folder(gt_json, pred_json, jobs=2)
    assert one.summary == two.summary
    assert one.per_class == two.per_class


def test_without_the_extension_same_numbers(datasets, monkeypatch):
    from panoptix.io import png as _png

    gt_json, pred_json = datasets[0]
    native = evaluate_panoptic_folder(gt_json, pred_json, jobs=2)
    monkeypatch.setattr(_png, "native", None)  # Pillow and numpy, where the C extension was not built
    without = evaluate_panoptic_folder(gt_json, pred_json, jobs=2)
    assert native.summary == without.summary and native.per_class == without.per_class


def test_progress_sees_every_image(datasets):
    gt_json, pred_json = datasets[1]
    seen = []
    evaluate_panoptic_folder(gt_json, pred_json, jobs=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def _maps(gt_json: Path, pred_json: Path):
    """(image_id, gt PanopticMap, pred PanopticMap) read with PIL, the JSON areas kept."""
    gt = json.loads(gt_json.read_text())
    pred = {a["image_id"]: a for a in json.loads(pred_json.read_text())["annotations"]}
    out = []
    for ann in gt["annotations"]:
        def load(folder, a):
            rgb = np.array(Image.open(gt_json.parent / folder / a["file_name"]), np.int64)
            return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]

        p = pred[ann["image_id"]]
        gmap = PanopticMap(load("gt", ann), [Segment(s["id"], s["category_id"], bool(s["iscrowd"]), s["area"])
                                             for s in ann["segments_info"]])
        pmap = PanopticMap(load("pred", p), [Segment(s["id"], s["category_id"]) for s in p["segments_info"]])
        out.append((ann["image_id"], gmap, pmap))
    return gt, out


def test_update_path_matches_panopticapi(datasets):
    gt_json, pred_json = datasets[2]
    gt, maps = _maps(gt_json, pred_json)
    ev = PanopticEvaluator(taxonomy_from_panoptic(gt["categories"]))
    for image_id, g, p in maps:
        ev.update(g, p, image_id=image_id)
    assert_matches_panopticapi(ev.compute(), panopticapi_reference(gt_json, pred_json))


def test_merge_in_any_order_equals_one_pass(datasets):
    gt_json, pred_json = datasets[0]
    gt, maps = _maps(gt_json, pred_json)
    tax = taxonomy_from_panoptic(gt["categories"])
    whole = PanopticEvaluator(tax)
    for image_id, g, p in maps:
        whole.update(g, p, image_id=image_id)
    shards = [PanopticEvaluator(tax) for _ in range(3)]
    for k, (image_id, g, p) in enumerate(maps):
        shards[k % 3].update(g, p, image_id=image_id)
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        merged = PanopticEvaluator(tax)
        for k in order:
            merged = merged + shards[k]
        assert (merged.tp == whole.tp).all() and (merged.fp == whole.fp).all() and (merged.fn == whole.fn).all()
        np.testing.assert_allclose(merged.iou, whole.iou, rtol=0, atol=1e-12)
        r1, r2 = merged.compute(), whole.compute()
        for key in SUMMARY_KEYS:
            assert r1[key] == pytest.approx(r2[key], abs=1e-12)
        assert sorted(r["image_id"] for r in r1.extra["per_image"]) == sorted(a for a, _, _ in maps)
    # `+` leaves its operands alone
    assert shards[0].tp.sum() < whole.tp.sum()


def test_merge_refuses_another_taxonomy():
    a = PanopticEvaluator(Taxonomy([Category(1, "a")]))
    b = PanopticEvaluator(Taxonomy([Category(2, "b")]))
    with pytest.raises(ValueError):
        a.merge(b)


def test_hand_computed_crowd_and_void_rules():
    tax = Taxonomy([Category(1, "person"), Category(2, "car"), Category(3, "sky", isthing=False)])
    gt_ids = np.zeros((4, 10), np.int64)
    gt_ids[:, 0:4] = 1   # person 16 px
    gt_ids[:, 4:8] = 2   # crowd of people 16 px
    gt_ids[:, 8:10] = 0  # VOID 8 px
    gt = PanopticMap.from_ids(gt_ids, {1: 1, 2: 1}, iscrowd={2: True})
    pred_ids = np.zeros((4, 10), np.int64)
    pred_ids[:, 0:3] = 11  # person, 12 px inside the person: IoU 12/16 -> TP
    pred_ids[:, 3:6] = 12  # person: 4 px on the person, 8 on the crowd -> ignored (8/12 > 0.5)
    pred_ids[:, 6:10] = 13  # car: 8 px on the crowd (other class), 8 on VOID -> 8/16 not > 0.5 -> FP
    pred = PanopticMap.from_ids(pred_ids, {11: 1, 12: 1, 13: 2})
    ev = PanopticEvaluator(tax)
    ev.update(gt, pred, image_id=7)
    c = ev.compute().extra["counts"]
    assert c["1"] == {"tp": 1, "fp": 0, "fn": 0, "iou": 0.75}
    assert c["2"] == {"tp": 0, "fp": 1, "fn": 0, "iou": 0.0}
    r = ev.compute()
    assert r["PQ_th"] == pytest.approx((0.75 + 0.0) / 2)
    assert r["PQ_st"] is not None and np.isnan(r["PQ_st"])  # no stuff class seen
    assert r.to_json()["PQ_st"] is None


def test_iou_of_exactly_half_is_not_a_match():
    tax = Taxonomy([Category(1, "a")])
    gt = PanopticMap.from_ids(np.array([[1, 1, 1, 1]]), {1: 1})
    pred = PanopticMap.from_ids(np.array([[5, 5, 0, 0]]), {5: 1})  # IoU 2/4
    ev = PanopticEvaluator(tax)
    ev.update(gt, pred)
    c = ev.compute().extra["counts"]["1"]
    assert (c["tp"], c["fp"], c["fn"]) == (0, 1, 1)


def test_void_in_the_union_counts_as_panopticapi():
    # pred covers 4 gt px + 4 VOID px: IoU = 4 / (8 + 4 - 4 - 4) = 1.0
    tax = Taxonomy([Category(1, "a")])
    gt = PanopticMap.from_ids(np.array([[1, 1, 1, 1, 0, 0, 0, 0]]), {1: 1})
    pred = PanopticMap.from_ids(np.array([[5, 5, 5, 5, 5, 5, 5, 5]]), {5: 1})
    ev = PanopticEvaluator(tax)
    ev.update(gt, pred)
    assert ev.compute()["SQ"] == 1.0


# --------------------------------------------------------------------------- bad input
def _copy(datasets, tmp_path, k=1):
    import shutil

    gt_json, pred_json = datasets[k]
    root = tmp_path / "d"
    shutil.copytree(gt_json.parent, root)
    return root / "gt.json", root / "pred.json"


def _edit(path: Path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_pred_segment_in_png_not_in_json(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    removed = {}

    def drop(d):
        ann = d["annotations"][0]
        removed.update(ann["segments_info"].pop(0), image_id=ann["image_id"])

    _edit(pred_json, drop)
    with pytest.raises(ValidationError) as e:
        evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    msg = str(e.value)
    assert "in the PNG but not in the JSON" in msg and f"image {removed['image_id']}" in msg
    assert "pred" in msg and ".png" in msg
    with pytest.raises(KeyError):  # panopticapi agrees it is an error
        panopticapi_reference(gt_json, pred_json)


def test_pred_segment_in_json_not_in_png(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    _edit(pred_json, lambda d: d["annotations"][0]["segments_info"].append({"id": 2 ** 24 - 1, "category_id": 1}))
    with pytest.raises(ValidationError, match=f"segment {2 ** 24 - 1}: segment is in the JSON but not in the PNG"):
        evaluate_panoptic_folder(gt_json, pred_json, jobs=2)
    with pytest.raises(KeyError):
        panopticapi_reference(gt_json, pred_json)


def test_unknown_pred_category(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    _edit(pred_json, lambda d: d["annotations"][0]["segments_info"][0].update(category_id=4242))
    with pytest.raises(CategoryError, match="unknown category id 4242"):
        evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    with pytest.raises(KeyError):
        panopticapi_reference(gt_json, pred_json)


def test_missing_prediction_for_an_image(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    _edit(pred_json, lambda d: d["annotations"].pop())
    with pytest.raises(ValidationError, match="no prediction for this image"):
        evaluate_panoptic_folder(gt_json, pred_json)


def test_missing_and_broken_png(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    name = json.loads(pred_json.read_text())["annotations"][0]["file_name"]
    (pred_json.parent / "pred" / name).unlink()
    with pytest.raises(FormatError, match="file not found") as e:
        evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    assert name in str(e.value)
    (pred_json.parent / "pred" / name).write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(FormatError, match=name):
        evaluate_panoptic_folder(gt_json, pred_json, jobs=1)


def test_missing_folder_and_bad_json(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    with pytest.raises(FormatError, match="folder does not exist"):
        evaluate_panoptic_folder(gt_json, pred_json, pred_dir=tmp_path / "nowhere")
    pred_json.write_text("{not json")
    with pytest.raises(FormatError, match="invalid JSON"):
        evaluate_panoptic_folder(gt_json, pred_json)
    pred_json.write_text("[]")
    with pytest.raises(FormatError, match="annotations"):
        evaluate_panoptic_folder(gt_json, pred_json)


def test_size_mismatch(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    ann = json.loads(pred_json.read_text())["annotations"][0]
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(pred_json.parent / "pred" / ann["file_name"])
    _edit(pred_json, lambda d: d["annotations"][0].update(segments_info=[]))
    with pytest.raises(SizeMismatchError, match=f"image {ann['image_id']}"):
        evaluate_panoptic_folder(gt_json, pred_json)


def test_grey_png_is_not_a_panoptic_png(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    ann = json.loads(pred_json.read_text())["annotations"][0]
    path = pred_json.parent / "pred" / ann["file_name"]
    size = Image.open(path).size
    Image.fromarray(np.zeros(size[::-1], np.uint8)).save(path)
    with pytest.raises(FormatError, match="must be 8-bit RGB"):
        evaluate_panoptic_folder(gt_json, pred_json)


def test_palette_and_rgba_pngs_are_read_by_colour(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path, k=2)
    ref = evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    anns = json.loads(pred_json.read_text())["annotations"]
    for k, ann in enumerate(anns[:4]):
        path = pred_json.parent / "pred" / ann["file_name"]
        img = Image.open(path).convert("RGB")
        if k % 2 == 0:
            img.convert("RGBA").save(path)
        elif len(img.getcolors(256) or []) <= 256 and img.getcolors(256):
            img.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path)
    res = evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    assert res.summary == ref.summary


def test_duplicate_segment_ids_and_void_id(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    _edit(pred_json, lambda d: d["annotations"][0]["segments_info"].append(dict(d["annotations"][0]["segments_info"][0])))
    with pytest.raises(ValidationError, match="duplicate predicted segment id"):
        evaluate_panoptic_folder(gt_json, pred_json)
    tax = Taxonomy([Category(1, "a")])
    ev = PanopticEvaluator(tax)
    with pytest.raises(ValidationError, match="VOID"):
        ev.update(PanopticMap.from_ids(np.ones((2, 2), int), {1: 1}),
                  PanopticMap(np.zeros((2, 2), int), [Segment(0, 1)]))


def test_ground_truth_without_isthing_or_with_unknown_category(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path)
    _edit(gt_json, lambda d: d["annotations"][0]["segments_info"][0].update(category_id=77))
    with pytest.raises(CategoryError, match="unknown category id 77"):
        evaluate_panoptic_folder(gt_json, pred_json)
    _edit(gt_json, lambda d: [c.pop("isthing") for c in d["categories"]])
    with pytest.raises(FormatError, match="isthing"):
        evaluate_panoptic_folder(gt_json, pred_json)


def test_errors_are_panoptix_errors_across_processes(datasets, tmp_path):
    gt_json, pred_json = _copy(datasets, tmp_path, k=0)
    _edit(pred_json, lambda d: d["annotations"][-1]["segments_info"][0].update(category_id=4242))
    with pytest.raises(PanoptixError, match="unknown category id 4242"):
        evaluate_panoptic_folder(gt_json, pred_json, jobs=2)


def test_real_coco_panoptic_sample_against_itself_and_panopticapi(tmp_path):
    src = SHARED_DATA / "coco-panoptic-sample"
    if not src.is_dir():
        pytest.skip("../shared/data is not present")
    gt_json = src / "panoptic_examples.json"
    gt_dir = src / "panoptic_examples"
    data = json.loads(gt_json.read_text())
    data["categories"] = json.loads((src / "panoptic_coco_categories.json").read_text())
    gt_copy = tmp_path / "gt.json"
    gt_copy.write_text(json.dumps(data))
    # a prediction: the ground truth with one segment relabelled per image
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    anns = []
    for ann in data["annotations"]:
        Image.open(gt_dir / ann["file_name"]).save(pred_dir / ann["file_name"])
        segs = [{"id": s["id"], "category_id": s["category_id"]} for s in ann["segments_info"]]
        segs[0]["category_id"] = 1 if segs[0]["category_id"] != 1 else 2
        anns.append({"image_id": ann["image_id"], "file_name": ann["file_name"], "segments_info": segs})
    pred_json = tmp_path / "pred.json"
    pred_json.write_text(json.dumps({"annotations": anns}))
    res = evaluate_panoptic_folder(gt_copy, pred_json, gt_dir, pred_dir)
    assert_matches_panopticapi(res, panopticapi_reference(gt_copy, pred_json, gt_dir, pred_dir))
    assert 0.8 < res["PQ"] < 1.0
