"""Distributed evaluation gives bit for bit the single-process numbers, for the three tasks."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from panoptix.core.errors import FormatError, ValidationError
from panoptix.distributed.evaluate import (OrderedStates, _finish, evaluate_distributed, evaluate_shard, merge_tree,
                                           plan_shards)
from panoptix.metrics.instance import evaluate_coco
from panoptix.metrics.panoptic import evaluate_panoptic_folder
from panoptix.metrics.semantic import evaluate_semantic_folder


def _random_merge(task, plan, opts, gt, pred, seed):
    """Evaluate every shard here, then merge them in a random order and a random tree shape."""
    states = [evaluate_shard(task, s, gt, pred, **opts) for s in plan.shards]
    rng = random.Random(seed)
    rng.shuffle(states)
    return _finish(task, merge_tree(states, rng.choice([2, 3])), opts)


# --------------------------------------------------------------------------- instance
def test_instance_equals_single_process_on_cluster(dask_client, instance_data):
    gt, res = instance_data
    ref = evaluate_coco(gt, res, jobs=1)
    assert ref["AP"] > 0.1  # the data is not trivial
    assert ref.extra["ignored"]["dt_unknown_category"] > 0
    seen = []
    got = evaluate_distributed("instance", gt, res, client=dask_client, shard_size=5,
                               progress=lambda done, total: seen.append((done, total)))
    assert got.to_json() == ref.to_json()
    assert got.extra["per_image"]["image_id"] == ref.extra["per_image"]["image_id"]
    assert np.array_equal(got.extra["precision"], ref.extra["precision"])
    assert seen[-1] == (24, 24) and len(seen) == 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_instance_shards_merged_in_random_order(instance_data, seed):
    gt, res = instance_data
    ref = evaluate_coco(gt, res, jobs=1)
    plan, opts = plan_shards("instance", gt, res, shard_size=1 + seed * 3)
    with plan:
        got = _random_merge("instance", plan, opts, gt, res, seed)
    assert got.to_json() == ref.to_json()


def test_instance_options_reach_the_workers(dask_client, instance_data):
    gt, res = instance_data
    ref = evaluate_coco(gt, res, iou_type="bbox", max_dets=(1, 5, 20), jobs=1)
    got = evaluate_distributed("instance", gt, res, client=dask_client, shard_size=7, iou_type="bbox",
                               max_dets=(1, 5, 20))
    assert got.to_json() == ref.to_json()
    assert got.to_json() != evaluate_coco(gt, res, jobs=1).to_json()


def test_instance_first_record_rule_holds_per_shard(tmp_path, instance_data):
    """pycocotools takes areas from boxes only when the file's *first* detection has a box.
    Here it has none, but later ones (first of their shard) do: the numbers must not change."""
    gt, res = instance_data
    dets = json.loads(res.read_text())
    for k, d in enumerate(dets):
        if k > 0 and k % 3 == 0:
            d["bbox"] = [0.0, 0.0, 1.0, 1.0]  # box area 1: would move detections to "small"
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(dets))
    ref = evaluate_coco(gt, path, jobs=1)
    assert ref.to_json() == evaluate_coco(gt, res, jobs=1).to_json()
    plan, opts = plan_shards("instance", gt, path, shard_size=2)
    with plan:
        got = _random_merge("instance", plan, opts, gt, path, 5)
    assert got.to_json() == ref.to_json()


def test_instance_bad_detection_names_the_users_file(dask_client, tmp_path, instance_data):
    gt, res = instance_data
    dets = json.loads(res.read_text())
    bad = len(dets) - 3
    dets[bad]["score"] = "high"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(dets))
    with pytest.raises(FormatError) as single:
        evaluate_coco(gt, path, jobs=1)
    with pytest.raises(FormatError) as dist:
        evaluate_distributed("instance", gt, path, client=dask_client, shard_size=4)
    err = dist.value
    assert err.file == str(path)
    assert err.image_id == dets[bad]["image_id"]
    assert f"#{bad + 1}" in str(err)  # counted in the whole file, not in the shard
    assert str(err) == str(single.value)


def test_instance_unknown_option_fails_before_any_work(instance_data):
    gt, res = instance_data
    with pytest.raises(ValueError):
        evaluate_distributed("instance", gt, res, address="local:1", iou_type="keypoints")


# --------------------------------------------------------------------------- panoptic
def test_panoptic_equals_single_process_on_cluster(dask_client, panoptic_data):
    gt, pred = panoptic_data
    ref = evaluate_panoptic_folder(gt, pred, jobs=1)
    assert 0.2 < ref["PQ"] < 0.95
    got = evaluate_distributed("panoptic", gt, pred, client=dask_client, shard_size=16)
    assert got.to_json() == ref.to_json()
    assert got.extra["per_image"] == ref.extra["per_image"]
    assert got.extra["images"] == ref.extra["images"] == 40


@pytest.mark.parametrize("seed", [0, 1])
def test_panoptic_shards_merged_in_random_order(panoptic_data, seed):
    gt, pred = panoptic_data
    ref = evaluate_panoptic_folder(gt, pred, jobs=1)
    plan, opts = plan_shards("panoptic", gt, pred, shard_size=5)  # rounded up to whole 16-image chunks
    with plan:
        assert [len(s.image_ids) for s in plan.shards] == [16, 16, 8]
        got = _random_merge("panoptic", plan, opts, gt, pred, seed)
    assert got.to_json() == ref.to_json()


def test_panoptic_merge_order_matters_without_ordered_states(panoptic_data):
    """Why OrderedStates exists: float sums of IoU merged in another order can differ in the
    last bit; folding chunk states in chunk order gives the single-process sums exactly."""
    gt, pred = panoptic_data
    plan, opts = plan_shards("panoptic", gt, pred, shard_size=16)
    with plan:
        states = [evaluate_shard("panoptic", s, gt, pred, **opts) for s in plan.shards]
    chunks = [c for st in states for _, c in st.states]
    assert isinstance(states[0], OrderedStates) and len(chunks) == 3
    folded = OrderedStates(states[0].base, [(k, c) for k, c in enumerate(chunks)]).folded()
    left = states[0].base.__class__(opts["taxonomy"])
    for c in chunks:
        left.merge(c)
    assert np.array_equal(folded.iou, left.iou) and np.array_equal(folded.tp, left.tp)


def test_panoptic_missing_prediction_is_an_error(dask_client, tmp_path, panoptic_data):
    gt, pred = panoptic_data
    data = json.loads(pred.read_text())
    dropped = data["annotations"].pop(7)["image_id"]
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValidationError) as exc:
        evaluate_distributed("panoptic", gt, path, client=dask_client, pred_folder=pred.with_suffix(""))
    assert exc.value.image_id == dropped and exc.value.file == str(path)
    assert "no prediction" in str(exc.value)


def test_panoptic_bad_png_error_comes_back_from_the_worker(dask_client, tmp_path, panoptic_data):
    import shutil

    gt, pred = panoptic_data
    folder = tmp_path / "pred"
    shutil.copytree(pred.with_suffix(""), folder)
    victim = sorted(folder.iterdir())[5]
    victim.write_bytes(b"not a png")
    with pytest.raises(FormatError) as exc:
        evaluate_distributed("panoptic", gt, pred, client=dask_client, pred_folder=folder)
    assert exc.value.file == str(victim)


# --------------------------------------------------------------------------- semantic
def test_semantic_equals_single_process_on_cluster(dask_client, semantic_data):
    gt, pred = semantic_data
    ref = evaluate_semantic_folder(gt, pred, 5, jobs=1)
    got = evaluate_distributed("semantic", gt, pred, client=dask_client, shard_size=3, num_classes=5)
    assert got.to_json() == ref.to_json()
    assert got.extra["confusion"] == ref.extra["confusion"]
    assert got.extra["images"] == 20


@pytest.mark.parametrize("options", [{}, {"convention": "detectron2", "reduce_zero_label": True}])
def test_semantic_shards_merged_in_random_order(semantic_data, options):
    gt, pred = semantic_data
    ref = evaluate_semantic_folder(gt, pred, 5, jobs=1, **options)
    plan, opts = plan_shards("semantic", gt, pred, shard_size=4, num_classes=5, **options)
    got = _random_merge("semantic", plan, opts, gt, pred, 3)
    assert got.to_json() == ref.to_json()


def test_semantic_needs_num_classes_and_known_task(semantic_data):
    gt, pred = semantic_data
    with pytest.raises(ValidationError, match="num_classes"):
        evaluate_distributed("semantic", gt, pred, address="local:1")
    with pytest.raises(ValidationError, match="unknown task"):
        evaluate_distributed("depth", gt, pred, address="local:1")


def test_semantic_value_out_of_range_names_image(dask_client, tmp_path, semantic_data):
    import shutil

    from PIL import Image

    gt, pred = semantic_data
    folder = tmp_path / "pred"
    shutil.copytree(pred, folder)
    victim = folder / "a" / "0003.png"
    arr = np.array(Image.open(victim))
    arr[0, 0] = 9
    Image.fromarray(arr).save(victim)
    with pytest.raises(ValidationError) as exc:
        evaluate_distributed("semantic", gt, folder, client=dask_client, num_classes=5)
    assert exc.value.file == str(victim) and exc.value.image_id == "a/0003.png"
    assert "predicted value 9" in str(exc.value)


def test_instance_through_fsspec_urls(dask_client, tmp_path, instance_data):
    """Inputs read as fsspec streams and shards kept under a URL workdir (as s3://... would be):
    the workers fetch their shard files, and the folder is removed afterwards."""
    gt, res = instance_data
    ref = evaluate_coco(gt, res, jobs=1)
    work = tmp_path / "work"
    work.mkdir()
    got = evaluate_distributed("instance", gt.as_uri(), res.as_uri(), client=dask_client, shard_size=6,
                               workdir=work.as_uri())
    assert got.to_json() == ref.to_json()
    assert list(work.iterdir()) == []  # the uploaded shard folder is gone
