"""HTML evaluation reports on small real files: the files written, the PNGs, and the page in Chromium."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from panoptix.cli.main import app
from panoptix.core import Category, PanopticMap, Taxonomy
from panoptix.io import Dataset, ImageInfo, Sample, write_dataset
from panoptix.io.files import write_png
from panoptix.viz.report import write_report

H, W = 48, 64
runner = CliRunner()


def poly(x0, y0, x1, y1) -> list:
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


# --------------------------------------------------------------------------- data
def make_instance(root: Path) -> tuple[Path, Path]:
    """Six images: perfect, shifted, missed, wrong class, extra detection, empty."""
    cats = [{"id": 1, "name": "person", "supercategory": ""}, {"id": 3, "name": "car", "supercategory": ""}]
    images, anns, dets = [], [], []
    for i in range(6):
        images.append({"id": i + 1, "file_name": f"{i + 1:03d}.jpg", "height": H, "width": W})
    boxes = {1: [(1, (4, 4, 24, 30)), (3, (30, 10, 60, 40))], 2: [(1, (10, 5, 30, 40))], 3: [(3, (5, 5, 40, 40))],
             4: [(1, (20, 10, 44, 44))], 5: [(3, (2, 2, 20, 20))], 6: []}
    aid = 1
    for img, objs in boxes.items():
        for cat, (x0, y0, x1, y1) in objs:
            anns.append({"id": aid, "image_id": img, "category_id": cat, "segmentation": poly(x0, y0, x1, y1),
                         "area": float((x1 - x0) * (y1 - y0)), "bbox": [x0, y0, x1 - x0, y1 - y0], "iscrowd": 0})
            aid += 1
    dets += [{"image_id": 1, "category_id": 1, "segmentation": poly(4, 4, 24, 30), "score": 0.95},
             {"image_id": 1, "category_id": 3, "segmentation": poly(30, 10, 60, 40), "score": 0.9},
             {"image_id": 2, "category_id": 1, "segmentation": poly(14, 5, 34, 40), "score": 0.8},
             {"image_id": 4, "category_id": 3, "segmentation": poly(20, 10, 44, 44), "score": 0.7},
             {"image_id": 5, "category_id": 3, "segmentation": poly(2, 2, 20, 20), "score": 0.6},
             {"image_id": 5, "category_id": 1, "segmentation": poly(30, 20, 50, 40), "score": 0.5}]
    gt = root / "instances_val.json"
    gt.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    pred = root / "results.json"
    pred.write_text(json.dumps(dets))
    photos = root / "val"  # guessed from the JSON name: instances_val.json -> val/
    photos.mkdir()
    rng = np.random.default_rng(1)
    for i in (1, 4):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(photos / f"{i:03d}.jpg")
    return gt, pred


PAN_TAX = Taxonomy([Category(1, "person", True, (220, 20, 60)), Category(3, "car", True, (0, 0, 142)),
                    Category(184, "sky", False, (70, 130, 180)), Category(7, "road", False, (128, 64, 128))])


def make_panoptic(root: Path) -> tuple[Path, Path]:
    gts, preds = [], []
    for i in range(4):
        ids = np.zeros((H, W), np.int64)
        ids[:16] = 5
        ids[32:] = 6
        ids[16:32, 4:24] = 1
        ids[16:32, 30:50] = 2
        gt = PanopticMap.from_ids(ids, {5: 184, 6: 7, 1: 1, 2: 3})
        p = ids.copy()
        cats = {5: 184, 6: 7, 1: 1, 2: 3}
        if i == 1:
            p = np.roll(p, 12, axis=1)  # everything shifted: lower PQ
        if i == 2:
            cats[2] = 1  # car called person
        if i == 3:
            p[p == 1] = 6  # person missed, painted as road
        pred = PanopticMap.from_ids(p, {k: v for k, v in cats.items() if (p == k).any()})
        info = ImageInfo(i + 1, f"{i + 1:03d}.jpg", H, W)
        gts.append(Sample(info, panoptic=gt))
        preds.append(Sample(info, panoptic=pred))
    gt_json, pred_json = root / "gt" / "panoptic.json", root / "pred" / "panoptic.json"
    write_dataset(Dataset.from_samples(PAN_TAX, gts), gt_json, "coco-panoptic")
    write_dataset(Dataset.from_samples(PAN_TAX, preds), pred_json, "coco-panoptic")
    return gt_json, pred_json


def make_semantic(root: Path) -> tuple[Path, Path]:
    gt_dir, pred_dir = root / "gt", root / "pred"
    for i in range(3):
        g = np.zeros((H, W), np.uint8)
        g[:20] = 1
        g[20:, 30:] = 2
        g[40:, :10] = 255
        p = g.copy()
        p[p == 255] = 0
        p[:, : 8 * i] = 2  # image 0 perfect, then worse and worse
        write_png(gt_dir / f"img{i}.png", g)
        write_png(pred_dir / f"img{i}.png", p)
    return gt_dir, pred_dir


# --------------------------------------------------------------------------- checks
def check_png(path: Path, min_w: int = 60, min_h: int = 40) -> np.ndarray:
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[1] >= min_w and img.shape[0] >= min_h, path
    assert img.std() > 5, f"{path} is blank"
    return img


def check_html(index: Path) -> str:
    html = index.read_text()
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", html)
    srcs = re.findall(r'<img[^>]* src="([^"]+)"', html)
    assert srcs
    for src in srcs:
        assert not src.startswith("/") and (index.parent / src).is_file(), src
        check_png(index.parent / src)
    return html


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The three reports, written once for the module."""
    root = tmp_path_factory.mktemp("reports")
    out = {}
    (root / "inst").mkdir()
    gt, pred = make_instance(root / "inst")
    out["instance"] = write_report("instance", gt, pred, root / "inst" / "report", worst=3, jobs=1)
    (root / "pan").mkdir()
    gt, pred = make_panoptic(root / "pan")
    out["panoptic"] = write_report("panoptic", gt, pred, root / "pan" / "report", worst=2, jobs=1)
    gt, pred = make_semantic(root / "sem")
    out["semantic"] = write_report("semantic", gt, pred, root / "sem" / "report", num_classes=3,
                                   class_names=["background", "sky", "car"], jobs=1)
    return out


def test_instance_report_files(reports):
    index = reports["instance"]
    html = check_html(index)
    folder = index.parent
    assert {p.name for p in folder.iterdir()} == {"index.html", "metrics.json", "per_class.png", "pr_curves.png",
                                                 "gallery"}
    gallery = sorted((folder / "gallery").iterdir())
    # F1 at IoU 0.5: images 3 (car missed) and 4 (person called car) score 0, image 5 (one
    # extra detection) 2/3; images 1 and 2 (shifted, IoU 0.67) are perfect, 6 has nothing
    assert [p.name for p in gallery] == ["01_003.png", "02_004.png", "03_005.png"]
    strip = check_png(gallery[0], min_w=3 * W)
    assert strip.shape[1] == 3 * W + 2 * 6  # gt | prediction | comparison, 6 px gaps
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["per_class"]) == {"1", "3"} and 0 < metrics["AP"] < 1
    assert html.count("<tr>") == 1 + 2
    for word in ("AP50 %", "AP75 %", "AR100 %", "person", "car", "Worst images", "precision–recall"):
        assert word in html
    assert "003.jpg (id 3) — score 0.0" in html


def test_instance_gallery_uses_photos(reports):
    folder = reports["instance"].parent / "gallery"
    with_photo = np.asarray(Image.open(folder / "02_004.png").convert("RGB"))  # image 4 has a photo
    without = np.asarray(Image.open(folder / "01_003.png").convert("RGB"))
    # the bottom-right corner of the first panel is unlabelled: noise photo vs. plain grey
    assert with_photo[-3:, W - 10:W - 2].std() > 20
    assert (without[-3:, W - 10:W - 2] == 160).all()


def test_panoptic_report(reports):
    from panoptix.metrics import evaluate_panoptic_folder

    index = reports["panoptic"]
    html = check_html(index)
    folder = index.parent
    assert (folder / "pq_sq_rq.png").is_file() and (folder / "per_class.png").is_file()
    metrics = json.loads((folder / "metrics.json").read_text())
    root = folder.parent
    want = evaluate_panoptic_folder(root / "gt" / "panoptic.json", root / "pred" / "panoptic.json", jobs=1)
    assert metrics["PQ"] == pytest.approx(want["PQ"])
    assert f"{100 * want['PQ']:.1f}" in html
    for col in ("PQ %", "SQ %", "RQ %", "<th>TP</th>", "<th>FN</th>"):
        assert col in html
    # worst first: image 2 (all shifted), then 3 (car called person: PQ 3 / 4; image 4, whose
    # missed person was painted road, keeps a road match at IoU 0.76: PQ 2.76 / 3.5)
    assert [p.name for p in sorted((folder / "gallery").iterdir())] == ["01_002.png", "02_003.png"]


def test_semantic_report(reports):
    index = reports["semantic"]
    html = check_html(index)
    folder = index.parent
    conf = check_png(folder / "confusion.png", min_w=200, min_h=200)
    assert conf.shape[0] > 200
    assert "background" in html and "mIoU" in html
    # img2 has the most pixels called "car": the worst image
    assert sorted(p.name for p in (folder / "gallery").iterdir())[0] == "01_img2.png"


def test_reports_in_chromium(reports, page):
    for kind, index in reports.items():
        page.goto(index.as_uri())
        page.wait_for_load_state("load")
        widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
        assert widths and all(w > 0 for w in widths), kind
        rows = page.locator("#per-class tbody tr")
        assert rows.count() == {"instance": 2, "panoptic": 4, "semantic": 3}[kind]
        names = lambda: page.evaluate(
            "Array.from(document.querySelectorAll('#per-class tbody tr td:nth-child(2)')).map(c => c.textContent)")
        page.click("#per-class th:nth-child(2)")
        asc = names()
        assert asc == sorted(asc)
        page.click("#per-class th:nth-child(2)")
        assert names() == sorted(asc, reverse=True)
        page.click("#per-class th:nth-child(4)")  # the main metric, numerically
        first = page.evaluate("Array.from(document.querySelectorAll('#per-class tbody tr td:nth-child(4)'))"
                              ".map(c => c.getAttribute('data-v'))")
        vals = [float(v) for v in first if v]
        assert vals == sorted(vals)
        assert page.locator("#summary .card").count() >= 3
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L"))
        assert shot.shape[0] > 900 and shot.std() > 10
    assert all(u.startswith(("file:", "data:")) for u in page.requests_seen)


# --------------------------------------------------------------------------- the command
def test_report_command(tmp_path):
    gt, pred = make_semantic(tmp_path)
    res = runner.invoke(app, ["report", "semantic", str(gt), str(pred), "--num-classes", "3", "--out",
                              str(tmp_path / "r"), "--jobs", "1", "--worst", "1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "index.html").is_file()
    assert len(list((tmp_path / "r" / "gallery").iterdir())) == 1
    (tmp_path / "r" / "gallery" / "07_old.png").write_bytes(b"stale")  # left by an earlier, longer report
    res = runner.invoke(app, ["report", "semantic", str(gt), str(pred), "--num-classes", "3", "--out",
                              str(tmp_path / "r"), "--jobs", "1", "--worst", "2"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "r" / "gallery").iterdir()) == ["01_img2.png", "02_img1.png"]


@pytest.mark.parametrize("args, message", [
    (["semantic", "GT", "PRED"], "--num-classes"),
    (["bogus", "GT", "PRED"], "unknown kind 'bogus'"),
    (["instance", "GT", "missing.json"], "missing.json: file not found"),
    (["semantic", "GT", "nowhere", "--num-classes", "3"], "prediction folder does not exist"),
    (["semantic", "GT", "PRED", "--num-classes", "2"], "image img0.png"),
])
def test_report_bad_input(tmp_path, args, message):
    (tmp_path / "inst").mkdir()
    gt_json, _ = make_instance(tmp_path / "inst")
    gt_dir, pred_dir = make_semantic(tmp_path)
    subst = {"GT": str(gt_dir), "PRED": str(pred_dir)}
    if args[0] == "instance":
        subst["GT"] = str(gt_json)
        args = [args[0], subst["GT"], str(tmp_path / args[2])]
    args = [subst.get(a, a) for a in args]
    res = runner.invoke(app, ["report", *args, "--out", str(tmp_path / "r"), "--jobs", "1"])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "r" / "index.html").exists()


def test_report_into_a_file_refused(tmp_path):
    gt, pred = make_semantic(tmp_path)
    (tmp_path / "taken").write_text("x")
    res = runner.invoke(app, ["report", "semantic", str(gt), str(pred), "--num-classes", "3", "--out",
                              str(tmp_path / "taken"), "--jobs", "1"])
    assert res.exit_code == 2 and "exists and is not a folder" in res.output
    assert (tmp_path / "taken").read_text() == "x"
