"""SegFormer and UperNet: semantic only; other kinds derived through panoptix.convert."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from panoptix.core import ValidationError
from panoptix.models import load
from panoptix.models.transformers_semantic import SemanticSegmenter


@pytest.mark.parametrize("kind", ["segformer", "upernet"])
def test_semantic_models(tiny, coco_images, kind):
    seg = load(tiny(kind, labels=["wall", "floor", "person"]), device="cpu", batch_size=2,
               categories=[{"id": 1, "name": "wall", "isthing": 0}, {"id": 2, "name": "floor", "isthing": 0},
                           {"id": 12, "name": "person", "isthing": 1}])
    assert isinstance(seg, SemanticSegmenter) and seg.tasks == ("semantic",)
    preds = seg.predict(coco_images[:3])
    for pred, path in zip(preds, coco_images):
        w, h = Image.open(path).size
        assert pred.kinds == ["semantic"] and pred.shape == (h, w)
        labels = pred.semantic.labels
        assert labels.dtype == np.uint8 and set(np.unique(labels).tolist()) <= {1, 2, 12}
        assert pred.problems() == []
    # A random model still varies over an image: more than one class somewhere.
    assert any(len(np.unique(p.semantic.labels)) > 1 for p in preds)
    # Instances and panoptic come from panoptix.convert.
    pan = preds[0].get("panoptic")
    assert pan.shape == preds[0].shape and pan.problems(seg.taxonomy) == []
    inst = preds[0].get("instances")
    assert set(inst.category_ids.tolist()) <= {12}
    with pytest.raises(ValidationError, match="does not do panoptic"):
        seg.predict(coco_images[0], task="panoptic")


def test_semantic_batches_match_single_images(tiny, coco_images):
    # SegFormer's processor resizes every image to one square size: no padding, so a batch
    # gives the same labels as one image at a time.
    seg = load(tiny("segformer"), device="cpu", batch_size=3)
    batched = seg.predict(coco_images[:3])
    for path, b in zip(coco_images[:3], batched):
        assert np.array_equal(seg.predict(path).semantic.labels, b.semantic.labels)
