"""CLIPSeg: instances and semantic labels of named classes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from panoptix.core import ValidationError
from panoptix.models import load
from panoptix.models.text_prompt import TextPromptSegmenter, components_to_instances


def test_components_to_instances_splits_regions_and_scores_them():
    p = np.zeros((10, 10))
    p[1:3, 1:3] = 0.8
    p[6:9, 5:9] = 0.6
    p[5, 0] = 0.9  # a 1-pixel speck
    inst = components_to_instances(p, 7, threshold=0.5, min_area=2)
    assert len(inst) == 2 and inst.category_ids.tolist() == [7, 7]
    assert sorted(inst.areas.tolist()) == [4.0, 12.0]
    assert np.allclose(sorted(inst.scores.tolist()), [0.6, 0.8])
    assert (inst.masks().sum(0) <= 1).all()
    assert len(components_to_instances(p, 7, threshold=0.95)) == 0
    diagonal = np.eye(4)
    assert len(components_to_instances(diagonal, 1, connectivity=8)) == 1
    assert len(components_to_instances(diagonal, 1, connectivity=4)) == 4


def test_clipseg_classes_give_instances_and_semantic(tiny, coco_images):
    seg = load(tiny("clipseg"), device="cpu", classes=["cat", "remote control"], threshold=0.5, min_area=4)
    assert isinstance(seg, TextPromptSegmenter)
    assert [(c.id, c.name) for c in seg.taxonomy] == [(1, "cat"), (2, "remote control")]
    preds = seg.predict(coco_images[:2], task="all")
    for pred, path in zip(preds, coco_images):
        w, h = Image.open(path).size
        assert pred.kinds == ["semantic", "instances"] and pred.shape == (h, w)
        assert set(np.unique(pred.semantic.labels).tolist()) <= {1, 2, 255}
        inst = pred.instances
        assert set(inst.category_ids.tolist()) <= {1, 2} and (inst.mask_areas >= 4).all()
        assert ((inst.scores >= 0.5) & (inst.scores <= 1)).all()
        assert pred.problems() == []
    # Semantic labels and instances agree: every instance pixel is above the threshold for its class.
    probs = seg.probabilities([np.asarray(Image.open(coco_images[0]).convert("RGB"))], ["cat", "remote control"])[0]
    assert probs.shape[0] == 2 and probs.dtype == np.float32 and 0 <= probs.min() <= probs.max() <= 1
    inst = preds[0].instances
    for k in range(len(inst)):
        c = int(inst.category_ids[k]) - 1
        assert (probs[c][inst.mask(k)] >= 0.5).all()


def test_free_text_and_categories(tiny, coco_images, coco_categories):
    seg = load(tiny("clipseg"), device="cpu", categories=coco_categories[:3], threshold=0.5)
    assert seg.taxonomy.ids == [c["id"] for c in coco_categories[:3]]
    pred = seg.predict(coco_images[0])  # default task: instance
    assert pred.kinds == ["instances"]
    assert set(pred.instances.category_ids.tolist()) <= set(seg.taxonomy.ids)
    inst = seg.segment(coco_images[0], "a red umbrella", category_id=5, threshold=0.0)
    w, h = Image.open(coco_images[0]).size
    assert len(inst) == 1 and inst.category_ids.tolist() == [5] and inst.areas[0] == h * w  # threshold 0: all


def test_no_classes_is_a_clear_error(tiny, coco_images):
    seg = load(tiny("clipseg"), device="cpu")
    with pytest.raises(ValidationError, match="no class names"):
        seg.predict(coco_images[0])
