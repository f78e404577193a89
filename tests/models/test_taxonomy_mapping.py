"""Model label ids -> taxonomy ids (id2label, categories files)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from panoptix.core import CategoryError, FormatError
from panoptix.models._hf import label_taxonomy, map_labels, read_categories


def test_default_ids_are_the_label_ids_all_things():
    tax, lut = label_taxonomy({"0": "person", "1": "sky"})
    assert [(c.id, c.name, c.isthing) for c in tax] == [(0, "person", True), (1, "sky", True)]
    assert lut.tolist() == [0, 1, -1]  # the spare slot: the "no object" class


def test_unused_slots_are_dropped():
    # DETR's COCO-indexed head: label k is COCO id k, slot 0 and gaps are "N/A".
    tax, lut = label_taxonomy({0: "N/A", 1: "person", 2: "bicycle", 3: "N/A", 4: "car"})
    assert tax.ids == [1, 2, 4] and tax[4].name == "car"
    assert map_labels(lut, [0, 1, 3, 4, 99, -1]).tolist() == [-1, 1, -1, 4, -1, -1]


def test_duplicate_label_names_are_told_apart():
    tax, _ = label_taxonomy({0: "thing", 1: "thing"})
    assert [c.name for c in tax] == ["thing", "thing_1"]


def test_categories_file_gives_ids_and_stuff(tmp_path):
    cats = [{"id": 1, "name": "person", "isthing": 1}, {"id": 184, "name": "Sky-Other-Merged", "isthing": 0}]
    (tmp_path / "cats.json").write_text(json.dumps({"categories": cats}))
    tax, lut = label_taxonomy({0: "sky-other-merged", 1: "person"}, tmp_path / "cats.json")
    assert lut.tolist() == [184, 1, -1]
    assert tax.stuff_ids == [184] and tax.thing_ids == [1]


def test_unmatched_labels_warn_and_no_match_is_an_error(tmp_path):
    cats = [{"id": 3, "name": "car"}]
    with pytest.warns(UserWarning, match="1 model labels are not in the categories.*zebra"):
        tax, lut = label_taxonomy({0: "car", 1: "zebra"}, cats)
    assert lut.tolist() == [3, -1, -1]
    (tmp_path / "other.json").write_text(json.dumps(cats))
    with pytest.raises(CategoryError, match="other.json.*none of the model's 1 label names"):
        label_taxonomy({0: "zebra"}, tmp_path / "other.json")


def test_ignore_index_moves_off_a_class_id():
    tax, _ = label_taxonomy({i: f"c{i}" for i in range(300)})
    assert 255 in tax.ids and tax.ignore_index == 300


def test_bad_categories_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FormatError, match="bad.json"):
        read_categories(tmp_path / "bad.json")
    (tmp_path / "nocats.json").write_text('{"images": []}')
    with pytest.raises(FormatError, match="nocats.json.*no 'categories'"):
        read_categories(tmp_path / "nocats.json")
    (tmp_path / "noid.json").write_text('[{"name": "x"}]')
    with pytest.raises(FormatError, match="noid.json.*no 'id' field"):
        read_categories(tmp_path / "noid.json")
    with pytest.raises(CategoryError, match="empty id2label"):
        label_taxonomy({})
    assert np.array_equal(map_labels(np.array([5, 6, -1]), np.zeros((2, 2), int)), np.full((2, 2), 5))
