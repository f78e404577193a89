import json

import numpy as np
import pytest
from PIL import Image

from panoptix.core import FormatError, PanoptixError
from panoptix.io import FORMATS, detect_format, read_dataset, write_dataset

from .conftest import (COCO_TINY, FIXTURES, PANOPTIC_SAMPLE, dataset, instances_sample, need, panoptic_sample,
                       semantic_sample, write_image)


@pytest.mark.parametrize("fmt, sample", [
    ("coco-instances", instances_sample), ("coco-panoptic", panoptic_sample), ("semantic-png", semantic_sample),
    ("cityscapes", panoptic_sample), ("labelme", instances_sample), ("yolo-seg", instances_sample),
])
def test_what_each_writer_writes_is_detected_and_read_back(tmp_path, fmt, sample):
    s = sample(1, "a.jpg")
    write_image(tmp_path / "src" / "a.jpg", s.image.height, s.image.width)
    ds = dataset(s, image_root=tmp_path / "src")
    dst = tmp_path / "out" / ("x.json" if fmt.startswith("coco") else "x")
    with pytest.warns(UserWarning) if fmt == "yolo-seg" else _nothing():
        write_dataset(ds, dst, fmt)
    assert detect_format(dst) == fmt
    if fmt.startswith("coco"):
        assert detect_format(dst.parent) == fmt  # a folder with one COCO JSON
    back = read_dataset(dst)
    assert back.format == fmt and len(back) == 1


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("path, fmt", [
    ("cityscapes_dataset/dataset", "cityscapes"),
    ("cityscapes_dataset/train_dataset/gtFine", "cityscapes"),
    ("coco_instances/annotations/instances_train.json", "coco-instances"),
    ("coco_panoptic/annotations/panoptic_val.json", "coco-panoptic"),
    ("voc_dataset/voc_dataset1", "semantic-png"),
    ("ade20k2017_dataset/dataset", "semantic-png"),
    ("ade20k2020_dataset/dataset", "semantic-png"),
    ("common_semantic_segmentation_dataset/dataset", "semantic-png"),
])
def test_detects_the_fixture_layouts(path, fmt):
    assert detect_format(need(FIXTURES / path)) == fmt


def test_detects_the_real_coco_files():
    assert detect_format(need(COCO_TINY)) == "coco-instances"
    assert detect_format(need(PANOPTIC_SAMPLE)) == "coco-panoptic"


def test_unknown_layouts_and_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="empty: no images/labels found"):
        detect_format(tmp_path / "empty")
    write_image(tmp_path / "photos" / "a.jpg", 2, 2)
    with pytest.raises(FormatError, match="unknown dataset layout"):
        detect_format(tmp_path / "photos")
    with pytest.raises(FormatError, match="not a dataset file"):
        detect_format(tmp_path / "photos" / "a.jpg")
    with pytest.raises(FormatError, match="no such file or folder"):
        detect_format(tmp_path / "nope")
    (tmp_path / "r.json").write_text("[]")
    with pytest.raises(FormatError, match="results list"):
        detect_format(tmp_path / "r.json")
    (tmp_path / "o.json").write_text('{"a": 1}')
    with pytest.raises(FormatError, match="not a COCO or LabelMe JSON"):
        detect_format(tmp_path / "o.json")
    with pytest.raises(FormatError, match="several COCO JSONs .*instances_train.json, instances_val.json"):
        detect_format(need(FIXTURES / "coco_instances"))


def test_single_channel_pngs_are_semantic(tmp_path):
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "a.png")
    assert detect_format(tmp_path) == "semantic-png"
    assert read_dataset(tmp_path, taxonomy="voc").sample("a").semantic.labels.tolist() == [[0, 0], [0, 0]]


def test_options_a_format_does_not_take_are_one_clear_error(tmp_path):
    write_dataset(dataset(semantic_sample()), tmp_path, "semantic-png")
    with pytest.raises(PanoptixError, match="semantic-png does not take the option 'png_dir'"):
        read_dataset(tmp_path, png_dir=tmp_path)
    with pytest.raises(PanoptixError, match="labelme does not take the option 'palette'"):
        write_dataset(dataset(semantic_sample()), tmp_path / "x", "labelme", palette=True)
    with pytest.raises(PanoptixError, match="unknown format 'tiff'.*coco-instances"):
        write_dataset(dataset(semantic_sample()), tmp_path / "x", "tiff")
    assert FORMATS == ("coco-instances", "coco-panoptic", "semantic-png", "cityscapes", "labelme", "yolo-seg")


def test_progress_callback_sees_every_sample(tmp_path):
    seen = []

    def progress(items, description, total):
        seen.append((description, total))
        yield from items

    write_dataset(dataset(panoptic_sample(1, "a.jpg"), panoptic_sample(2, "b.jpg")), tmp_path / "p.json",
                  "coco-panoptic", progress=progress)
    assert seen == [("writing coco-panoptic", 2)]


def test_coco_json_is_parsed_once_when_detected(tmp_path, monkeypatch):
    from panoptix.io import coco_instances, detect

    write_dataset(dataset(instances_sample()), tmp_path / "i.json", "coco-instances")
    calls = []
    real = detect.read_json
    monkeypatch.setattr(detect, "read_json", lambda p: calls.append(p) or real(p))
    monkeypatch.setattr(coco_instances, "read_json", lambda p: pytest.fail("parsed twice"))
    assert len(read_dataset(tmp_path / "i.json")) == 1 and len(calls) == 1


def test_labelme_folder_detected_even_when_jsons_are_nested(tmp_path):
    sub = tmp_path / "batch1"
    sub.mkdir()
    (sub / "a.json").write_text(json.dumps({"shapes": [], "imageHeight": 2, "imageWidth": 2, "imagePath": "a.jpg"}))
    assert detect_format(tmp_path) == "labelme"
    assert read_dataset(tmp_path).images[0].id == "batch1/a"


@pytest.mark.parametrize("fmt", ["semantic-png", "coco-panoptic", "cityscapes"])
def test_writers_refuse_a_map_of_another_size_than_its_image(tmp_path, fmt):
    from panoptix.core import Category, PanopticMap, SemanticMap, SizeMismatchError, Taxonomy
    from panoptix.io.dataset import Dataset, ImageInfo, Sample

    tax = Taxonomy([Category(7, "road", isthing=False)])
    info = ImageInfo(5, "a.jpg", 4, 6)  # 6x4 image, 3x2 map
    sample = (Sample(info, semantic=SemanticMap(np.full((2, 3), 7))) if fmt == "semantic-png"
              else Sample(info, panoptic=PanopticMap.from_ids(np.ones((2, 3), np.int64), {1: 7})))
    kind = "semantic" if fmt == "semantic-png" else "panoptic"
    with pytest.raises(SizeMismatchError, match=rf"image 5: {kind} map is 3x2, the image is 6x4"):
        write_dataset(Dataset.from_samples(tax, [sample]), tmp_path / "out", fmt)
