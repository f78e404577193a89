import json

import numpy as np
import pytest
from PIL import Image

from panoptix.core import Category, FormatError, OutputError, SemanticMap, Taxonomy, ValidationError
from panoptix.io import read_dataset, semantic_png, write_dataset
from panoptix.io.dataset import Dataset, ImageInfo, Sample
from panoptix.io.taxonomies import preset, voc_colormap

from .conftest import COCO_TINY, FIXTURES, dataset, need, paint_panoptic, semantic_of, semantic_sample, truncate


def test_round_trip_grayscale_with_categories_json(tmp_path):
    ds = dataset(semantic_sample(1, "a.jpg"), semantic_sample(2, "sub/000000142238.jpg"))
    write_dataset(ds, tmp_path, "semantic-png")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == \
        ["a.png", "sub/000000142238.png"]
    assert Image.open(tmp_path / "a.png").mode == "L"
    assert Taxonomy.from_coco(json.loads((tmp_path / "categories.json").read_text())) == ds.taxonomy
    back = read_dataset(tmp_path)
    assert back.format == "semantic-png" and back.taxonomy == ds.taxonomy
    assert [i.id for i in back.images] == ["a", "sub/000000142238"]
    assert [i.file_name for i in back.images] == ["a.png", "sub/000000142238.png"]
    for a, b in zip(ds, back):
        assert b.semantic == a.semantic


def test_samples_take_the_image_name_when_the_images_are_there(tmp_path):
    write_dataset(dataset(semantic_sample(1, "x.jpg")), tmp_path / "labels", "semantic-png")
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (8, 6)).save(tmp_path / "photos" / "x.jpg")
    ds = read_dataset(tmp_path / "labels", images=tmp_path / "photos")
    assert ds.images[0].file_name == "x.jpg" and ds.image_path(ds.images[0]) == tmp_path / "photos" / "x.jpg"


def test_palette_png_indices_are_the_ids(tmp_path):
    ds = dataset(semantic_sample())
    semantic_png.write(ds, tmp_path, palette=True)
    img = Image.open(tmp_path / "a.png")
    assert img.mode == "P"
    pal = np.array(img.getpalette()[:768]).reshape(-1, 3)
    assert tuple(pal[3]) == (0, 0, 142) and tuple(pal[255]) == (224, 224, 192)
    assert read_dataset(tmp_path).sample("a").semantic == ds.sample(1).semantic


def test_sixteen_bit_ids(tmp_path):
    tax = Taxonomy([Category(1000, "a", isthing=False), Category(3, "b", isthing=False)])
    sem = SemanticMap(np.array([[1000, 3], [255, 3]]))
    ds = Dataset.from_samples(tax, [Sample(ImageInfo(1, "x.png", 2, 2), semantic=sem)])
    semantic_png.write(ds, tmp_path)
    assert read_dataset(tmp_path).sample("x").semantic == sem
    with pytest.raises(OutputError, match="does not fit a palette PNG"):
        semantic_png.write(ds, tmp_path / "p", palette=True)


def test_reduce_zero_label_and_ignore_index(tmp_path):
    tax = preset("ade20k")
    labels = np.array([[0, 149], [255, 12]])
    ds = Dataset.from_samples(tax, [Sample(ImageInfo(1, "ADE_val_1.jpg", 2, 2), semantic=SemanticMap(labels))])
    semantic_png.write(ds, tmp_path, reduce_zero_label=True)
    assert np.array(Image.open(tmp_path / "ADE_val_1.png")).tolist() == [[1, 150], [0, 13]]
    back = semantic_png.read(tmp_path, taxonomy="ade20k")  # the preset implies reduce_zero_label
    assert back.sample("ADE_val_1").semantic.labels.tolist() == labels.tolist()
    semantic_png.write(ds, tmp_path / "z", ignore_index=254)
    assert np.array(Image.open(tmp_path / "z" / "ADE_val_1.png")).tolist() == [[0, 149], [254, 12]]
    assert semantic_png.read(tmp_path / "z", ignore_index=254).sample("ADE_val_1").semantic.labels.tolist() == \
        [[0, 149], [254, 12]]
    with pytest.raises(ValidationError, match="class 12 is also the ignore value"):
        semantic_png.write(ds, tmp_path / "w", ignore_index=12)


def test_presets():
    voc = preset("voc")
    assert len(voc) == 21 and voc[0].name == "background" and not voc[0].isthing and voc[20].name == "tvmonitor"
    assert [voc[k].color for k in range(3)] == voc_colormap()[:3] == [(0, 0, 0), (128, 0, 0), (0, 128, 0)]
    ade = preset("ade20k")
    assert len(ade) == 150 and ade[149].name == "flag" and len(ade.thing_ids) == 100
    city, train = preset("cityscapes"), preset("cityscapes-train")
    assert len(city) == 34 and city[26].isthing and not city[7].isthing and city[7].color == (128, 64, 128)
    assert len(train) == 19 and train[0].name == "road" and train[18].name == "bicycle"
    with pytest.raises(Exception, match="unknown taxonomy preset 'nope'"):
        preset("nope")


def test_voc_layout_and_colour_coded_pngs(tmp_path):
    root = need(FIXTURES / "voc_dataset" / "voc_dataset1")
    ds = read_dataset(root)
    assert ds.format == "semantic-png" and len(ds.taxonomy) == 21
    s = ds.sample("2007_000001")
    assert s.image.file_name == "2007_000001.jpg" and ds.image_root == root / "JPEGImages"
    assert s.semantic.classes().tolist() == [2]  # RGB (0, 128, 0) is bicycle
    # a VOC palette PNG with the border colour
    (tmp_path / "SegmentationClass").mkdir()
    img = Image.fromarray(np.array([[0, 15], [255, 20]], np.uint8), mode="P")
    img.putpalette(np.array(voc_colormap(), np.uint8).ravel().tolist())
    img.save(tmp_path / "SegmentationClass" / "x.png")
    assert read_dataset(tmp_path).sample("x").semantic.labels.tolist() == [[0, 15], [255, 20]]
    img.convert("RGB").save(tmp_path / "SegmentationClass" / "x.png")  # colour-coded: same classes
    assert read_dataset(tmp_path).sample("x").semantic.labels.tolist() == [[0, 15], [255, 20]]


def test_voc_split_lists():
    root = need(FIXTURES / "voc_dataset" / "voc_dataset1")
    assert len(semantic_png.read(root, split="train")) == 1
    with pytest.raises(FormatError, match="no split 'nope'"):
        semantic_png.read(root, split="nope")


def test_datumaro_common_layout():
    root = need(FIXTURES / "common_semantic_segmentation_dataset" / "dataset")
    ds = read_dataset(root)
    assert [c.name for c in ds.taxonomy] == ["Void", "Animal", "Archway", "Bicyclist", "Child", "Road"]
    assert ds.sample("0001").semantic.labels.tolist() == [[3, 3, 5, 3, 3]]
    assert ds.sample("0002").semantic.labels.tolist() == [[1, 1, 1, 4, 4]]
    assert ds.images[0].file_name == "0001.png" and ds.image_root == root / "images"


@pytest.mark.parametrize("version, names, first", [
    ("ade20k2017_dataset", ["sky", "person"], [[255, 1, 2, 2]] * 3),
    ("ade20k2020_dataset", ["car", "person"], [[255, 2, 1, 1, 1]] * 5),
])
def test_ade20k_full_release_layout(version, names, first):
    ds = read_dataset(need(FIXTURES / version / "dataset"))
    assert [c.name for c in ds.taxonomy] == names
    assert [i.id for i in ds.images] == ["training/street/1", "validation/2"]
    assert ds.images[0].file_name == "training/street/1.jpg"
    assert ds.sample("training/street/1").semantic.labels.tolist() == first
    meta = read_dataset(FIXTURES / version / "dataset_with_meta_file")
    assert meta.taxonomy[0].name == names[0] and len(meta.taxonomy) == 4


def test_ade20k_scene_parsing_layout(tmp_path):
    for split in ("training", "validation"):
        (tmp_path / "annotations" / split).mkdir(parents=True)
        (tmp_path / "images" / split).mkdir(parents=True)
        Image.fromarray(np.array([[0, 1], [150, 13]], np.uint8)).save(tmp_path / "annotations" / split / "a.png")
        Image.new("RGB", (2, 2)).save(tmp_path / "images" / split / "a.jpg")
    ds = read_dataset(tmp_path, split="validation")
    assert len(ds.taxonomy) == 150 and [i.id for i in ds.images] == ["a"]
    assert ds.images[0].file_name == "a.jpg"
    assert ds.sample("a").semantic.labels.tolist() == [[255, 0], [149, 12]]


def test_coco_tiny_semantic_round_trip_is_pixel_exact(tmp_path):
    src = read_dataset(need(COCO_TINY))
    samples = [Sample(info, semantic=semantic_of(paint_panoptic(src.load(info)).panoptic))
               for info in src.images[:6]]
    ds = Dataset.from_samples(src.taxonomy, samples)
    write_dataset(ds, tmp_path, "semantic-png")
    back = read_dataset(tmp_path)
    for a in ds:
        b = back.sample(a.image.file_name.replace(".jpg", ""))
        assert b.image.file_name == a.image.file_name.replace(".jpg", ".png")
        assert b.semantic == a.semantic


# ------------------------------------------------------------------ bad input
def test_bad_pngs_name_the_file_and_image(tmp_path):
    write_dataset(dataset(semantic_sample(1, "a.jpg"), semantic_sample(2, "b.jpg")), tmp_path, "semantic-png")
    truncate(tmp_path / "a.png")
    ds = read_dataset(tmp_path)
    with pytest.raises(FormatError, match=r"a.png, image a: not a readable image"):
        ds.sample("a")
    (tmp_path / "b.png").write_text("text")
    with pytest.raises(FormatError, match=r"b.png: not a readable image"):
        read_dataset(tmp_path)


def test_unknown_class_and_unknown_colour(tmp_path):
    write_dataset(dataset(semantic_sample()), tmp_path, "semantic-png")
    Image.fromarray(np.array([[7, 44]], np.uint8)).save(tmp_path / "a.png")
    ds = read_dataset(tmp_path)
    problems = ds.sample("a").semantic.problems(ds.taxonomy, file=ds.source, image_id="a")
    assert [str(p) for p in problems] == [f"{tmp_path}, image a: unknown class id 44 in semantic map"]
    with pytest.raises(ValidationError, match="image a: unknown class id 44"):
        write_dataset(ds, tmp_path / "out", "semantic-png")
    Image.new("RGB", (2, 1), (1, 2, 3)).save(tmp_path / "a.png")
    with pytest.raises(FormatError, match=r"a.png, image a: colour \(1, 2, 3\) is no class colour"):
        read_dataset(tmp_path).sample("a")


def test_no_taxonomy_and_empty_folders(tmp_path):
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "x.png")
    with pytest.raises(FormatError, match="pass taxonomy="):
        semantic_png.read(tmp_path)
    assert semantic_png.read(tmp_path, taxonomy="voc").sample("x").semantic.classes().tolist() == [0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="empty: no label PNGs found"):
        semantic_png.read(tmp_path / "empty")
    with pytest.raises(FormatError, match="no images/labels found"):
        read_dataset(tmp_path / "empty")
