import pytest

from panoptix.core import Category, CategoryError, FormatError, Taxonomy, stable_color


def test_sparse_ids_lookup_and_thing_stuff():
    tax = Taxonomy([Category(1, "person"), Category(90, "toothbrush"), Category(184, "sky", isthing=False)])
    assert tax[90].name == "toothbrush"
    assert tax["sky"].id == 184
    assert tax.thing_ids == [1, 90] and tax.stuff_ids == [184]
    assert 2 not in tax and 1 in tax and "sky" in tax
    with pytest.raises(CategoryError, match="unknown category 2"):
        tax[2]


def test_duplicates_refused():
    with pytest.raises(CategoryError, match="duplicate category id 1"):
        Taxonomy([Category(1, "a"), Category(1, "b")])
    with pytest.raises(CategoryError, match="duplicate category name"):
        Taxonomy([Category(1, "a"), Category(2, "a")])


def test_coco_round_trip_keeps_colour_and_isthing(sample_dir):
    import json

    cats = json.loads((sample_dir / "panoptic.json").read_text())["categories"]
    tax = Taxonomy.from_coco(cats)
    assert len(tax) == 133
    assert tax["sky-other-merged"].isthing is False
    assert tax[1].color == tuple(cats[0]["color"])
    assert Taxonomy.from_coco(tax.to_coco()) == tax


def test_instances_categories_default_to_things_and_missing_field_is_named():
    tax = Taxonomy.from_coco([{"id": 3, "name": "car", "supercategory": "vehicle"}])
    assert tax[3].isthing and tax[3].supercategory == "vehicle"
    with pytest.raises(FormatError, match="no 'name' field"):
        Taxonomy.from_coco([{"id": 3}])


def test_bad_ids_and_colours_refused():
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(CategoryError):
            Category(bad, "x")
    with pytest.raises(CategoryError):
        Category(1, "x", color=(0, 0, 300))


def test_stable_colour_is_deterministic_and_distinct():
    assert stable_color(7) == stable_color(7) == Category(7, "x").color
    assert len({stable_color(i) for i in range(50)}) > 45


def test_color_lut_maps_ids_and_ignore():
    tax = Taxonomy([Category(2, "a", color=(1, 2, 3))])
    lut = tax.color_lut()
    assert lut.shape == (256, 3)
    assert tuple(lut[2]) == (1, 2, 3) and tuple(lut[255]) == (128, 128, 128)
