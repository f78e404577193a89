import json

import numpy as np
import pytest
from PIL import Image

from panoptix.core import Category, FormatError, OutputError, PanopticMap, Taxonomy, ValidationError
from panoptix.io import cityscapes, read_dataset
from panoptix.io.dataset import Dataset, ImageInfo, Sample

from .conftest import COCO_TINY, FIXTURES, need, paint_panoptic, truncate

CITY = "gtFine/val/frankfurt"


def _instance_ids():
    ids = np.full((6, 8), 7)  # road
    ids[:2] = 23  # sky
    ids[2:4, 1:3] = 26000  # car #0
    ids[2:4, 4:6] = 26001  # car #1
    ids[4:6, 6:8] = 24  # a crowd of persons (no instance id)
    ids[5, 0] = 0  # unlabeled
    ids[0, 7] = 1  # ego vehicle (ignored in evaluation)
    return ids


@pytest.fixture
def root(tmp_path):
    d = tmp_path / "cs" / CITY
    d.mkdir(parents=True)
    Image.fromarray(_instance_ids().astype(np.uint16)).save(d / "frankfurt_000000_000294_gtFine_instanceIds.png")
    img = tmp_path / "cs" / "leftImg8bit" / "val" / "frankfurt"
    img.mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(img / "frankfurt_000000_000294_leftImg8bit.png")
    return tmp_path / "cs"


def test_instance_ids_read_as_panoptic(root):
    ds = read_dataset(root)
    assert ds.format == "cityscapes" and len(ds.taxonomy) == 34
    info = ds.images[0]
    assert info.id == "frankfurt_000000_000294"
    assert info.file_name == "val/frankfurt/frankfurt_000000_000294_leftImg8bit.png"
    assert ds.image_path(info).is_file()
    pan = ds.sample(info.id).panoptic
    assert np.array_equal(pan.ids, _instance_ids())
    segs = {s.id: (s.category_id, s.iscrowd, s.area) for s in pan.segments}
    assert segs == {1: (1, False, 1), 7: (7, False, 19), 23: (23, False, 15), 24: (24, True, 4),
                    26000: (26, False, 4), 26001: (26, False, 4)}
    assert pan.problems(ds.taxonomy) == []


def test_evaluated_only_makes_ignored_labels_void(root):
    ds = cityscapes.read(root, evaluated_only=True)
    assert len(ds.taxonomy) == 19 and 1 not in ds.taxonomy
    pan = ds.sample("frankfurt_000000_000294").panoptic
    assert pan.ids[0, 7] == 0 and 1 not in {s.id for s in pan.segments}


def test_round_trip_writes_the_three_pngs(root, tmp_path):
    ds = read_dataset(root)
    cityscapes.write(ds, tmp_path / "out")
    d = tmp_path / "out" / CITY
    stem = "frankfurt_000000_000294_gtFine_"
    assert np.array_equal(np.array(Image.open(d / f"{stem}instanceIds.png")), _instance_ids())
    label_ids = np.array(Image.open(d / f"{stem}labelIds.png"))
    assert label_ids[2, 1] == 26 and label_ids[5, 0] == 0 and label_ids[4, 6] == 24
    train = np.array(Image.open(d / f"{stem}labelTrainIds.png"))
    assert (train[2, 1], train[0, 0], train[6 - 1, 0], train[0, 7], train[3, 0]) == (13, 10, 255, 255, 0)
    back = read_dataset(tmp_path / "out")
    assert back.sample("frankfurt_000000_000294").panoptic == ds.sample("frankfurt_000000_000294").panoptic


def test_other_segment_ids_are_renumbered_the_cityscapes_way(tmp_path):
    tax = cityscapes.taxonomy()
    ids = np.array([[5, 5, 9], [8, 8, 0]])
    pan = PanopticMap.from_ids(ids, {5: 26, 9: 26, 8: 7}, {9: True})
    ds = Dataset.from_samples(tax, [Sample(ImageInfo(3, "photo.jpg", 2, 3), panoptic=pan)])
    cityscapes.write(ds, tmp_path, split="test", city="bonn")
    out = np.array(Image.open(tmp_path / "gtFine/test/bonn/photo_gtFine_instanceIds.png"))
    assert out.tolist() == [[26000, 26000, 26], [7, 7, 0]]
    back = read_dataset(tmp_path).sample("photo").panoptic
    assert {(s.category_id, s.iscrowd, s.area) for s in back.segments} == {(26, False, 2), (26, True, 1), (7, False, 2)}


def test_polygons_json_drawn_in_order(tmp_path):
    d = tmp_path / CITY
    d.mkdir(parents=True)
    objects = [{"label": "road", "polygon": [[0, 0], [9, 0], [9, 5], [0, 5]]},
               {"label": "car", "polygon": [[1, 1], [4, 1], [4, 3], [1, 3]]},
               {"label": "cargroup", "polygon": [[5, 1], [8, 1], [8, 3], [5, 3]]},
               {"label": "car", "polygon": [[3, 2], [6, 2], [6, 4], [3, 4]]},  # on top of both
               {"label": "license plate", "polygon": [[1, 1], [2, 1], [2, 2]]},
               {"label": "sky", "polygon": [[0, 0], [9, 0], [9, 5]], "deleted": 1}]
    (d / "x_000000_000001_gtFine_polygons.json").write_text(
        json.dumps({"imgHeight": 6, "imgWidth": 10, "objects": objects}))
    ds = read_dataset(tmp_path)
    pan = ds.sample("x_000000_000001").panoptic
    assert {s.id: (s.category_id, s.iscrowd) for s in pan.segments} == {
        7: (7, False), 26000: (26, False), 26: (26, True), 26001: (26, False)}
    assert pan.ids[3, 4] == 26001 and pan.ids[1, 2] == 26000 and pan.ids[1, 7] == 26
    (d / "x_000000_000001_gtFine_polygons.json").write_text(json.dumps({"imgHeight": 6, "imgWidth": 10,
                                                                        "objects": [{"label": "spaceship",
                                                                                     "polygon": [[0, 0]]}]}))
    with pytest.raises(Exception, match="segment 0: unknown Cityscapes label 'spaceship'"):
        read_dataset(tmp_path).sample("x_000000_000001")


def test_label_ids_and_train_ids_only(tmp_path):
    d = tmp_path / CITY
    d.mkdir(parents=True)
    Image.fromarray(np.array([[7, 26], [0, 23]], np.uint8)).save(d / "a_gtFine_labelIds.png")
    Image.fromarray(np.array([[0, 13], [255, 10]], np.uint8)).save(d / "b_gtFine_labelTrainIds.png")
    ds = read_dataset(tmp_path)
    pan = ds.sample("a").panoptic
    assert {s.id: s.iscrowd for s in pan.segments} == {7: False, 26: True, 23: False}
    assert ds.sample("b").semantic.labels.tolist() == [[7, 26], [255, 23]]


def test_fixtures_8_and_16_bit():
    ds = read_dataset(need(FIXTURES / "cityscapes_dataset" / "dataset"))
    assert [i.id for i in ds.images][:2] == ["defaultcity_000001_000031", "defaultcity_000001_000032"]
    assert ds.sample("defaultcity_000001_000031").panoptic.ids.tolist() == [[3, 3, 27, 27, 27]]
    assert {s.id: s.iscrowd for s in ds.sample("defaultcity_000001_000031").panoptic.segments} == {3: False, 27: True}
    ds = cityscapes.read(FIXTURES / "cityscapes_dataset" / "train_dataset", split="test")
    assert len(ds) == 2
    pan = ds.sample("defaultcity_000001_000031").panoptic
    assert pan.ids.tolist() == [[3, 3, 27001, 27002, 27002]]
    assert ds.image_path(ds.images[0]).is_file()


def test_coco_tiny_subset_round_trip(tmp_path):
    src = read_dataset(need(COCO_TINY))
    # instanceIds are 16-bit: labelId·1000 + k must fit, so thing ids stay below 65
    tax = Taxonomy([c for c in src.taxonomy if c.id < 65])
    samples = []
    for info in src.images:
        s = src.load(info)
        if len(s.instances) and set(s.instances.category_ids.tolist()) <= set(tax.ids):
            samples.append(paint_panoptic(s))
        if len(samples) == 5:
            break
    ds = Dataset.from_samples(tax, samples)
    cityscapes.write(ds, tmp_path)
    back = read_dataset(tmp_path)
    for a in ds:
        b = back.sample(a.image.file_name.rsplit(".", 1)[0]).panoptic
        ref = {s.id: s for s in a.panoptic.segments}
        relabel = {}
        for s in b.segments:  # segment ids change (labelId·1000 + k); pixels, classes, crowd, areas do not
            src_ids = np.unique(a.panoptic.ids[b.ids == s.id])
            assert len(src_ids) == 1
            relabel[s.id] = int(src_ids[0])
            r = ref[relabel[s.id]]
            assert (s.category_id, s.iscrowd, s.area, s.bbox) == (r.category_id, r.iscrowd, r.area, r.bbox)
        assert len(relabel) == len(ref)


def test_bad_input(root, tmp_path):
    png = next(root.rglob("*_instanceIds.png"))
    truncate(png)
    with pytest.raises(FormatError, match="instanceIds.png, image frankfurt_000000_000294: not a readable"):
        read_dataset(root).sample("frankfurt_000000_000294")
    (tmp_path / "empty" / "gtFine").mkdir(parents=True)
    with pytest.raises(FormatError, match="no Cityscapes gtFine files found"):
        cityscapes.read(tmp_path / "empty")
    big = Taxonomy([Category(90, "toothbrush")])
    ds = Dataset.from_samples(big, [Sample(ImageInfo(1, "a.jpg", 1, 1), panoptic=PanopticMap(np.zeros((1, 1), int)))])
    with pytest.raises(OutputError, match="too large for Cityscapes instanceIds"):
        cityscapes.write(ds, tmp_path / "o")
    zero = Taxonomy([Category(0, "wall", isthing=False)])
    pan = PanopticMap.from_ids(np.ones((1, 1), int), {1: 0})
    with pytest.raises(ValidationError, match="category 0 \\(wall\\) would read back as Cityscapes' unlabeled"):
        cityscapes.write(Dataset.from_samples(zero, [Sample(ImageInfo(1, "a.jpg", 1, 1), panoptic=pan)]),
                         tmp_path / "z")
