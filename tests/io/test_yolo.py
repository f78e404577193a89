import numpy as np
import pytest

from panoptix.core import CategoryError, FormatError, Instances, Taxonomy
from panoptix.io import read_dataset, write_dataset, yolo
from panoptix.io.dataset import Dataset, ImageInfo, Sample

from .conftest import COCO_TINY, dataset, instances_sample, need, taxonomy, write_image


def _yolo(tmp_path, lines, names="names: [person, car]", size=(10, 20)):
    write_image(tmp_path / "images" / "train" / "x.jpg", *size)
    (tmp_path / "labels" / "train").mkdir(parents=True, exist_ok=True)
    (tmp_path / "labels" / "train" / "x.txt").write_text("\n".join(lines) + "\n")
    if names is not None:
        (tmp_path / "data.yaml").write_text(names + "\n")
    return tmp_path


def test_reads_polygons_and_boxes_in_pixels(tmp_path):
    root = _yolo(tmp_path, ["1 0.1 0.2 0.5 0.2 0.5 0.8", "0 0.5 0.5 0.5 0.2", ""])
    write_image(tmp_path / "images" / "train" / "empty.png", 4, 4)  # no label file: no objects
    ds = read_dataset(root)
    assert ds.format == "yolo-seg" and [c.name for c in ds.taxonomy] == ["person", "car"]
    assert [(i.id, i.file_name, i.height, i.width) for i in ds.images] == [
        ("train/empty", "train/empty.png", 4, 4), ("train/x", "train/x.jpg", 10, 20)]
    inst = ds.sample("train/x").instances
    assert inst.category_ids.tolist() == [2, 1]
    assert inst.segmentations[0] == [[2.0, 2.0, 10.0, 2.0, 10.0, 8.0]]
    assert inst.segmentations[1] == [[5.0, 4.0, 15.0, 4.0, 15.0, 6.0, 5.0, 6.0]]
    assert len(ds.sample("train/empty").instances) == 0


def test_round_trip_objects_categories_and_pixels(tmp_path):
    write_image(tmp_path / "src" / "a.jpg", 20, 30)
    ds = dataset(instances_sample(), image_root=tmp_path / "src")
    with pytest.warns(UserWarning, match="1 crowd regions left out"):
        write_dataset(ds, tmp_path / "out", "yolo-seg")
    assert (tmp_path / "out" / "images" / "a.jpg").read_bytes() == (tmp_path / "src" / "a.jpg").read_bytes()
    assert "names:\n  0: \"person\"\n  1: \"car\"" in (tmp_path / "out" / "data.yaml").read_text()
    back = read_dataset(tmp_path / "out")
    assert back.taxonomy == ds.taxonomy
    a, b = ds.sample(1).instances, back.sample("a").instances
    keep = ~a.iscrowd
    assert b.category_ids.tolist() == a.category_ids[keep].tolist() and not b.iscrowd.any()
    # two polygons joined by a zero-width bridge, and an RLE ring: the same pixels
    assert np.array_equal(b.masks(), a.masks()[keep])


def test_crowd_as_object(tmp_path):
    write_image(tmp_path / "src" / "a.jpg", 20, 30)
    ds = dataset(instances_sample(), image_root=tmp_path / "src")
    yolo.write(ds, tmp_path / "out", crowd="object")
    assert len(read_dataset(tmp_path / "out").sample("a").instances) == 3


def test_coco_tiny_round_trip(tmp_path):
    src = read_dataset(need(COCO_TINY))
    with pytest.warns(UserWarning, match="11 crowd regions left out"):
        write_dataset(src, tmp_path, "yolo-seg")
    back = read_dataset(tmp_path)
    assert len(back) == 80 and back.taxonomy == src.taxonomy
    exact = 0
    for a in src:
        b = back.sample(a.image.file_name[:-4]).instances
        ia = a.instances[~a.instances.iscrowd]
        assert b.category_ids.tolist() == ia.category_ids.tolist()
        for k, seg in enumerate(ia.segmentations):
            if len(seg) == 1:
                assert b.segmentations[k] == seg  # bit for bit
                exact += 1
            else:
                assert np.array_equal(b.mask(k), ia.mask(k))  # pixel for pixel
    assert exact == 739


def test_names_files():
    assert yolo.parse_names("names:\n  - a\n  - 'b c'\n") == ["a", "b c"]
    assert yolo.parse_names("names: {0: x, 1: y}") == ["x", "y"]
    assert yolo._names_without_yaml("names:\n  0: person\n  1: \"traffic light\"\nnc: 2") == {
        "0": "person", "1": "traffic light"}
    assert yolo._names_without_yaml("names: ['a', b]") == ["a", "b"]
    with pytest.raises(FormatError, match="no 'names' list"):
        yolo.parse_names("nc: 3")


def test_classes_txt_and_taxonomy_order(tmp_path):
    root = _yolo(tmp_path, ["1 0 0 1 0 1 1"], names=None)
    (root / "classes.txt").write_text("person\ncar\n")
    tax = Taxonomy([c for c in taxonomy() if c.name in ("person", "car")])
    assert yolo.read(root, taxonomy=tax).sample("train/x").instances.category_ids.tolist() == [3]
    with pytest.raises(FormatError, match="class 0 is 'person' in the dataset but 'car' in the taxonomy"):
        yolo.read(root, taxonomy=Taxonomy(tax.categories[::-1]))


@pytest.mark.parametrize("line, error, match", [
    ("1 0.1 0.2 0.3", FormatError, r"x.txt:1, image train/x: a polygon needs an even number"),
    ("7 0 0 1 0 1 1", CategoryError, r"x.txt:1, image train/x: class 7 is not in the 2 classes"),
    ("a b c", FormatError, r"x.txt:1, image train/x: not a YOLO label line"),
])
def test_bad_lines_name_file_line_and_image(tmp_path, line, error, match):
    root = _yolo(tmp_path, [line])
    with pytest.raises(error, match=match):
        read_dataset(root).sample("train/x")


def test_missing_pieces(tmp_path):
    root = _yolo(tmp_path, ["0 0 0 1 0 1 1"], names=None)
    with pytest.raises(FormatError, match="no data.yaml or classes.txt"):
        yolo.read(root)
    (root / "labels" / "orphan.txt").write_text("0 0 0 1 0 1 1\n")
    with pytest.raises(FormatError, match="orphan.txt: no image for this label file"):
        yolo.read(root, taxonomy=taxonomy())
    with pytest.raises(FormatError, match="no labels/ folder"):
        yolo.read(tmp_path / "images")


def test_writing_without_images_warns(tmp_path):
    ds = Dataset.from_samples(taxonomy(), [Sample(ImageInfo(1, "a.jpg", 4, 4), instances=Instances.empty(4, 4))])
    with pytest.warns(UserWarning, match="1 images not found"):
        yolo.write(ds, tmp_path)
    assert (tmp_path / "labels" / "a.txt").read_text() == ""
