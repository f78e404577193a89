"""Shared fixtures: one LocalCluster for the whole session, small generated datasets on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mu


@pytest.fixture(scope="session")
def dask_client():
    """A LocalCluster of 2 worker processes, 1 thread each (started once: it costs seconds)."""
    from panoptix.distributed.cluster import connect

    with connect("local:2") as client:
        yield client


def _ellipse(h, w, cy, cx, ry, rx):
    yy, xx = np.mgrid[0:h, 0:w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def _rle(mask):
    r = mu.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": r["counts"].decode()}


def make_instance(root: Path, n_images: int = 24, seed: int = 0) -> tuple[Path, Path]:
    """COCO instances GT (polygons, crowd RLE) and a shuffled results list with score ties,
    detections of an unknown category, and images without any detection."""
    rng = np.random.default_rng(seed)
    h, w = 40, 60
    images, anns, dets = [], [], []
    aid = 1
    for i in range(n_images):
        iid = 1000 + 7 * i  # sparse ids
        images.append({"id": iid, "file_name": f"{iid:012d}.jpg", "height": h, "width": w})
        for _ in range(int(rng.integers(1, 5))):
            cy, cx = rng.uniform(5, h - 5), rng.uniform(5, w - 5)
            ry, rx = rng.uniform(3, 15), rng.uniform(3, 20)
            m = _ellipse(h, w, cy, cx, ry, rx)
            if not m.any():
                continue
            cat = int(rng.integers(1, 4))
            crowd = int(rng.random() < 0.1)
            t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
            poly = [float(round(v, 1)) for p in zip(cx + rx * np.cos(t), cy + ry * np.sin(t)) for v in p]
            seg = _rle(m) if crowd else [poly]
            rle = None if crowd else mu.merge(mu.frPyObjects([poly], h, w))
            area = float(m.sum()) if crowd else float(mu.area(rle))
            anns.append({"id": aid, "image_id": iid, "category_id": cat, "segmentation": seg, "area": area,
                         "bbox": [float(cx - rx), float(cy - ry), float(2 * rx), float(2 * ry)], "iscrowd": crowd})
            aid += 1
            if i % 5 == 4:
                continue  # some images get no detection at all
            for _ in range(int(rng.integers(1, 3))):
                dm = np.roll(m, (int(rng.integers(-2, 3)), int(rng.integers(-2, 3))), (0, 1))
                c = cat if rng.random() < 0.8 else int(rng.integers(1, 5))  # 4: not a GT category
                dets.append({"image_id": iid, "category_id": c, "segmentation": _rle(dm),
                             "score": float(round(rng.random(), 1))})  # coarse scores: many ties
        if i % 5 != 4:
            dm = _ellipse(h, w, rng.uniform(0, h), rng.uniform(0, w), 4, 6)
            dets.append({"image_id": iid, "category_id": 2, "segmentation": _rle(dm), "score": 0.5})
    order = rng.permutation(len(dets))
    dets = [dets[k] for k in order]
    cats = [{"id": c, "name": f"c{c}", "supercategory": "x"} for c in (1, 2, 3)]
    gt_path, res_path = root / "gt.json", root / "results.json"
    gt_path.write_text(json.dumps({"info": {"year": 2024}, "images": images, "annotations": anns,
                                   "categories": cats}))
    res_path.write_text(json.dumps(dets))
    return gt_path, res_path


def _id_rgb(ids):
    return np.stack([ids % 256, (ids // 256) % 256, ids // 65536], -1).astype(np.uint8)


def make_panoptic(root: Path, n_images: int = 40, seed: int = 1) -> tuple[Path, Path]:
    """COCO panoptic GT and prediction (JSON + PNG folders beside them), ids that differ
    between GT and prediction, crowd regions, VOID, and annotations not in id order."""
    rng = np.random.default_rng(seed)
    h, w = 24, 32
    things, stuff = [1, 2, 3], [10, 11]
    cats = [{"id": c, "name": f"t{c}", "isthing": 1} for c in things]
    cats += [{"id": c, "name": f"s{c}", "isthing": 0} for c in stuff]
    (root / "gt").mkdir(parents=True)
    (root / "pred").mkdir()
    images, g_anns, p_anns = [], [], []
    ids = rng.permutation(np.arange(1, n_images + 1) * 3)  # annotations in a shuffled id order
    for iid in ids.tolist():
        gt = np.zeros((h, w), np.int64)
        pr = np.zeros((h, w), np.int64)
        cut = int(rng.integers(6, 18))
        gsegs, psegs = [], []
        for k, (sl, c) in enumerate(((slice(0, cut), stuff[0]), (slice(cut, h), stuff[1]))):
            gt[sl] = 1 + k
            gsegs.append({"id": 1 + k, "category_id": c, "iscrowd": 0})
            pcut = cut + int(rng.integers(-2, 3))
            pr[slice(0, pcut) if k == 0 else slice(pcut, h)] = 50 + k
            psegs.append({"id": 50 + k, "category_id": c if rng.random() < 0.9 else stuff[1 - k]})
        for j in range(int(rng.integers(1, 4))):
            m = _ellipse(h, w, rng.uniform(4, h - 4), rng.uniform(4, w - 4), rng.uniform(2, 6), rng.uniform(2, 8))
            c = int(rng.choice(things))
            gt[m] = 10 + j
            gsegs.append({"id": 10 + j, "category_id": c, "iscrowd": int(rng.random() < 0.15)})
            if rng.random() < 0.85:
                pm = np.roll(m, int(rng.integers(-1, 2)), 1)
                pr[pm] = 300 + j
                psegs.append({"id": 300 + j, "category_id": c if rng.random() < 0.85 else int(rng.choice(things))})
        gt[:2] = 0  # VOID
        for arr, segs in ((gt, gsegs), (pr, psegs)):
            present, counts = np.unique(arr, return_counts=True)
            area = dict(zip(present.tolist(), counts.tolist()))
            segs[:] = [dict(s, area=int(area[s["id"]])) for s in segs if s["id"] in area]
        name = f"{iid:06d}.png"
        Image.fromarray(_id_rgb(gt)).save(root / "gt" / name)
        Image.fromarray(_id_rgb(pr)).save(root / "pred" / name)
        images.append({"id": iid, "file_name": f"{iid:06d}.jpg", "height": h, "width": w})
        g_anns.append({"image_id": iid, "file_name": name, "segments_info": gsegs})
        p_anns.append({"image_id": iid, "file_name": name,
                       "segments_info": [{"id": s["id"], "category_id": s["category_id"]} for s in psegs]})
    rng.shuffle(p_anns)
    gt_json, pred_json = root / "gt.json", root / "pred.json"
    gt_json.write_text(json.dumps({"images": images, "annotations": g_anns, "categories": cats}))
    pred_json.write_text(json.dumps({"annotations": p_anns}))
    return gt_json, pred_json


def make_semantic(root: Path, n_images: int = 20, num_classes: int = 5, seed: int = 2) -> tuple[Path, Path]:
    """Label PNG folders (a subfolder too), values 0..num_classes-1 and 255."""
    rng = np.random.default_rng(seed)
    h, w = 24, 40
    for d in ("gt/a", "gt/b", "pred/a", "pred/b"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        gt = rng.integers(0, num_classes, (h // 4, w // 4)).repeat(4, 0).repeat(4, 1).astype(np.uint8)
        pr = gt.copy()
        flip = rng.random((h, w)) < 0.2
        pr[flip] = rng.integers(0, num_classes, int(flip.sum()))
        gt[rng.random((h, w)) < 0.05] = 255
        pr[rng.random((h, w)) < 0.02] = 255
        sub = "a" if i % 2 else "b"
        Image.fromarray(gt).save(root / "gt" / sub / f"{i:04d}.png")
        Image.fromarray(pr).save(root / "pred" / sub / f"{i:04d}.png")
    return root / "gt", root / "pred"


@pytest.fixture(scope="session")
def instance_data(tmp_path_factory):
    return make_instance(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def panoptic_data(tmp_path_factory):
    return make_panoptic(tmp_path_factory.mktemp("panoptic"))


@pytest.fixture(scope="session")
def semantic_data(tmp_path_factory):
    return make_semantic(tmp_path_factory.mktemp("semantic"))
