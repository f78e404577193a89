import json
import shutil

import numpy as np
import pytest
from PIL import Image

from panoptix.core import FormatError, OutputError, SizeMismatchError, ValidationError, rgb_to_id
from panoptix.io import coco_panoptic, read_dataset, write_dataset
from panoptix.io.dataset import Dataset, ImageInfo, Sample

from .conftest import (COCO_TINY, FIXTURES, PANOPTIC_SAMPLE, dataset, need, paint_panoptic, panoptic_sample,
                       taxonomy, truncate)


@pytest.fixture
def written(tmp_path):
    ds = dataset(panoptic_sample(1, "a.jpg"), panoptic_sample(2, "sub/b.jpg"))
    write_dataset(ds, tmp_path / "pan.json", "coco-panoptic")
    return ds, tmp_path / "pan.json"


def test_round_trip_keeps_ids_categories_crowd_areas_boxes(written, tmp_path):
    ds, path = written
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "pan").rglob("*.png")) == \
        ["pan/a.png", "pan/sub/b.png"]
    data = json.loads(path.read_text())
    assert [a["file_name"] for a in data["annotations"]] == ["a.png", "sub/b.png"]
    assert {c["id"]: c["isthing"] for c in data["categories"]} == {1: 1, 3: 1, 7: 0, 9: 0}
    back = read_dataset(path)
    assert back.format == "coco-panoptic" and back.taxonomy == ds.taxonomy
    for a, b in zip(ds, back):
        assert b.panoptic == a.panoptic  # ids, category, crowd, area, bbox
        assert b.panoptic.problems(back.taxonomy) == []
    png = np.array(Image.open(tmp_path / "pan" / "a.png"))
    assert np.array_equal(rgb_to_id(png), ds.sample(1).panoptic.ids)


def test_areas_and_boxes_are_measured_on_write(tmp_path):
    s = panoptic_sample()
    from panoptix.core import PanopticMap, Segment

    wrong = PanopticMap(s.panoptic.ids, [Segment(x.id, x.category_id, x.iscrowd, area=1) for x in s.panoptic.segments]
                        + [Segment(555, 1)])  # a segment without pixels is dropped
    coco_panoptic.write(dataset(Sample(s.image, panoptic=wrong)), tmp_path)
    back = coco_panoptic.read(tmp_path / "panoptic.json").sample(1).panoptic
    assert back == s.panoptic


def test_png_folder_defaults_like_panopticapi_and_png_dir_overrides(written, tmp_path):
    _, path = written
    shutil.move(tmp_path / "pan", tmp_path / "elsewhere")
    with pytest.raises(FormatError, match="pan/a.png.*file not found"):
        read_dataset(path).sample(1)
    assert read_dataset(path, png_dir=tmp_path / "elsewhere").sample(1).panoptic is not None


def test_reads_the_panopticapi_sample_and_round_trips_it(tmp_path):
    ds = read_dataset(need(PANOPTIC_SAMPLE))
    assert len(ds) == 2 and len(ds.taxonomy) == 133 and ds.taxonomy[184].isthing is False
    write_dataset(ds, tmp_path / "out.json", "coco-panoptic")
    src, out = (json.loads(p.read_text()) for p in (PANOPTIC_SAMPLE, tmp_path / "out.json"))
    assert out["categories"] == src["categories"] and out["info"] == src["info"]
    for a, b in zip(src["annotations"], out["annotations"]):
        assert sorted(a["segments_info"], key=lambda s: s["id"]) == sorted(b["segments_info"], key=lambda s: s["id"])
        pa = np.array(Image.open(PANOPTIC_SAMPLE.with_suffix("") / a["file_name"]))
        pb = np.array(Image.open(tmp_path / "out" / b["file_name"]))
        assert np.array_equal(pa, pb)


def test_coco_tiny_painted_round_trip(tmp_path):
    src = read_dataset(need(COCO_TINY))
    pan = Dataset.from_samples(src.taxonomy, [paint_panoptic(src.load(info)) for info in src.images[:8]])
    write_dataset(pan, tmp_path / "p.json", "coco-panoptic")
    back = read_dataset(tmp_path / "p.json")
    for a, b in zip(pan, back):
        assert a.image.to_coco() == b.image.to_coco()
        assert b.panoptic == a.panoptic


def test_reads_the_datumaro_layout():
    path = need(FIXTURES / "coco_panoptic" / "annotations" / "panoptic_val.json")
    ds = read_dataset(path)
    assert ds.image_root == FIXTURES / "coco_panoptic" / "images" / "val"
    pan = ds.sample(40).panoptic
    assert np.unique(pan.ids).tolist() == [0, 7, 20]
    assert [(s.id, s.category_id, s.iscrowd) for s in pan.segments] == [(7, 1, False), (20, 2, True)]
    assert [c.isthing for c in ds.taxonomy] == [False, False]


# ------------------------------------------------------------------ bad input
def test_truncated_and_non_png_files_name_the_png_and_the_image(written, tmp_path):
    _, path = written
    truncate(tmp_path / "pan" / "a.png")
    with pytest.raises(FormatError, match=r"pan/a.png, image 1: not a readable image"):
        read_dataset(path).sample(1)
    (tmp_path / "pan" / "sub" / "b.png").write_text("not a png")
    with pytest.raises(FormatError, match=r"pan/sub/b.png, image 2: not a readable image"):
        read_dataset(path).sample(2)


def test_png_of_another_size_than_the_image_record(written, tmp_path):
    _, path = written
    Image.new("RGB", (5, 5)).save(tmp_path / "pan" / "a.png")
    with pytest.raises(SizeMismatchError, match=r"a.png, image 1: PNG is 5x5, the image record says 16x12"):
        read_dataset(path).sample(1)


def test_segment_problems_are_reported_with_ids(written, tmp_path):
    _, path = written
    data = json.loads(path.read_text())
    infos = data["annotations"][0]["segments_info"]
    dropped = infos.pop(0)
    infos[0]["category_id"] = 4242
    infos.append({"id": 77, "category_id": 1, "iscrowd": 0})
    path.write_text(json.dumps(data))
    ds = read_dataset(path)
    problems = [str(p) for p in ds.sample(1).panoptic.problems(ds.taxonomy, file=ds.source, image_id=1,
                                                                check_area=False)]
    assert f"{path}, image 1, segment {infos[0]['id']}: unknown category id 4242" in problems
    assert f"{path}, image 1, segment 77: segment is in the JSON but not in the PNG" in problems
    assert f"{path}, image 1, segment {dropped['id']}: segment is in the PNG but not in the JSON" in problems
    with pytest.raises(ValidationError, match=r"image 1, segment \d+:"):
        write_dataset(ds, tmp_path / "again.json", "coco-panoptic")
    assert not (tmp_path / "again.json").exists()


@pytest.mark.parametrize("mutate, error, match", [
    (lambda d: d["annotations"][0].pop("segments_info"), FormatError, r"image 1: annotation has no 'segments_info'"),
    (lambda d: d["annotations"][0].update(segments_info={}), FormatError, r"image 1: annotation segments_info has"),
    (lambda d: d["annotations"][0]["segments_info"][0].pop("category_id"), FormatError,
     r"image 1, segment \d+: segment has no 'category_id'"),
    (lambda d: d["annotations"][0]["segments_info"][0].update(area="big"), FormatError,
     r"image 1, segment \d+: segment record is malformed"),
    (lambda d: d["annotations"][0].update(image_id=99), FormatError, r"image 99: annotation refers to an image"),
    (lambda d: d.pop("categories"), FormatError, "no 'categories' in the file: pass taxonomy="),
])
def test_bad_json(written, mutate, error, match):
    _, path = written
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(error, match=match):
        ds = read_dataset(path)
        ds.sample(1)


def test_a_crash_mid_write_leaves_no_json_pointing_to_missing_pngs(tmp_path):
    good = panoptic_sample(1, "a.jpg")
    bad = Sample(ImageInfo(2, "b.jpg", 3, 3))

    def load(info):
        if info.id == 2:
            raise FormatError("disk on fire", file="b.png")
        return good

    ds = Dataset(taxonomy(), [good.image, bad.image], load)
    with pytest.raises(FormatError, match="b.png, image 2: disk on fire"):
        coco_panoptic.write(ds, tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_unwritable_and_empty(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        coco_panoptic.write(dataset(panoptic_sample()), tmp_path / "file" / "p.json")
    with pytest.raises(ValidationError, match="no images"):
        coco_panoptic.write(Dataset(taxonomy(), [], lambda i: None), tmp_path / "p.json")


def test_two_images_writing_one_png_is_refused(tmp_path):
    ds = dataset(panoptic_sample(1, "a.jpg"), panoptic_sample(2, "a.png"))
    with pytest.raises(ValidationError, match="images 1 and 2 would both write a.png"):
        coco_panoptic.write(ds, tmp_path / "p.json")
    with pytest.raises(OutputError, match="outside the output folder"):
        coco_panoptic.write(dataset(panoptic_sample(1, "../x.jpg")), tmp_path / "q.json")


def test_prediction_file_without_images_takes_sizes_from_the_pngs(tmp_path, sample_dir):
    import json
    import shutil

    from panoptix.io import read_dataset

    shutil.copytree(sample_dir / "panoptic", tmp_path / "pred")
    data = json.loads((sample_dir / "panoptic.json").read_text())
    (tmp_path / "pred.json").write_text(json.dumps({"annotations": data["annotations"],
                                                    "categories": data["categories"]}))
    ds = read_dataset(tmp_path / "pred.json", "coco-panoptic")
    sizes = {i["id"]: (i["height"], i["width"]) for i in data["images"]}
    assert {i.id: (i.height, i.width) for i in ds.images} == sizes
    assert all(s.panoptic is not None and s.panoptic.problems(ds.taxonomy) == [] for s in ds)


def test_written_files_have_the_usual_permissions(tmp_path):
    import os
    import stat

    from panoptix.io.files import write_json

    write_json(tmp_path / "x.json", {})
    mode = stat.S_IMODE(os.stat(tmp_path / "x.json").st_mode)
    umask = os.umask(0o022); os.umask(umask)
    assert mode == 0o666 & ~umask
