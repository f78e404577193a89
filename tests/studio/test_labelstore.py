"""The label document: run-lengths, crops, the PNG codec, checks, and the bridge to the core types."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from panoptix.core import Category, FormatError, Instances, PanopticMap, SemanticMap, SizeMismatchError, Taxonomy
from panoptix.core import ValidationError
from panoptix.io.dataset import ImageInfo, Sample
from panoptix.studio.labelstore import (LabelDoc, crop_to_mask, decode_id_png, encode_id_png, mask_to_crop,
                                        runs_decode, runs_encode)

TAX = Taxonomy([Category(1, "cat"), Category(2, "dog"), Category(7, "grass", isthing=False)])


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 9), st.integers(1, 9)), elements=st.integers(0, 5)))
def test_runs_round_trip(a):
    v, n = runs_encode(a)
    assert (n > 0).all() and (v[1:] != v[:-1]).all()  # maximal runs
    assert np.array_equal(runs_decode(v, n, a.size).reshape(a.shape), a)


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_crop_round_trip(m):
    crop = mask_to_crop(m)
    if not m.any():
        assert crop is None
        return
    x, y, w, h = crop["bbox"]
    assert m[y:y + h, x:x + w].sum() == m.sum()
    assert np.array_equal(crop_to_mask(crop, *m.shape), m)


def test_runs_decode_refuses_bad_input():
    with pytest.raises(SizeMismatchError):
        runs_decode([1], [5], 6)
    with pytest.raises(FormatError):
        runs_decode([1, 2], [6], 6)
    with pytest.raises(FormatError):
        runs_decode([1, 2], [7, -1], 6)
    with pytest.raises(SizeMismatchError):
        crop_to_mask({"bbox": [3, 0, 4, 1], "counts": [0, 4]}, 2, 5)


@pytest.mark.parametrize("top", [5, 300, 70000, 256 ** 3 - 1])
def test_id_png_keeps_every_id(top):
    ids = np.arange(12, dtype=np.int64).reshape(3, 4) * (top // 11)
    assert np.array_equal(decode_id_png(encode_id_png(ids)), ids)
    with pytest.raises(FormatError):
        decode_id_png(b"not a png")


def test_panoptic_document_checks():
    ids = np.array([[1, 1, 3], [0, 2, 3]])
    ok = LabelDoc("panoptic", 2, 3, [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 1},
                                     {"id": 3, "category_id": 7}], ids=ids)
    assert ok.problems(TAX) == []
    assert ok.areas() == {1: 2, 2: 1, 3: 2}
    assert ok.labeled_fraction() == pytest.approx(5 / 6)
    two_stuff = LabelDoc("panoptic", 2, 3, [{"id": 1, "category_id": 7}, {"id": 3, "category_id": 7},
                                            {"id": 2, "category_id": 1}], ids=ids)
    (err,) = two_stuff.problems(TAX, image_id=4)
    assert "image 4, segment 3: two segments (1 and 3) of class 'grass'" in str(err)
    with pytest.raises(ValidationError, match="segment id must lie"):
        LabelDoc("panoptic", 1, 1, [{"id": 0, "category_id": 1}])
    with pytest.raises(SizeMismatchError):
        LabelDoc("panoptic", 2, 2, [], ids=np.zeros((3, 3), int))


def test_bridge_to_core_types_and_back():
    ids = np.array([[1, 1, 3, 3], [0, 2, 3, 3]])
    doc = LabelDoc("panoptic", 2, 4, [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2},
                                      {"id": 3, "category_id": 7}, {"id": 9, "category_id": 1}], ids=ids)
    pan = doc.to_panoptic()
    assert isinstance(pan, PanopticMap) and [s.id for s in pan.segments] == [1, 2, 3]  # empty 9 dropped
    assert pan.problems(TAX) == []
    back = LabelDoc.from_sample(Sample(ImageInfo(1, "a.png", 2, 4), panoptic=pan), "panoptic", TAX)
    assert np.array_equal(back.ids, ids)
    sem = LabelDoc("semantic", 2, 4, [{"id": 1, "category_id": 7}, {"id": 2, "category_id": 1}],
                   ids=np.array([[1, 1, 2, 0], [1, 2, 2, 0]]))
    labels = sem.to_semantic(TAX).labels
    assert labels.tolist() == [[7, 7, 1, 255], [7, 1, 1, 255]]
    again = LabelDoc.from_sample(Sample(ImageInfo(1, "a.png", 2, 4), semantic=SemanticMap(labels)), "semantic", TAX)
    assert np.array_equal(again.to_semantic(TAX).labels, labels)


def test_instance_document_keeps_overlaps():
    m = np.zeros((2, 4, 4), bool)
    m[0, :3, :3] = True
    m[1, 1:, 1:] = True
    inst = Instances.from_masks(m, [1, 2], ids=[10, 10])  # duplicate ids get renumbered
    doc = LabelDoc.from_sample(Sample(ImageInfo(1, "a.png", 4, 4), instances=inst), "instance", TAX)
    assert [s["id"] for s in doc.segments] == [10, 11]
    back = doc.to_instances()
    assert np.array_equal(back.masks(), m)
    api = doc.to_api()
    again = LabelDoc.from_api(api, "instance", 4, 4)
    assert np.array_equal(again.to_instances().masks(), m)
    blob, recs = doc.to_db()
    assert blob is None and LabelDoc.from_db("instance", 4, 4, None, recs).to_instances().masks().sum() == m.sum()
    stuff = LabelDoc("instance", 4, 4, [{"id": 1, "category_id": 7}], rles={})
    assert "things only" in str(stuff.problems(TAX)[0])
