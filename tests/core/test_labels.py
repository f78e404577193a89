import numpy as np
import pytest

from panoptix.core import (Category, CategoryError, Instances, PanopticMap, Segment, SemanticMap,
                           SizeMismatchError, Taxonomy, ValidationError, id_to_rgb, rgb_to_id)

TAX = Taxonomy([Category(1, "person"), Category(3, "car"), Category(184, "sky", isthing=False)])


def test_semantic_map_checks_shape_type_and_categories():
    sem = SemanticMap(np.array([[1, 184], [255, 7]]))
    problems = sem.problems(TAX, image_id=5, file="x.png")
    assert len(problems) == 1 and "unknown class id 7" in str(problems[0]) and "image 5" in str(problems[0])
    with pytest.raises(SizeMismatchError):
        SemanticMap(np.zeros(4, int))
    with pytest.raises(ValidationError):
        SemanticMap(np.array([[0.5]]))
    with pytest.raises(ValidationError):
        SemanticMap(np.array([[-1]]))


def test_instances_lazy_masks_areas_boxes_and_selection():
    masks = np.zeros((3, 5, 6), bool)
    masks[0, 0:2, 0:3] = True
    masks[1, 1:5, 2:6] = True   # overlaps object 0
    masks[2, 4, 5] = True
    inst = Instances.from_masks(masks, [1, 3, 1], scores=[0.9, 0.5, 0.7])
    assert inst.areas.tolist() == [6.0, 16.0, 1.0]
    assert inst.bboxes.tolist()[1] == [2.0, 1.0, 4.0, 4.0]
    assert np.array_equal(inst.masks(), masks)
    sub = inst[inst.category_ids == 1]
    assert len(sub) == 2 and sub.scores.tolist() == [0.9, 0.7] and np.array_equal(sub.mask(1), masks[2])


def test_instances_coco_round_trip_keeps_polygons_and_area_field():
    anns = [{"id": 11, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 123.5, "bbox": [1, 1, 3, 3],
             "segmentation": [[1, 1, 4, 1, 4, 4, 1, 4]]},
            {"id": 12, "image_id": 1, "category_id": 3, "iscrowd": 1, "area": 4, "bbox": [0, 0, 2, 2],
             "segmentation": {"size": [6, 6], "counts": [0, 2, 4, 2, 28]}}]
    inst = Instances.from_coco(anns, 6, 6)
    assert inst.areas.tolist() == [123.5, 4.0]       # the annotation's field, not the pixel count
    assert inst.iscrowd.tolist() == [False, True]
    back = inst.to_coco(1)
    assert back == anns


def test_instances_missing_field_names_annotation():
    from panoptix.core import FormatError
    with pytest.raises(FormatError, match="image 4, segment 9: annotation has no 'category_id'"):
        Instances.from_coco([{"id": 9, "segmentation": []}], 3, 3, image_id=4)


def test_instances_problems_unknown_category_and_bad_rle():
    inst = Instances([[0, 0, 2, 0, 2, 2], {"size": [9, 9], "counts": [81]}], 3, 3, [1, 99], ids=[5, 6])
    msgs = [str(p) for p in inst.problems(TAX, image_id=1)]
    assert any("segment 6" in m and "unknown category id 99" in m for m in msgs)
    assert any("segment 6" in m and "differs from image size" in m for m in msgs)


def test_panoptic_rgb_encoding_round_trip():
    ids = np.array([[0, 1, 256], [65536, 70000, 16777215]])
    rgb = id_to_rgb(ids)
    assert rgb[0, 2].tolist() == [0, 1, 0]
    assert np.array_equal(rgb_to_id(rgb), ids)
    with pytest.raises(ValidationError):
        id_to_rgb(np.array([[-1]]))


def test_panoptic_validation_names_every_problem():
    ids = np.array([[0, 1, 1], [2, 2, 9]])
    pan = PanopticMap(ids, [Segment(1, 184, area=2), Segment(2, 184, area=3), Segment(4, 1, area=0),
                            Segment(1, 3, area=2), Segment(5, 77, area=0)])
    msgs = [str(p) for p in pan.problems(TAX, image_id=3, file="a.png")]
    joined = "\n".join(msgs)
    assert "segment 9: segment is in the PNG but not in the JSON" in joined
    assert "segment 4: segment is in the JSON but not in the PNG" in joined
    assert "two segments (1 and 2) of stuff class 'sky'" in joined
    assert "duplicate segment id" in joined
    assert "unknown category id 77" in joined
    assert all(m.startswith("a.png, image 3") for m in msgs)
    with pytest.raises(ValidationError):
        pan.validate(TAX)


def test_panoptic_from_ids_measures_area_and_bbox():
    ids = np.zeros((4, 5), int)
    ids[1:3, 2:5] = 7
    pan = PanopticMap.from_ids(ids, {7: 1})
    assert pan.segment(7).area == 6 and pan.segment(7).bbox == (2.0, 1.0, 3.0, 2.0)
    assert pan.problems(TAX) == []


@pytest.mark.parametrize("seed", range(8))
def test_panoptic_stats_match_a_pixel_by_pixel_measure(seed):
    # stats() measures runs; the reference measures every pixel of every id.
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 30, 2)
    ids = rng.integers(0, 1 + seed % 5, (h, w)) * 7919
    if seed % 2:
        ids = np.repeat(ids, 4, axis=1)  # long runs, as label maps have
    if seed == 4:
        ids[:] = 3  # one segment over the whole image
    pan = PanopticMap.from_ids(ids, {int(i): 1 for i in np.unique(ids) if i})
    expect = {}
    for sid in np.unique(ids).tolist():
        if sid == 0:
            continue
        ys, xs = np.nonzero(ids == sid)
        expect[sid] = (len(ys), (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                                 float(ys.max() - ys.min() + 1)))
    assert pan.stats() == expect


@pytest.mark.parametrize("channels", [3, 4, 5])
@pytest.mark.parametrize("shape", [(7, 9), (1, 1), (0, 5)])
def test_rgb_to_id_reads_every_layout(channels, shape):
    rng = np.random.default_rng(channels)
    px = rng.integers(0, 256, shape + (channels,)).astype(np.uint8)
    r = px.astype(np.int64)
    expect = r[..., 0] + 256 * r[..., 1] + 65536 * r[..., 2]
    # contiguous, strided, not uint8
    for arr, want in ((px, expect), (px[:, ::-1], expect[:, ::-1]), (px.astype(np.int32), expect)):
        got = rgb_to_id(arr)
        assert got.dtype == np.int64 and got.shape == shape
        assert np.array_equal(got, want)
