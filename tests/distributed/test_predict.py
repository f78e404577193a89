"""Prediction over a LocalCluster: outputs shard by shard, one model load per worker, resumable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from panoptix.core.errors import FormatError, OutputError, PanoptixError, ValidationError
from panoptix.distributed.predict import plan_images, predict_distributed


def make_segmenter(fail_marker: str | None = None, load_log: str | None = None):
    """A classical segmenter (bright pixels are "blob", a thing; the rest "ground", stuff),
    defined in a function so that it travels to the workers by value."""
    from scipy import ndimage

    from panoptix.core import Category, Instances, SemanticMap, Taxonomy
    from panoptix.models.base import BaseSegmenter, Prediction

    class Threshold(BaseSegmenter):
        name = "threshold"

        def __init__(self):
            tax = Taxonomy([Category(1, "ground", isthing=False), Category(2, "blob")])
            super().__init__(tax, tasks=("semantic", "instance", "panoptic"), default_task="semantic", batch_size=2)
            if load_log:
                with open(load_log, "a") as fh:
                    fh.write(f"{os.getpid()}\n")

        def _predict_batch(self, images, task):
            out = []
            for im in images:
                if fail_marker and os.path.exists(fail_marker) and int(im[0, 0, 1]) == 77:
                    os.unlink(fail_marker)  # fail once, like a worker lost half-way
                    raise PanoptixError("simulated failure")
                bright = im.mean(axis=2) > 128
                sem = SemanticMap(np.where(bright, 2, 1).astype(np.uint8))
                comp, n = ndimage.label(bright)
                masks = np.stack([comp == k for k in range(1, n + 1)]) if n else np.zeros((0,) + bright.shape, bool)
                inst = Instances.from_masks(masks, [2] * n, scores=[0.5 + 0.1 * (k % 5) for k in range(n)])
                out.append(Prediction(semantic=sem, instances=inst, taxonomy=self.taxonomy))
            return out

    return Threshold


@pytest.fixture()
def photos(tmp_path):
    """Ten small photos with bright blobs; numeric names (COCO style ids)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(10):
        im = np.full((20, 30, 3), 40, np.uint8)
        for _ in range(1 + i % 3):
            y, x = rng.integers(0, 15), rng.integers(0, 25)
            im[y:y + 4, x:x + 5] = 220
        im[0, 0, 1] = 77 if i == 6 else 40
        Image.fromarray(im).save(folder / f"{100 + i:06d}.png")
    return folder


def test_semantic_png_matches_local_prediction(dask_client, photos, tmp_path):
    seg = make_segmenter()()
    out = tmp_path / "out"
    report = predict_distributed(seg, photos, out, client=dask_client, format="semantic-png", batch_size=2,
                                 shard_size=3)
    assert (report.predicted, report.skipped, report.shards) == (10, 0, 4)
    for p in sorted(photos.iterdir()):  # the layout of panoptix predict
        got = np.array(Image.open(out / "predictions" / p.name))
        assert np.array_equal(got, seg.predict(str(p)).semantic.labels)
    assert report.index == out / "predictions" / "categories.json"
    assert [c["id"] for c in json.loads(report.index.read_text())] == [1, 2]


def test_model_loaded_once_per_worker_and_resumable(dask_client, photos, tmp_path):
    log = tmp_path / "loads.txt"
    cls = make_segmenter(load_log=str(log))
    out = tmp_path / "out"
    first = predict_distributed(cls, photos, out, client=dask_client, format="coco-instances", batch_size=1,
                                shard_size=1)
    assert first.predicted == 10 and first.shards == 10
    pids = log.read_text().split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids)  # one load per worker process, not per shard
    results = json.loads((out / "results.json").read_text())
    assert sorted({r["image_id"] for r in results}) == list(range(100, 110))
    assert all(set(r) >= {"image_id", "category_id", "segmentation", "score", "bbox"} for r in results)
    # Lose three images' outputs: only those are predicted again, and the file is the same.
    coco = json.loads((out / "predictions.json").read_text())
    assert len(coco["annotations"]) == len(results) and len(coco["images"]) == 10
    for stem in ("000101", "000104", "000109"):
        (out / ".panoptix-predict" / "records" / f"{stem}.json").unlink()
    again = predict_distributed(cls, photos, out, client=dask_client, format="coco-instances", batch_size=1,
                                shard_size=1)
    assert (again.predicted, again.skipped) == (3, 7)
    assert json.loads((out / "results.json").read_text()) == results
    assert len(log.read_text().split()) == len(pids)  # the workers kept the model


def test_interrupted_run_resumes_and_never_half_writes(dask_client, photos, tmp_path):
    marker = tmp_path / "fail-once"
    marker.write_text("x")
    seg = make_segmenter(fail_marker=str(marker))()
    out = tmp_path / "out"
    with pytest.raises(PanoptixError, match="simulated failure"):
        predict_distributed(seg, photos, out, client=dask_client, format="coco-panoptic", shard_size=1,
                            batch_size=1)
    assert not (out / "predictions.json").exists()  # the index is written last
    done_before = len(list((out / ".panoptix-predict" / "records").glob("*.json")))
    assert 1 <= done_before <= 9
    seg = make_segmenter(fail_marker=str(marker))()  # the marker is gone: no failure now
    report = predict_distributed(seg, photos, out, client=dask_client, format="coco-panoptic", shard_size=1,
                                 batch_size=1)
    # Shards already running when the error came back may have finished since: at least the
    # images done before are skipped, and the failed one is predicted now.
    assert report.skipped >= done_before and report.predicted >= 1
    assert report.predicted + report.skipped == 10
    data = json.loads((out / "predictions.json").read_text())
    assert [a["image_id"] for a in data["annotations"]] == list(range(100, 110))
    assert {c["id"]: c["isthing"] for c in data["categories"]} == {1: 0, 2: 1}
    # Every PNG agrees with its segments (the files read back as a COCO panoptic dataset).
    from panoptix.io import coco_panoptic

    ds = coco_panoptic.read(out / "predictions.json")
    for sample in ds:
        assert sample.panoptic.problems(ds.taxonomy) == []


def test_plan_images_ids_and_names(tmp_path, photos):
    items = plan_images(photos)
    assert [i.image_id for i in items] == list(range(100, 110))
    named = tmp_path / "named"
    (named / "sub").mkdir(parents=True)
    for name in ("b.jpg", "a.png", "sub/c.png", ".hidden.png"):
        Image.new("RGB", (2, 2)).save(named / name)
    (named / "notes.txt").write_text("not an image")
    items = plan_images(named)
    assert [(i.image_id, i.name, i.stem) for i in items] == [(1, "a.png", "a"), (2, "b.jpg", "b"),
                                                             (3, "sub/c.png", "sub/c")]
    assert [i.name for i in plan_images([named / "b.jpg", named / "sub"])] == ["b.jpg", "c.png"]
    Image.new("RGB", (2, 2)).save(named / "a.jpg")
    with pytest.raises(ValidationError, match="would both write a"):
        plan_images(named)
    with pytest.raises(FormatError, match="no images found"):
        plan_images(_empty(tmp_path))
    with pytest.raises(FormatError, match="no such image file or folder"):
        plan_images(tmp_path / "missing")


def _empty(tmp_path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_bad_arguments(photos, tmp_path):
    seg = make_segmenter()()
    with pytest.raises(ValidationError, match="unknown prediction format"):
        predict_distributed(seg, photos, tmp_path / "o", address="local:1", format="voc")
    with pytest.raises(ValidationError, match="holds semantic labels"):
        predict_distributed(seg, photos, tmp_path / "o", address="local:1", format="semantic-png", task="panoptic")
    with pytest.raises(ValidationError, match="batch_size"):
        predict_distributed(seg, photos, tmp_path / "o", address="local:1", task="semantic", batch_size=0)
    with pytest.raises(ValidationError, match="model must be"):
        predict_distributed(42, photos, tmp_path / "o", address="local:1", task="semantic")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="must be a folder"):
        predict_distributed(seg, photos, tmp_path / "file", address="local:1", task="semantic")
    assert not (tmp_path / "o").exists()


def test_default_format_comes_from_the_model(dask_client, photos, tmp_path):
    seg = make_segmenter()()  # default task: semantic
    report = predict_distributed(seg, [photos / "000100.png"], tmp_path / "o", client=dask_client)
    assert report.format == "semantic-png" and report.predicted == 1
