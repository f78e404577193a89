import json
import os

import numpy as np
import pytest

from panoptix.core import Category, CategoryError, FormatError, Instances, OutputError, Taxonomy, ValidationError
from panoptix.io import coco_instances, read_dataset, read_results, write_dataset, write_results
from panoptix.io.dataset import Dataset, ImageInfo, Sample

from .conftest import COCO_TINY, FIXTURES, dataset, instances_sample, need, taxonomy


def _coco(tmp_path, **changes):
    data = {"info": {"year": 2024}, "licenses": [{"id": 3, "name": "cc"}],
            "images": [{"id": 5, "file_name": "a.jpg", "height": 4, "width": 6, "license": 3}],
            "annotations": [{"id": 1, "image_id": 5, "category_id": 1, "iscrowd": 0, "area": 4.0,
                             "bbox": [0, 0, 2, 2], "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}],
            "categories": [{"id": 1, "name": "cell", "supercategory": ""}]}
    data.update(changes)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    return path, data


def test_round_trip_keeps_every_annotation_field_verbatim(tmp_path):
    ds = dataset(instances_sample(), meta={"info": {"description": "x"}, "licenses": [{"id": 3}]})
    write_dataset(ds, tmp_path / "a.json", "coco-instances")
    back = read_dataset(tmp_path / "a.json")
    write_dataset(back, tmp_path / "b.json", "coco-instances")
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a == b
    assert a["info"] == {"description": "x"} and a["licenses"] == [{"id": 3}]
    assert a["images"] == [{"license": 3, "coco_url": "http://x/a.jpg", "id": 1, "file_name": "a.jpg",
                            "height": 20, "width": 30}]
    anns = {r["id"]: r for r in a["annotations"]}
    assert sorted(anns) == [11, 12, 13]
    assert isinstance(anns[11]["segmentation"], list) and len(anns[11]["segmentation"]) == 2  # polygons kept
    assert isinstance(anns[12]["segmentation"]["counts"], list)  # uncompressed RLE stays uncompressed
    assert isinstance(anns[13]["segmentation"]["counts"], str)
    assert [anns[i]["iscrowd"] for i in (11, 12, 13)] == [0, 1, 0]
    assert anns[11]["area"] == 60.75 and anns[11]["bbox"] == [2, 1, 11, 8.25]
    src = next(iter(ds)).instances
    got = next(iter(back)).instances
    assert np.array_equal(src.masks(), got.masks())
    assert np.array_equal(src.areas, got.areas) and np.array_equal(src.bboxes, got.bboxes)
    assert back.taxonomy == ds.taxonomy  # stuff flags and colours survive


def test_categories_stay_plain_coco(tmp_path):
    tax = Taxonomy([Category(1, "person"), Category(2, "road", isthing=False, color=(1, 2, 3))])
    ds = Dataset.from_samples(tax, [Sample(ImageInfo(1, "a.jpg", 2, 2), instances=Instances.empty(2, 2))])
    coco_instances.write(ds, tmp_path)
    cats = json.loads((tmp_path / "instances.json").read_text())["categories"]
    assert cats[0] == {"id": 1, "name": "person", "supercategory": ""}
    assert cats[1] == {"id": 2, "name": "road", "supercategory": "", "isthing": 0, "color": [1, 2, 3]}


def test_coco_tiny_round_trip_is_identical(tmp_path):
    src = json.loads(need(COCO_TINY).read_text())
    ds = read_dataset(COCO_TINY)
    assert ds.format == "coco-instances" and len(ds) == 80 and ds.image_root.name == "val2017"
    write_dataset(ds, tmp_path / "out.json", "coco-instances")
    out = json.loads((tmp_path / "out.json").read_text())
    by_id = lambda recs: {r["id"]: r for r in recs}  # noqa: E731
    assert by_id(out["annotations"]) == by_id(src["annotations"])  # pixels, category, crowd, area, bbox, id
    assert by_id(out["images"]) == by_id(src["images"])
    assert out["categories"] == src["categories"]


def test_lazy_reading_groups_annotations_per_image(tmp_path):
    path, _ = _coco(tmp_path)
    ds = coco_instances.read(path)
    assert ds.meta == {"info": {"year": 2024}, "licenses": [{"id": 3, "name": "cc"}]}
    s = ds.sample(5)
    assert s.image.extra == {"license": 3} and s.instances.areas.tolist() == [4.0]


def test_duplicate_annotation_ids_across_images_are_renumbered(tmp_path):
    a, b = instances_sample(1, "a.jpg"), instances_sample(2, "b.jpg")
    write_dataset(dataset(a, b), tmp_path / "x.json", "coco-instances")
    ids = [r["id"] for r in json.loads((tmp_path / "x.json").read_text())["annotations"]]
    assert ids[:3] == [11, 12, 13] and len(set(ids)) == 6


def test_string_image_ids_get_integers(tmp_path):
    s1, s2 = instances_sample("000000000042", "x/42.jpg"), instances_sample("cat", "cat.jpg")
    write_dataset(dataset(s1, s2), tmp_path / "x.json", "coco-instances")
    imgs = json.loads((tmp_path / "x.json").read_text())["images"]
    assert [i["id"] for i in imgs] == [42, 1]


def test_results_read_against_gt_and_written_back(tmp_path):
    gt_path, _ = _coco(tmp_path)
    gt = coco_instances.read(gt_path)
    m = np.zeros((1, 4, 6), bool)
    m[0, :2, :3] = True
    pred = Instances.from_masks(m, [1], scores=[0.75])
    ds = Dataset.from_samples(gt.taxonomy, [Sample(gt.images[0], instances=pred)])
    write_results(ds, tmp_path / "res.json")
    dets = json.loads((tmp_path / "res.json").read_text())
    assert dets[0]["score"] == 0.75 and dets[0]["image_id"] == 5 and "id" not in dets[0]
    dets[0]["area"] = 999  # pycocotools recomputes a result's area from its mask
    back = read_results(dets, gt_path)
    inst = back.sample(5).instances
    assert inst.scores.tolist() == [0.75] and inst.areas.tolist() == [6.0]
    assert np.array_equal(inst.masks(), m)


def test_results_for_an_unknown_image_name_it(tmp_path):
    gt_path, _ = _coco(tmp_path)
    with pytest.raises(FormatError, match="image 77.*not in the ground truth"):
        read_results([{"image_id": 77, "category_id": 1, "segmentation": [], "score": 1.0}], gt_path)


def test_results_without_scores_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="scores"):
        write_results(dataset(instances_sample()), tmp_path / "r.json")


@pytest.mark.parametrize("change, match", [
    ({"images": [{"id": 5, "file_name": "a.jpg", "width": 6}]}, r"image 5: image record has no 'height'"),
    ({"images": [{"id": 5, "file_name": "a.jpg", "height": "4", "width": 6}]}, r"image 5: image height must be"),
    ({"images": {"id": 5}}, "'images' must be a list"),
    ({"annotations": [{"id": 1, "image_id": 6, "category_id": 1, "segmentation": []}]},
     "image 6, segment 1: annotation refers to an image that is not in 'images'"),
])
def test_bad_json_names_file_and_image(tmp_path, change, match):
    path, _ = _coco(tmp_path, **change)
    with pytest.raises(FormatError, match=match) as err:
        coco_instances.read(path)
    assert str(path) in str(err.value)


def test_bad_annotation_fails_when_its_image_is_loaded(tmp_path):
    ann = {"id": 9, "image_id": 5, "category_id": 1, "segmentation": "oops"}
    path, _ = _coco(tmp_path, annotations=[ann])
    ds = coco_instances.read(path)
    with pytest.raises(FormatError, match=r"gt.json, image 5, segment 9: segmentation is neither"):
        ds.sample(5)
    path, _ = _coco(tmp_path, annotations=[{"id": 9, "image_id": 5, "segmentation": []}])
    with pytest.raises(FormatError, match=r"image 5, segment 9: annotation has no 'category_id'"):
        coco_instances.read(path).sample(5)


def test_unknown_category_is_reported_and_refused_on_write(tmp_path):
    ann = {"id": 9, "image_id": 5, "category_id": 42, "segmentation": [[0, 0, 2, 0, 2, 2]]}
    path, _ = _coco(tmp_path, annotations=[ann])
    ds = coco_instances.read(path)
    sample = ds.sample(5)  # content problems do not stop reading ...
    problems = sample.instances.problems(ds.taxonomy, file=ds.source, image_id=5)
    assert [str(p) for p in problems] == [f"{path}, image 5, segment 9: unknown category id 42"]
    with pytest.raises(CategoryError, match="image 5, segment 9: unknown category id 42"):  # ... but writing
        coco_instances.write(ds, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_results_list_and_gt_are_told_apart(tmp_path):
    path, _ = _coco(tmp_path)
    (tmp_path / "r.json").write_text("[]")
    with pytest.raises(FormatError, match="read_results"):
        coco_instances.read(tmp_path / "r.json")
    with pytest.raises(FormatError, match="must be a list"):
        read_results(path, path)


def test_empty_dataset_and_unwritable_output(tmp_path):
    with pytest.raises(ValidationError, match="no images: nothing to write"):
        write_dataset(Dataset(taxonomy(), [], lambda i: None), tmp_path / "x.json", "coco-instances")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        write_dataset(dataset(instances_sample()), blocker / "x.json", "coco-instances")
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(OutputError, match="cannot write"):
            write_dataset(dataset(instances_sample()), ro / "x.json", "coco-instances")


def test_reads_the_datumaro_layout():
    ds = read_dataset(need(FIXTURES / "coco_instances" / "annotations" / "instances_val.json"))
    assert ds.image_root == FIXTURES / "coco_instances" / "images" / "val"
    inst = ds.sample(40).instances
    assert inst.category_ids.tolist() == [1, 2] and inst.iscrowd.tolist() == [False, True]
    assert inst.mask_areas.tolist() == [2.0, 20.0] and [c.name for c in ds.taxonomy] == ["a", "b", "c"]
    with pytest.raises(FormatError, match="expected one COCO JSON in the folder"):
        coco_instances.read(FIXTURES / "coco_instances" / "annotations")
