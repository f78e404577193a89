"""SAM: point and box prompts, the embedding cache, everything mode."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from panoptix.core import ValidationError
from panoptix.core import masks as M
from panoptix.models import load
from panoptix.models.sam import PromptResult, SamSegmenter


@pytest.fixture(scope="module")
def sam(tiny):
    return load(tiny("sam"), device="cpu", points_per_side=4, pred_iou_thresh=-1e9, stability_score_thresh=0.0,
                nms_thresh=0.7)


@pytest.fixture
def photo(coco_images):
    return np.asarray(Image.open(coco_images[0]).convert("RGB"))


def _count_encoder_runs(sam):
    calls = []
    handle = sam.model.vision_encoder.register_forward_hook(lambda *a: calls.append(1))
    return calls, handle


def test_points_and_boxes_give_scored_masks(sam, photo):
    assert isinstance(sam, SamSegmenter)
    h, w = photo.shape[:2]
    res = sam.segment(photo, points=[(w / 2, h / 2), (5, 5)], labels=[1, 0])
    assert isinstance(res, PromptResult)
    assert res.masks.shape == (3, h, w) and res.masks.dtype == bool
    assert res.scores.shape == (3,) and np.all(np.diff(res.scores) <= 0)  # best first
    assert np.array_equal(res.best, res.masks[0])
    one = sam.segment(photo, box=(10, 10, w - 10, h - 10), multimask=False)
    assert one.masks.shape == (1, h, w)
    both = sam.segment(photo, points=[(w / 2, h / 2)], box=(10, 10, w - 10, h - 10))
    assert both.masks.shape == (3, h, w)
    inst = res.to_instances(category_id=1)
    assert len(inst) == 1 and inst.scores[0] == res.scores[0] and inst.shape == (h, w)
    assert len(res.to_instances(best_only=False)) == 3


def test_each_new_click_reuses_the_image_embedding(sam, photo, coco_images):
    sam.clear_cache()
    calls, handle = _count_encoder_runs(sam)
    try:
        h, w = photo.shape[:2]
        first = sam.segment(photo, points=[(w / 3, h / 3)])
        second = sam.segment(photo, points=[(w / 3, h / 3), (w / 2, h / 2)], labels=[1, 0])
        third = sam.segment(photo.copy(), box=(0, 0, w // 2, h // 2))  # same pixels, new array: same key
        assert len(calls) == 1
        info = sam.cache_info()
        assert info["misses"] >= 1 and info["hits"] >= 2 and info["size"] == 1
        other = np.asarray(Image.open(coco_images[1]).convert("RGB"))
        sam.segment(other, points=[(4, 4)])
        assert len(calls) == 2 and sam.cache_info()["size"] == 2
        # Same prompt, same embedding: same answer.
        again = sam.segment(photo, points=[(w / 3, h / 3)])
        assert len(calls) == 2 and np.array_equal(again.masks, first.masks)
        assert second.masks.shape == third.masks.shape == (3, h, w)
    finally:
        handle.remove()


def test_cache_keys_and_eviction(tiny, photo):
    small = load(tiny("sam"), device="cpu", cache_size=1)
    small.segment(photo, points=[(1, 1)], key="a")
    small.segment(photo[:, ::-1].copy(), points=[(1, 1)], key="b")  # evicts "a"
    small.segment(photo, points=[(1, 1)], key="a")
    assert small.cache_info() == {"hits": 0, "misses": 3, "size": 1, "maxsize": 1}


def test_prompt_coordinates_are_scaled_to_the_model_frame(sam, photo):
    emb = sam.embed(photo)
    h, w = photo.shape[:2]
    rh, rw = emb.reshaped_size
    assert max(rh, rw) == 64 and emb.original_size == (h, w)
    assert np.allclose(sam._scale(emb, np.array([[w, h], [0, 0]])), [[rw, rh], [0, 0]])


def test_bad_prompts_are_clear_errors(sam, photo):
    h, w = photo.shape[:2]
    with pytest.raises(ValidationError, match="needs a prompt"):
        sam.segment(photo)
    with pytest.raises(ValidationError, match="2 points but 1 labels"):
        sam.segment(photo, points=[(1, 1), (2, 2)], labels=[1])
    with pytest.raises(ValidationError, match="1 \\(object\\) or 0"):
        sam.segment(photo, points=[(1, 1)], labels=[3])
    with pytest.raises(ValidationError, match="outside"):
        sam.segment(photo, points=[(w + 5, 1)])
    with pytest.raises(ValidationError, match="x1 > x0"):
        sam.segment(photo, box=(10, 10, 5, 20))


def test_everything_mode_gives_distinct_class_agnostic_instances(sam, coco_images):
    preds = sam.predict(coco_images[:2])
    for pred, path in zip(preds, coco_images):
        w, h = Image.open(path).size
        inst = pred.instances
        assert pred.kinds == ["instances"] and inst.shape == (h, w)
        assert len(inst) >= 1 and set(inst.category_ids.tolist()) == {1}
        assert inst.scores is not None and np.all(np.diff(inst.scores) <= 0)
        ious = M.iou(inst.rles, inst.rles, [0] * len(inst))
        assert (ious[~np.eye(len(inst), dtype=bool)] <= 0.7 + 1e-9).all()  # NMS
        assert pred.problems() == []
    none = load(sam.name, device="cpu", points_per_side=2, pred_iou_thresh=2.0)  # no IoU reaches 2
    empty = none.predict(coco_images[0]).instances
    assert len(empty) == 0 and empty.scores is not None
