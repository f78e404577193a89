"""The streaming JSON reader and the splitter, on hand-made files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panoptix.core.errors import FormatError, OutputError, ValidationError
from panoptix.distributed.split import iter_json_array, shard_ids, split_by_image, split_panoptic

# ---------------------------------------------------------------- the streaming reader
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\/{}[],: \n\té€'), max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(json_values, max_size=10), indent=st.sampled_from([None, 1]),
       chunk=st.sampled_from([1, 3, 64, 1 << 20]))
def test_reader_gives_back_any_array(tmp_path, items, indent, chunk):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(items, indent=indent, ensure_ascii=False), encoding="utf-8")
    assert list(iter_json_array(path, chunk_size=chunk)) == items
    obj = {"info": {"x": items[:2]}, "n": 3, "annotations": items, "tail": "]}"}
    path.write_text(json.dumps(obj, indent=indent))
    assert list(iter_json_array(path, key="annotations", chunk_size=chunk)) == items


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n", "empty"),
    ('{"a": 1}', "expected a JSON array"),
    ('[{"a": 1}, {"b": 2}', "truncated"),
    ('[{"a": "unterminated}]', "truncated"),
    ('[1, 2] [3]', "invalid JSON near byte 7"),
    ('[1, 2]]', "invalid JSON"),
    ('[1, {"a" 2}]', "invalid JSON"),
    ('[1, nope]', "invalid JSON"),
])
def test_reader_refuses_broken_files(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(FormatError, match=message) as exc:
        list(iter_json_array(path, chunk_size=3))
    assert exc.value.file == str(path)


def test_reader_missing_file(tmp_path):
    with pytest.raises(FormatError, match="file not found"):
        list(iter_json_array(tmp_path / "nope.json"))


# ---------------------------------------------------------------- splitting
def _gt(ids, anns=(), cats=({"id": 1, "name": "a"},)):
    return {"images": [{"id": i, "file_name": f"{i}.jpg", "height": 4, "width": 4} for i in ids],
            "annotations": list(anns), "categories": list(cats)}


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def _det(image_id, score=0.5, **kw):
    return {"image_id": image_id, "category_id": 1, "score": score,
            "segmentation": {"size": [4, 4], "counts": "04L4"}, **kw}


def test_shard_ids_sorted_runs():
    assert shard_ids([9, 2, 5, 1], 3) == [[1, 2, 5], [9]]
    assert shard_ids([], 3) == []
    with pytest.raises(FormatError):
        shard_ids([1], 0)


def test_split_routes_each_detection_to_its_images_shard(tmp_path):
    gt = _write(tmp_path / "gt.json", _gt([30, 10, 20, 40], [
        {"id": 1, "image_id": 40, "category_id": 1, "segmentation": [], "area": 1},
        {"id": 2, "image_id": 10, "category_id": 1, "segmentation": [], "area": 1},
        {"id": 3, "image_id": 99, "category_id": 1, "segmentation": [], "area": 1},  # not in images
    ]))
    dets = [_det(20, 0.1), _det(40, 0.2), _det(10, 0.3), _det(20, 0.4), _det(30, 0.5)]
    res = _write(tmp_path / "res.json", dets)
    plan = split_by_image(gt, res, tmp_path / "shards", shard_size=2, chunk_size=16)
    assert [s.image_ids for s in plan.shards] == [[10, 20], [30, 40]]
    first, second = (json.loads(open(s.pred).read()) for s in plan.shards)
    assert [d["score"] for d in first] == [0.1, 0.3, 0.4]  # file order kept
    assert [d["score"] for d in second] == [0.2, 0.5]
    assert [s.n_pred for s in plan.shards] == [3, 2]
    assert np.load(plan.shards[0].pred_index).tolist() == [0, 2, 3]
    g0, g1 = (json.loads(open(s.gt).read()) for s in plan.shards)
    assert [i["id"] for i in g0["images"]] == [10, 20] and [a["id"] for a in g0["annotations"]] == [2]
    assert [a["id"] for a in g1["annotations"]] == [1]
    assert g0["categories"] == g1["categories"] == [{"id": 1, "name": "a"}]
    assert plan.gt_dropped == 1  # pycocotools leaves it out too
    assert not plan.owned
    plan.cleanup()
    assert (tmp_path / "shards").is_dir()  # given folders are the caller's


def test_split_empty_results_and_one_huge_image(tmp_path):
    gt = _write(tmp_path / "gt.json", _gt([1, 2, 3]))
    plan = split_by_image(gt, _write(tmp_path / "empty.json", []), shard_size=2)
    assert [json.loads(open(s.pred).read()) for s in plan.shards] == [[], []]
    assert plan.owned
    plan.cleanup()
    assert not (tmp_path / plan.root).exists()
    many = [_det(2, k / 1000) for k in range(1000)]
    plan = split_by_image(gt, _write(tmp_path / "huge.json", many), shard_size=1, chunk_size=4096)
    with plan:
        counts = [len(json.loads(open(s.pred).read())) for s in plan.shards]
        assert counts == [0, 1000, 0]
        assert [d["score"] for d in json.loads(open(plan.shards[1].pred).read())] == [k / 1000 for k in range(1000)]


def test_split_detection_for_unknown_image_is_an_error(tmp_path):
    gt = _write(tmp_path / "gt.json", _gt([1, 2]))
    res = _write(tmp_path / "res.json", [_det(1), _det(2), _det(7)])
    out = tmp_path / "shards"
    with pytest.raises(FormatError) as exc:
        split_by_image(gt, res, out)
    err = exc.value
    assert err.file == str(res) and err.image_id == 7 and "#3" in str(err)
    assert "not in the ground truth" in str(err)
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("dets, message", [
    ([_det(1), [1, 2]], "#2 is not an object"),
    ([{"category_id": 1, "score": 1}], "no 'image_id'"),
    ({"annotations": []}, "expected a JSON array"),
])
def test_split_bad_results(tmp_path, dets, message):
    gt = _write(tmp_path / "gt.json", _gt([1]))
    with pytest.raises(FormatError, match=message):
        split_by_image(gt, _write(tmp_path / "res.json", dets))


def test_split_bad_ground_truth(tmp_path):
    with pytest.raises(FormatError, match="no 'images'"):
        split_by_image(_write(tmp_path / "a.json", {"annotations": [], "categories": []}), None)
    with pytest.raises(FormatError, match="no 'annotations'"):
        split_by_image(_write(tmp_path / "b.json", {"images": [], "categories": []}), None)
    with pytest.raises(FormatError, match="all be numbers or all be strings"):
        split_by_image(_write(tmp_path / "c.json", _gt([1, "x"])), None)
    with pytest.raises(FormatError, match="expected a JSON object"):
        split_by_image(_write(tmp_path / "d.json", []), None)


def test_split_refuses_a_non_empty_folder(tmp_path):
    gt = _write(tmp_path / "gt.json", _gt([1]))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        split_by_image(gt, None, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_split_keeps_the_whole_files_first_record_rule(tmp_path):
    """The file's first record has no box: a shard whose first record has one gets it
    without its box, so each shard is read with the whole file's (mask-area) rule."""
    gt = _write(tmp_path / "gt.json", _gt([1, 2]))
    res = _write(tmp_path / "res.json", [_det(1), _det(2, bbox=[0, 0, 1, 1]), _det(2, bbox=[0, 0, 2, 2])])
    with split_by_image(gt, res, shard_size=1) as plan:
        second = json.loads(open(plan.shards[1].pred).read())
    assert "bbox" not in second[0] and second[1]["bbox"] == [0, 0, 2, 2]
    res = _write(tmp_path / "res2.json", [_det(1, bbox=[0, 0, 1, 1]), _det(2, bbox=[0, 0, 2, 2])])
    with split_by_image(gt, res, shard_size=1) as plan:  # box rule: every record keeps its box
        assert json.loads(open(plan.shards[1].pred).read())[0]["bbox"] == [0, 0, 2, 2]


# ---------------------------------------------------------------- panoptic
def _pan(ids, cats=({"id": 1, "name": "a", "isthing": 1},)):
    return {"annotations": [{"image_id": i, "file_name": f"{i}.png", "segments_info": []} for i in ids],
            "categories": list(cats)}


def test_split_panoptic_by_annotation_position(tmp_path):
    gt = _write(tmp_path / "gt.json", _pan([5, 3, 9, 1, 7]))
    pred = _write(tmp_path / "pred.json", {"annotations": _pan([7, 1, 9, 3, 5, 42])["annotations"]})
    with split_panoptic(gt, pred, shard_size=2, chunk_size=8) as plan:
        assert [s.image_ids for s in plan.shards] == [[5, 3], [9, 1], [7]]
        assert plan.starts == [0, 2, 4]
        assert [[a["image_id"] for a in json.loads(open(s.pred).read())["annotations"]] for s in plan.shards] \
            == [[3, 5], [1, 9], [7]]  # 42 is not annotated: left out
        assert json.loads(open(plan.shards[2].gt).read())["categories"] == plan.categories


def test_split_panoptic_errors(tmp_path):
    gt = _write(tmp_path / "gt.json", _pan([1, 2]))
    with pytest.raises(ValidationError, match="no prediction") as exc:
        split_panoptic(gt, _write(tmp_path / "p1.json", {"annotations": _pan([1])["annotations"]}))
    assert exc.value.image_id == 2
    with pytest.raises(ValidationError, match="two predictions") as exc:
        split_panoptic(gt, _write(tmp_path / "p2.json", {"annotations": _pan([1, 2, 1])["annotations"]}))
    assert exc.value.image_id == 1
    with pytest.raises(FormatError, match="'annotations' list"):
        split_panoptic(gt, _write(tmp_path / "p3.json", {"images": []}))
    with pytest.raises(FormatError, match="no 'categories'"):
        split_panoptic(_write(tmp_path / "g.json", {"annotations": []}), tmp_path / "p1.json")


@pytest.mark.parametrize("chunk", [1, 7, 256, 1 << 20])
def test_split_reads_image_ids_wherever_they_are(tmp_path, chunk):
    """image_id first, last, after nested objects holding their own "image_id", as a string,
    with odd spacing: every record lands in its image's shard, bytes unchanged."""
    rng = np.random.default_rng(chunk)
    ids = ["a", "b", "c", "10", "2"]
    gt = _write(tmp_path / "gt.json", _gt(ids))
    texts, expected = [], {i: [] for i in ids}
    for k in range(60):
        iid = ids[int(rng.integers(0, len(ids)))]
        meta = {"image_id": 999, "deep": [{"image_id": 998}], "s": 'x"image_id": 997'}
        parts = [f'"meta" : {json.dumps(meta)}', f'"score":{k / 100}', f'"image_id" :  {json.dumps(iid)}']
        rng.shuffle(parts)
        text = "{ " + " ,\n".join(parts) + " }"
        texts.append(text)
        expected[iid].append(json.loads(text))
    res = tmp_path / "res.json"
    res.write_text("[\n" + ",\n".join(texts) + "\n]")
    with split_by_image(gt, res, shard_size=1, chunk_size=chunk) as plan:
        got = {s.image_ids[0]: json.loads(open(s.pred).read()) for s in plan.shards}
    assert got == expected
