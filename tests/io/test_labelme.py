import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from panoptix.core import FormatError, Instances, masks as M
from panoptix.io import labelme, read_dataset, write_dataset

from .conftest import COCO_TINY, dataset, instances_sample, need, taxonomy, write_image


def _mask_b64(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _labelme_file(tmp_path, shapes, name="img.json", h=10, w=12):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": name.replace(".json", ".jpg"),
            "imageData": None, "imageHeight": h, "imageWidth": w}
    (tmp_path / name).write_text(json.dumps(data))
    return tmp_path / name


def _shape(label, points, kind="polygon", group=None, **extra):
    return {"label": label, "points": points, "group_id": group, "shape_type": kind, "flags": {}, **extra}


def test_reads_every_region_shape_and_merges_groups(tmp_path):
    crop = np.zeros((3, 4), bool)
    crop[1:, 1:3] = True
    shapes = [
        _shape("dog", [[1, 1], [4, 1], [4, 4]], group=3),
        _shape("dog", [[6, 1], [8, 1], [8, 3]], group=3),  # same label and group: one object
        _shape("cat", [[0, 5], [3, 8]], "rectangle"),
        _shape("cat", [[8, 7], [9, 7]], "circle", flags={"iscrowd": True}),
        _shape("cat", [[5, 6], [8, 8]], "mask", mask=_mask_b64(crop)),
        _shape("dog", [[0, 0], [5, 5]], "line"),  # no area: skipped
    ]
    ds = read_dataset(_labelme_file(tmp_path, shapes).parent)
    assert ds.format == "labelme" and [c.name for c in ds.taxonomy] == ["dog", "cat"]
    assert ds.images[0].file_name == "img.jpg"
    inst = ds.sample("img").instances
    assert inst.category_ids.tolist() == [1, 2, 2, 2] and inst.iscrowd.tolist() == [False, False, True, False]
    assert inst.segmentations[0] == [[1.0, 1.0, 4.0, 1.0, 4.0, 4.0], [6.0, 1.0, 8.0, 1.0, 8.0, 3.0]]
    assert inst.segmentations[1] == [[0.0, 5.0, 3.0, 5.0, 3.0, 8.0, 0.0, 8.0]]
    assert inst.mask_areas[1] == 9
    circle = inst.mask(2)
    assert circle[7, 8] and circle.sum() == 5
    expected = np.zeros((10, 12), bool)
    expected[6:9, 5:9] = crop
    assert np.array_equal(inst.mask(3), expected)


def test_round_trip_keeps_polygons_exactly_and_masks_pixel_for_pixel(tmp_path):
    ds = dataset(instances_sample(1, "a.jpg"))
    write_dataset(ds, tmp_path, "labelme")
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["imagePath"] == "a.jpg" and (data["imageHeight"], data["imageWidth"]) == (20, 30)
    kinds = [(s["label"], s["group_id"], s["flags"]) for s in data["shapes"]]
    assert kinds[:2] == [("person", 1, {}), ("person", 1, {})]  # one object in two polygons
    assert kinds[2] == ("person", None, {"iscrowd": True})
    back = read_dataset(tmp_path)
    assert back.taxonomy == ds.taxonomy  # from categories.json: ids, stuff flags, colours
    a, b = ds.sample(1).instances, back.sample("a").instances
    assert b.category_ids.tolist() == a.category_ids.tolist() and b.iscrowd.tolist() == a.iscrowd.tolist()
    assert b.segmentations[0] == a.segmentations[0]
    assert np.array_equal(b.masks(), a.masks())  # the ring's hole included


def test_mask_shapes_are_exact_too(tmp_path):
    ds = dataset(instances_sample())
    labelme.write(ds, tmp_path, mask_shapes=True)
    shapes = json.loads((tmp_path / "a.json").read_text())["shapes"]
    assert [s["shape_type"] for s in shapes] == ["polygon", "polygon", "mask", "mask"]
    assert np.array_equal(read_dataset(tmp_path).sample("a").instances.masks(), ds.sample(1).instances.masks())


def test_image_path_points_to_the_image(tmp_path):
    write_image(tmp_path / "photos" / "a.jpg", 20, 30)
    ds = dataset(instances_sample(), image_root=tmp_path / "photos")
    labelme.write(ds, tmp_path / "lm" / "x")
    assert json.loads((tmp_path / "lm" / "x" / "a.json").read_text())["imagePath"] == "../../photos/a.jpg"


def test_coco_tiny_round_trip(tmp_path):
    src = read_dataset(need(COCO_TINY))
    write_dataset(src, tmp_path, "labelme")
    back = read_dataset(tmp_path)
    assert back.taxonomy == src.taxonomy
    n_polygon = n_rle = 0
    for a in src:
        b = back.sample(a.image.file_name[:-4]).instances
        ia = a.instances
        assert b.category_ids.tolist() == ia.category_ids.tolist()
        assert b.iscrowd.tolist() == ia.iscrowd.tolist()
        for k, seg in enumerate(ia.segmentations):
            if isinstance(seg, list):  # polygons come back bit for bit
                assert b.segmentations[k] == seg
                n_polygon += 1
            else:  # crowd RLEs are traced: every pixel comes back
                assert np.array_equal(b.mask(k), ia.mask(k))
                n_rle += 1
    assert (n_polygon, n_rle) == (804, 11)


def test_bad_input(tmp_path):
    path = _labelme_file(tmp_path / "a", [_shape("dog", [[1, 1], [2, 2]])])
    with pytest.raises(FormatError, match=r"img.json, image img, segment 0: malformed polygon shape"):
        read_dataset(path.parent).sample("img")
    path = _labelme_file(tmp_path / "b", [_shape("dog", [[1, 1], [4, 1], [4, 4]])])
    with pytest.raises(FormatError, match="label 'dog' is not in the taxonomy"):
        labelme.read(path.parent, taxonomy=taxonomy())
    path = _labelme_file(tmp_path / "c", [{"points": []}])
    with pytest.raises(FormatError, match="segment 0: shape needs a string 'label'"):
        labelme.read(path.parent).sample("img")
    data = json.loads(path.read_text())
    del data["imageHeight"], data["imageWidth"]
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match="no imageHeight/imageWidth and no image to measure"):
        labelme.read(path.parent)
    write_image(path.parent / "img.jpg", 7, 9)
    assert labelme.read(path.parent).images[0].height == 7
    (tmp_path / "d").mkdir()
    with pytest.raises(FormatError, match="no LabelMe JSONs found"):
        labelme.read(tmp_path / "d")


def test_taxonomy_given_by_name(tmp_path):
    path = _labelme_file(tmp_path, [_shape("car", [[1, 1], [4, 1], [4, 4]])])
    inst = labelme.read(path.parent, taxonomy=taxonomy()).sample("img").instances
    assert inst.category_ids.tolist() == [3]
    assert isinstance(inst, Instances) and M.area(inst.rles[0]) > 0
