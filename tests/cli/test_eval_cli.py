"""``panoptix eval instance|panoptic|semantic``: the JSON contract, the tables, and bad input
(one red line, exit code 2, no traceback, no JSON written)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from panoptix.cli.main import app

HERE = Path(__file__).resolve().parent
PANOPTIC_KEYS = ["PQ", "SQ", "RQ", "PQ_th", "SQ_th", "RQ_th", "PQ_st", "SQ_st", "RQ_st", "per_class"]
SEMANTIC_KEYS = ["mIoU", "fwIoU", "pAcc", "mAcc", "mDice", "per_class"]
INSTANCE_KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl", "per_class"]


def _load_generator():
    spec = importlib.util.spec_from_file_location("_pan_gen", HERE.parent / "metrics" / "test_panoptic.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def panoptic_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pan")
    gt_json, pred_json = _load_generator().make_dataset(root, seed=5, n_images=6)
    return gt_json, pred_json


@pytest.fixture(scope="module")
def semantic_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sem")
    rng = np.random.default_rng(4)
    for k in range(4):
        gt = rng.integers(0, 4, (16, 20)).astype(np.uint8)
        gt[:2] = 255
        pred = np.where(rng.random((16, 20)) < 0.8, gt, rng.integers(0, 5, (16, 20))).astype(np.uint8)
        pred[pred == 255] = 0
        for d, a in (("gt", gt), ("pred", pred)):
            (root / d).mkdir(exist_ok=True)
            Image.fromarray(a).save(root / d / f"{k}.png")
    return root / "gt", root / "pred"


@pytest.fixture(scope="module")
def instance_data(tmp_path_factory):
    from pycocotools import mask as mu

    root = tmp_path_factory.mktemp("inst")
    images = [{"id": i, "height": 40, "width": 50, "file_name": f"{i}.jpg"} for i in (1, 2)]
    anns, res = [], []
    rng = np.random.default_rng(2)
    aid = 1
    for img in (1, 2):
        for _ in range(3):
            m = np.zeros((40, 50), np.uint8, order="F")
            y, x = rng.integers(0, 25), rng.integers(0, 35)
            m[y:y + 12, x:x + 12] = 1
            rle = mu.encode(m)
            cat = int(rng.integers(1, 3))
            anns.append({"id": aid, "image_id": img, "category_id": cat, "iscrowd": 0, "area": float(mu.area(rle)),
                         "bbox": mu.toBbox(rle).tolist(), "segmentation": {"size": [40, 50],
                                                                           "counts": rle["counts"].decode()}})
            aid += 1
            m2 = np.roll(m, 1, 1)
            r2 = mu.encode(np.asfortranarray(m2))
            res.append({"image_id": img, "category_id": cat, "score": float(rng.random()),
                        "segmentation": {"size": [40, 50], "counts": r2["counts"].decode()}})
    gt = root / "gt.json"
    gt.write_text(json.dumps({"images": images, "annotations": anns,
                              "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]}))
    pred = root / "res.json"
    pred.write_text(json.dumps(res))
    return gt, pred


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


# --------------------------------------------------------------------------- the contract
def test_panoptic_json_contract(panoptic_data, tmp_path):
    from panoptix.metrics import evaluate_panoptic_folder

    gt_json, pred_json = panoptic_data
    out = tmp_path / "pq.json"
    r = invoke("eval", "panoptic", gt_json, pred_json, "--json", out, "--jobs", "2")
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert list(data) == PANOPTIC_KEYS
    ref = evaluate_panoptic_folder(gt_json, pred_json, jobs=1)
    for k in PANOPTIC_KEYS[:-1]:
        assert data[k] == ref[k] and 0 <= data[k] <= 1
    assert set(data["per_class"]) == {str(c) for c in (1, 2, 3, 5, 7, 9, 100, 101, 102, 150)}
    for cid, vals in data["per_class"].items():
        assert list(vals) == ["PQ", "SQ", "RQ"]
    assert data["per_class"]["9"] == {"PQ": None, "SQ": None, "RQ": None}
    assert "Panoptic quality" in r.stdout and "PQ_th" in r.stdout and "thing150" not in r.stdout
    assert "stuff100" in r.stdout


def test_panoptic_folders_can_be_given(panoptic_data, tmp_path):
    import shutil

    gt_json, pred_json = panoptic_data
    shutil.copytree(pred_json.parent / "pred", tmp_path / "elsewhere")
    out = tmp_path / "pq.json"
    r = invoke("eval", "panoptic", gt_json, pred_json, "--pred-dir", tmp_path / "elsewhere",
               "--gt-dir", gt_json.parent / "gt", "--json", out, "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert 0 < json.loads(out.read_text())["PQ"] < 1


def test_semantic_json_contract(semantic_data, tmp_path):
    from panoptix.metrics import evaluate_semantic_folder

    gt_dir, pred_dir = semantic_data
    out = tmp_path / "sem.json"
    r = invoke("eval", "semantic", gt_dir, pred_dir, "--num-classes", 6, "--json", out)
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert list(data) == SEMANTIC_KEYS
    assert list(data["per_class"]) == [str(c) for c in range(6)]
    assert data["per_class"]["5"] == {"IoU": None, "Acc": None, "Dice": None}  # never seen
    assert data["per_class"]["4"]["IoU"] == 0.0 and data["per_class"]["4"]["Acc"] is None  # only predicted
    ref = evaluate_semantic_folder(gt_dir, pred_dir, 6)
    assert all(data[k] == ref[k] and 0 <= data[k] <= 1 for k in SEMANTIC_KEYS[:-1])
    assert "mIoU" in r.stdout and "mmseg" in r.stdout
    out2 = tmp_path / "d2.json"
    r = invoke("eval", "semantic", gt_dir, pred_dir, "--num-classes", 6, "--convention", "detectron2",
               "--reduce-zero-label", "--ignore-index", 255, "--json", out2, "--jobs", 1)
    assert r.exit_code == 0, r.output
    d2 = json.loads(out2.read_text())
    assert d2["per_class"]["4"] == {"IoU": None, "Acc": None, "Dice": None}
    assert d2["mIoU"] != data["mIoU"]


def test_instance_json_contract(instance_data, tmp_path):
    from panoptix.metrics import evaluate_coco

    gt, pred = instance_data
    out = tmp_path / "ap.json"
    r = invoke("eval", "instance", gt, pred, "--json", out, "--jobs", "1")
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert list(data) == INSTANCE_KEYS
    ref = evaluate_coco(gt, pred, jobs=1)
    for k in INSTANCE_KEYS[:-1]:
        assert data[k] == ref[k]
        assert data[k] == -1 or 0 <= data[k] <= 1
    assert 0 < data["AP"] < 1
    assert set(data["per_class"]) == {"1", "2", "3"} and all(list(v) == ["AP"] for v in data["per_class"].values())
    r = invoke("eval", "instance", gt, pred, "--iou-type", "bbox", "--json", out, "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["AP"] == evaluate_coco(gt, pred, iou_type="bbox", jobs=1)["AP"]


def test_every_command_has_help_with_an_example():
    for cmd in ("instance", "panoptic", "semantic"):
        r = invoke("eval", cmd, "--help")
        assert r.exit_code == 0
        assert "Example" in r.stdout and f"panoptix eval {cmd}" in r.stdout


# --------------------------------------------------------------------------- bad input
def _edit(path: Path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _copy(panoptic_data, tmp_path):
    import shutil

    gt_json, _ = panoptic_data
    shutil.copytree(gt_json.parent, tmp_path / "d")
    return tmp_path / "d" / "gt.json", tmp_path / "d" / "pred.json"


def _assert_one_red_line(proc, *fragments):
    code = proc.returncode if hasattr(proc, "returncode") else proc.exit_code
    assert code == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:")
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_panoptic_bad_input_exit_2(panoptic_data, tmp_path, run_cli):
    """In a real process (workers included): the first error in CliRunner, the others in-process."""
    gt_json, pred_json = _copy(panoptic_data, tmp_path)
    out = tmp_path / "out.json"
    first = json.loads(pred_json.read_text())["annotations"][0]
    # a segment in the PNG but not in the JSON
    _edit(pred_json, lambda d: d["annotations"][0]["segments_info"].pop())
    proc = run_cli("eval", "panoptic", gt_json, pred_json, "--json", out)
    _assert_one_red_line(proc, "in the PNG but not in the JSON", f"image {first['image_id']}", first["file_name"])
    assert not out.exists()
    # an unknown category
    _edit(pred_json, lambda d: d["annotations"][0].update(segments_info=first["segments_info"]))
    _edit(pred_json, lambda d: d["annotations"][0]["segments_info"][0].update(category_id=999))
    proc = invoke("eval", "panoptic", gt_json, pred_json, "--json", out, "--jobs", "2")
    _assert_one_red_line(proc, "unknown category id 999", f"image {first['image_id']}")
    # a missing PNG
    _edit(pred_json, lambda d: d["annotations"][0].update(segments_info=first["segments_info"]))
    (pred_json.parent / "pred" / first["file_name"]).unlink()
    proc = invoke("eval", "panoptic", gt_json, pred_json, "--json", out)
    _assert_one_red_line(proc, "file not found", first["file_name"])
    assert not out.exists()


def test_semantic_bad_input_exit_2(semantic_data, tmp_path):
    import shutil

    gt_dir, pred_dir = semantic_data
    shutil.copytree(pred_dir, tmp_path / "pred")
    (tmp_path / "pred" / "2.png").unlink()
    out = tmp_path / "out.json"
    proc = invoke("eval", "semantic", gt_dir, tmp_path / "pred", "--num-classes", 6, "--json", out)
    _assert_one_red_line(proc, "no prediction PNG", "2.png")
    shutil.copy(pred_dir / "2.png", tmp_path / "pred" / "2.png")
    proc = invoke("eval", "semantic", gt_dir, tmp_path / "pred", "--num-classes", 3, "--json", out, "--jobs", 2)
    _assert_one_red_line(proc, "is not a class", ".png")
    assert not out.exists()


def test_instance_bad_input_exit_2(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text("{broken")
    proc = invoke("eval", "instance", gt, tmp_path / "res.json")
    _assert_one_red_line(proc, "gt.json")


def test_unwritable_json_output(semantic_data, tmp_path):
    gt_dir, pred_dir = semantic_data
    (tmp_path / "file").write_text("x")
    proc = invoke("eval", "semantic", gt_dir, pred_dir, "--num-classes", 6, "--json", tmp_path / "file" / "o.json")
    _assert_one_red_line(proc, "cannot write")


def test_usage_errors_are_not_tracebacks(semantic_data):
    gt_dir, pred_dir = semantic_data
    proc = invoke("eval", "semantic", gt_dir, pred_dir)  # --num-classes missing
    assert proc.exit_code == 2 and "Traceback" not in proc.stderr and "--num-classes" in proc.stderr
    proc = invoke("eval", "semantic", gt_dir, pred_dir, "--num-classes", "3", "--jobs", "0")
    assert proc.exit_code == 2 and "Traceback" not in proc.stderr
    proc = invoke("eval", "semantic", gt_dir, pred_dir, "--num-classes", "3", "--convention", "voc")
    assert proc.exit_code == 2 and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- --dask
def test_dask_option_gives_the_same_json(panoptic_data, semantic_data, instance_data, tmp_path):
    """`--dask local:2` shards over a real local Dask cluster: the JSON is identical."""
    gt_json, pred_json = panoptic_data
    gt_dir, pred_dir = semantic_data
    gt, pred = instance_data
    runs = {
        "panoptic": ["eval", "panoptic", gt_json, pred_json],
        "semantic": ["eval", "semantic", gt_dir, pred_dir, "--num-classes", 6],
        "instance": ["eval", "instance", gt, pred],
    }
    for task, args in runs.items():
        single, dist = tmp_path / f"{task}-1.json", tmp_path / f"{task}-dask.json"
        r = invoke(*args, "--json", single, "--jobs", "1")
        assert r.exit_code == 0, r.output
        r = invoke(*args, "--json", dist, "--dask", "local:2")
        assert r.exit_code == 0, r.output
        assert json.loads(dist.read_text()) == json.loads(single.read_text()), task
