"""``panoptix predict``: COCO / PNG outputs that the readers, validator and evaluators accept."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from panoptix.cli.main import app
from panoptix.io import read_dataset, read_results, write_dataset

from .conftest import COCO_TINY, need_data

runner = CliRunner()
LOOSE_ARGS = ["--threshold", "0", "--mask-threshold", "0.05", "--overlap-threshold", "0"]


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _problems(ds):
    out = []
    for sample in ds:
        info = sample.image
        for kind in sample.kinds:
            label = getattr(sample, kind)
            assert tuple(label.shape) == (info.height, info.width)
            out += label.problems(ds.taxonomy, image_id=info.id)
    return out


@pytest.fixture(scope="module")
def coco80(tiny):
    """A tiny Mask2Former whose labels are the 80 COCO classes (names as in the annotation file)."""
    need_data()
    cats = json.loads((COCO_TINY / "instances_val2017.json").read_text())["categories"]
    return tiny("mask2former", labels=[c["name"] for c in cats])


def test_done_when_coco_panoptic_for_coco_tiny_is_valid_and_evaluates(coco80, tmp_path):
    from panopticapi.evaluation import pq_compute_multi_core

    from panoptix.metrics.panoptic import evaluate_panoptic_folder

    out = tmp_path / "pred"
    res = _run("predict", "--model", coco80, COCO_TINY / "val2017", "--out", out, "--categories",
               COCO_TINY / "instances_val2017.json", "--batch-size", 8, "--max-side", 96, "--device", "cpu",
               *LOOSE_ARGS)
    assert res.exit_code == 0, res.output
    index = json.loads((out / "predictions.json").read_text())
    assert len(index["images"]) == len(index["annotations"]) == 80
    assert len(list((out / "predictions").glob("*.png"))) == 80
    assert {c["id"] for c in index["categories"]} == {c["id"] for c in json.loads(
        (COCO_TINY / "instances_val2017.json").read_text())["categories"]}
    gt_images = {im["file_name"]: im for im in json.loads((COCO_TINY / "instances_val2017.json").read_text())["images"]}
    for im in index["images"]:  # ids and sizes are the real COCO ones
        ref = gt_images[im["file_name"]]
        assert (ref["id"], ref["height"], ref["width"]) == (im["id"], im["height"], im["width"])
    assert sum(len(a["segments_info"]) for a in index["annotations"]) > 0
    # Validator: every invariant of every image holds (reads each PNG against its record).
    check = _run("validate", out / "predictions.json")
    assert check.exit_code == 0, check.output
    assert "valid" in check.output and "80 images" in check.output and "coco-panoptic" in check.output
    # Evaluators: panoptic ground truth made from the instance annotations of 16 of the images
    # (conversion is the slow part), then PQ by panoptix and by panopticapi.
    from panoptix.io import Dataset

    gt = read_dataset(COCO_TINY / "instances_val2017.json")
    gt = Dataset(gt.taxonomy, gt.images[:16], gt.load, source=gt.source, format=gt.format)
    write_dataset(gt, tmp_path / "gt" / "panoptic.json", "coco-panoptic")
    result = evaluate_panoptic_folder(tmp_path / "gt" / "panoptic.json", out / "predictions.json", jobs=1)
    assert 0.0 <= result["PQ"] <= 1.0
    # The reference (panopticapi; its pq_compute divides by zero without stuff classes, so the
    # per-image part is called and averaged over all classes).
    gt_json = json.loads((tmp_path / "gt" / "panoptic.json").read_text())
    by_id = {a["image_id"]: a for a in index["annotations"]}
    pairs = [(a, by_id[a["image_id"]]) for a in gt_json["annotations"]]
    stat = pq_compute_multi_core(pairs, str(tmp_path / "gt" / "panoptic"), str(out / "predictions"),
                                 {c["id"]: c for c in gt_json["categories"]})
    ref, _ = stat.pq_average({c["id"]: c for c in gt_json["categories"]}, isthing=None)
    assert np.isclose(ref["pq"], result["PQ"])
    ev = _run("eval", "panoptic", tmp_path / "gt" / "panoptic.json", out / "predictions.json", "--jobs", 1)
    assert ev.exit_code == 0, ev.output
    assert "Panoptic quality (16 images)" in ev.output


def test_eval_accepts_instance_and_semantic_outputs(coco80, tiny, tmp_path):
    """``panoptix eval instance`` / ``eval semantic`` read the files as written, against real ground truth."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    names = sorted(p.name for p in (COCO_TINY / "val2017").glob("*.jpg"))[:4]
    for n in names:
        shutil.copy(COCO_TINY / "val2017" / n, folder / n)
    full = json.loads((COCO_TINY / "instances_val2017.json").read_text())
    ids = {im["id"] for im in full["images"] if im["file_name"] in names}
    gt_json = tmp_path / "gt.json"  # the ground truth of these 4 images only: a quicker evaluation
    gt_json.write_text(json.dumps({**full, "images": [im for im in full["images"] if im["id"] in ids],
                                   "annotations": [a for a in full["annotations"] if a["image_id"] in ids]}))
    common = ["--categories", gt_json, "--ids-from", gt_json, "--max-side", 96, "--device", "cpu"]
    res = _run("predict", "-m", coco80, folder, "-o", tmp_path / "inst", "--task", "instance", *common, *LOOSE_ARGS)
    assert res.exit_code == 0, res.output
    ev = _run("eval", "instance", gt_json, tmp_path / "inst" / "results.json", "--jobs", 1)
    assert ev.exit_code == 0, ev.output
    # Semantic: a SegFormer speaking the 80 COCO classes (ids up to 90) against semantic PNGs made
    # from the instance annotations of the same images.
    seg_model = tiny("segformer", labels=[c["name"] for c in full["categories"]])
    res = _run("predict", "-m", seg_model, folder, "-o", tmp_path / "sem", *common)
    assert res.exit_code == 0, res.output
    write_dataset(read_dataset(gt_json), tmp_path / "gt-sem", "semantic-png")
    ev = _run("eval", "semantic", tmp_path / "gt-sem", tmp_path / "sem" / "predictions", "--num-classes", 91,
              "--jobs", 1)
    assert ev.exit_code == 0, ev.output
    assert "4 images" in ev.output


def test_coco_instances_output(tiny, coco_images, tmp_path):
    out = tmp_path / "inst"
    res = _run("predict", "-m", tiny("mask2former"), *coco_images[:3], "-o", out, "--task", "instance",
               "--device", "cpu", *LOOSE_ARGS)
    assert res.exit_code == 0, res.output
    ds = read_dataset(out / "predictions.json")
    assert ds.format == "coco-instances" and len(ds) == 3 and _problems(ds) == []
    samples = list(ds)
    assert sum(len(s.instances) for s in samples) > 0
    assert all("score" in a for a in json.loads((out / "predictions.json").read_text())["annotations"])
    results = json.loads((out / "results.json").read_text())
    assert isinstance(results, list) and len(results) == sum(len(s.instances) for s in samples)
    assert set(results[0]) == {"image_id", "category_id", "segmentation", "bbox", "area", "score"}
    scored = list(read_results(out / "results.json", out / "predictions.json"))
    assert sum(len(s.instances) for s in scored) == len(results)
    assert all(s.instances.scores is not None and ((s.instances.scores >= 0) & (s.instances.scores <= 1)).all()
               for s in scored)
    for a, b in zip(samples, scored):  # the same masks either way
        assert np.array_equal(a.instances.masks(), b.instances.masks())


def test_semantic_png_output_and_derived_kinds(tiny, coco_images, tmp_path):
    seg_model = tiny("segformer")
    out = tmp_path / "sem"
    res = _run("predict", "-m", seg_model, *coco_images[:2], "-o", out, "--device", "cpu")
    assert res.exit_code == 0, res.output
    pngs = sorted((out / "predictions").glob("*.png"))
    assert [p.stem for p in pngs] == sorted(p.stem for p in coco_images[:2])
    assert (out / "predictions" / "categories.json").is_file()
    ds = read_dataset(out / "predictions")
    assert ds.format == "semantic-png" and _problems(ds) == []
    from panoptix.models import load

    direct = load(seg_model, device="cpu").predict(coco_images[0]).semantic.labels
    got = next(s for s in ds if s.image.file_name.startswith(coco_images[0].stem)).semantic.labels
    assert np.array_equal(direct, got)
    # A semantic model asked for COCO panoptic: the panoptic labels are derived (panoptix.convert).
    res = _run("predict", "-m", seg_model, *coco_images[:2], "-o", tmp_path / "pan", "--format", "coco-panoptic",
               "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert "derived" in res.stderr
    pan = read_dataset(tmp_path / "pan" / "predictions.json")
    assert len(pan) == 2 and _problems(pan) == []


def test_resume_skips_finished_images(tiny, coco_images, tmp_path):
    model = tiny("mask2former")
    out = tmp_path / "run"
    args = ["predict", "-m", model, *coco_images[:3], "-o", out, "--device", "cpu", *LOOSE_ARGS]
    assert _run(*args).exit_code == 0
    kept = out / "predictions" / f"{coco_images[0].stem}.png"
    stamp = kept.stat().st_mtime_ns
    first = json.loads((out / "predictions.json").read_text())
    # An interrupted run: the last image's record and PNG are missing, the index is stale.
    (out / ".panoptix-predict" / "records" / f"{coco_images[2].stem}.json").unlink()
    (out / "predictions" / f"{coco_images[2].stem}.png").unlink()
    (out / "predictions.json").unlink()
    res = _run(*args)
    assert res.exit_code == 0, res.output
    assert "resuming: 2 of 3 images already done" in res.stderr
    assert kept.stat().st_mtime_ns == stamp  # not redone
    assert json.loads((out / "predictions.json").read_text()) == first
    # Other settings on the same folder: refused, unless --overwrite.
    res = _run("predict", "-m", model, *coco_images[:3], "-o", out, "--device", "cpu")
    assert res.exit_code == 2 and "other settings (options differ)" in res.stderr
    res = _run("predict", "-m", model, *coco_images[:3], "-o", out, "--device", "cpu", "--overwrite")
    assert res.exit_code == 0, res.output and kept.stat().st_mtime_ns != stamp


def test_unreadable_image_is_one_red_line_and_no_index(tiny, coco_images, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    shutil.copy(coco_images[0], folder / "a.jpg")
    (folder / "b.jpg").write_bytes(b"\xff\xd8 truncated")
    res = _run("predict", "-m", tiny("segformer"), folder, "-o", tmp_path / "out", "--device", "cpu",
               "--batch-size", 1)
    assert res.exit_code == 2
    assert "b.jpg" in res.stderr and "not a readable image" in res.stderr
    assert "Traceback" not in res.output and len(res.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "out" / "predictions" / "categories.json").exists()
    assert (tmp_path / "out" / "predictions" / "a.png").exists()  # finished work stays, for resuming


def test_other_bad_input(tiny, coco_images, tmp_path):
    (tmp_path / "noconfig").mkdir()
    res = _run("predict", "-m", tmp_path / "noconfig", coco_images[0], "-o", tmp_path / "o")
    assert res.exit_code == 2 and "no config.json" in res.stderr and "Traceback" not in res.output
    res = _run("predict", "-m", tiny("segformer"), tmp_path / "missing.jpg", "-o", tmp_path / "o")
    assert res.exit_code == 2 and "missing.jpg: no such image file or folder" in res.stderr
    (tmp_path / "empty").mkdir()
    res = _run("predict", "-m", tiny("segformer"), tmp_path / "empty", "-o", tmp_path / "o")
    assert res.exit_code == 2 and "no images found" in res.stderr
    res = _run("predict", "-m", tiny("segformer"), coco_images[0], "-o", tmp_path / "o", "--format", "yolo")
    assert res.exit_code == 2 and "unknown --format 'yolo'" in res.stderr
    res = _run("predict", "-m", tiny("segformer"), coco_images[0], "-o", tmp_path / "o", "--task", "all")
    assert res.exit_code == 2 and "pick one task" in res.stderr
    (tmp_path / "afile").write_text("x")
    res = _run("predict", "-m", tiny("segformer"), coco_images[0], "-o", tmp_path / "afile", "--device", "cpu")
    assert res.exit_code == 2 and "--out must be a folder" in res.stderr


def test_grayscale_rgba_and_16bit_inputs_and_ids_from(tiny, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).save(folder / "gray.png")
    Image.fromarray(rng.integers(0, 256, (20, 50, 4), dtype=np.uint8)).save(folder / "rgba.png")
    Image.fromarray(rng.integers(0, 60000, (25, 35)).astype(np.uint16)).save(folder / "deep.png")
    coco = {"images": [{"id": 7, "file_name": "gray.png"}, {"id": 8, "file_name": "rgba.png"},
                       {"id": 9, "file_name": "deep.png"}]}
    (tmp_path / "ids.json").write_text(json.dumps(coco))
    out = tmp_path / "out"
    res = _run("predict", "-m", tiny("mask2former"), folder, "-o", out, "--ids-from", tmp_path / "ids.json",
               "--device", "cpu", *LOOSE_ARGS)
    assert res.exit_code == 0, res.output
    index = json.loads((out / "predictions.json").read_text())
    sizes = {im["id"]: (im["file_name"], im["height"], im["width"]) for im in index["images"]}
    assert sizes == {7: ("gray.png", 30, 40), 8: ("rgba.png", 20, 50), 9: ("deep.png", 25, 35)}
    assert _problems(read_dataset(out / "predictions.json")) == []
    (tmp_path / "ids2.json").write_text(json.dumps({"images": coco["images"][:1]}))
    res = _run("predict", "-m", tiny("mask2former"), folder, "-o", tmp_path / "o2", "--ids-from",
               tmp_path / "ids2.json")
    assert res.exit_code == 2 and "no image named" in res.stderr


def test_text_prompt_classes_from_the_command_line(tiny, coco_images, tmp_path):
    out = tmp_path / "clip"
    res = _run("predict", "-m", tiny("clipseg"), *coco_images[:2], "-o", out, "--task", "semantic", "--classes",
               "cat, remote control", "--threshold", "0.3", "--device", "cpu")
    assert res.exit_code == 0, res.output
    cats = json.loads((out / "predictions" / "categories.json").read_text())
    assert [(c["id"], c["name"]) for c in cats] == [(1, "cat"), (2, "remote control")]
    ds = read_dataset(out / "predictions")
    assert len(ds) == 2 and _problems(ds) == []
    res = _run("predict", "-m", tiny("segformer"), coco_images[0], "-o", tmp_path / "x", "--classes", "cat",
               "--device", "cpu")
    assert res.exit_code == 2 and "bad option for SemanticSegmenter" in res.stderr


def test_dask_option_writes_the_same_outputs(tiny, coco_images, tmp_path):
    """`--dask local:2`: the model runs in Dask workers; the files match a single-process run."""
    model = tiny("segformer")
    single, dist = tmp_path / "single", tmp_path / "dask"
    base = ["predict", "-m", model, *coco_images[:3], "--device", "cpu", "--format", "semantic-png"]
    assert _run(*base, "-o", single).exit_code == 0
    res = _run(*base, "-o", dist, "--dask", "local:2")
    assert res.exit_code == 0, res.output
    pngs = sorted(p.relative_to(single).as_posix() for p in single.rglob("*.png"))
    assert len(pngs) == 3 and pngs == sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*.png"))
    for name in pngs:
        assert np.array_equal(np.array(Image.open(single / name)), np.array(Image.open(dist / name))), name
