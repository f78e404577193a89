"""Semantic metrics against a plain numpy reference and against mmseg's and detectron2's
definitions (written out here from their code), merge laws, the folder path and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from panoptix.core import SemanticMap
from panoptix.core.errors import FormatError, SizeMismatchError, ValidationError
from panoptix.metrics import SemanticEvaluator, evaluate_semantic_folder, semantic_metrics
from panoptix.metrics.semantic import SUMMARY_KEYS, confusion

N = 7  # class 5 never appears anywhere, class 6 is only predicted, class 4 is only in the ground truth


def random_pair(rng, h=23, w=31, n=N, ignore=255):
    gt = rng.choice([0, 1, 2, 3, 4], size=(h, w), p=[0.3, 0.25, 0.2, 0.15, 0.1]).astype(np.uint8)
    pred = gt.copy()
    noise = rng.random((h, w)) < 0.3
    pred[noise] = rng.choice([0, 1, 2, 3, 6], size=int(noise.sum()))
    pred[pred == 4] = 3                                   # class 4 never predicted
    gt[rng.random((h, w)) < 0.1] = ignore                 # ignored ground truth
    pred[rng.random((h, w)) < 0.03] = ignore              # "no prediction"
    return gt, pred


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    return [random_pair(rng) for _ in range(6)]


# --------------------------------------------------------------------------- references
def plain_reference(pairs, n, ignore=255):
    """Pixel counting with boolean masks, class by class."""
    tp = np.zeros(n)
    gt_area = np.zeros(n)
    pred_area = np.zeros(n)
    for gt, pred in pairs:
        valid = gt != ignore
        for c in range(n):
            tp[c] += np.sum((gt == c) & (pred == c) & valid)
            gt_area[c] += np.sum((gt == c) & valid)
            pred_area[c] += np.sum((pred == c) & valid)
    return tp, gt_area, pred_area


def mmseg_reference(pairs, n, ignore=255, reduce_zero_label=False):
    """mmseg ``intersect_and_union`` + ``total_area_to_metrics`` + ``nanmean`` (float64 here)."""
    ti = np.zeros(n)
    tu = np.zeros(n)
    tp_ = np.zeros(n)
    tl = np.zeros(n)
    for gt, pred in pairs:
        label = gt.astype(np.int64)
        if reduce_zero_label:
            label[label == 0] = 255
            label = label - 1
            label[label == 254] = 255
        mask = label != ignore
        p, l = pred.astype(np.int64)[mask], label[mask]
        intersect = p[p == l]

        def histc(x):  # torch.histc(bins=n, min=0, max=n-1): values outside are dropped
            x = x[(x >= 0) & (x <= n - 1)]
            return np.bincount(x, minlength=n).astype(np.float64)

        ai, ap, al = histc(intersect), histc(p), histc(l)
        ti += ai
        tu += ap + al - ai
        tp_ += ap
        tl += al
    with np.errstate(divide="ignore", invalid="ignore"):
        res = {"aAcc": ti.sum() / tl.sum(), "IoU": ti / tu, "Acc": ti / tl, "Dice": 2 * ti / (tp_ + tl),
               "Precision": ti / tp_, "Recall": ti / tl}
    res.update(mIoU=np.nanmean(res["IoU"]), mAcc=np.nanmean(res["Acc"]), mDice=np.nanmean(res["Dice"]))
    return res


def detectron2_reference(pairs, n, ignore=255):
    """detectron2 ``SemSegEvaluator.process`` + ``evaluate`` (the pred is assumed < n or ignore)."""
    conf = np.zeros((n + 1, n + 1), np.int64)
    for gt, pred in pairs:
        gt = gt.astype(np.int64).copy()
        pred = pred.astype(np.int64).copy()
        gt[gt == ignore] = n
        # detectron2 predictions are argmaxes, never `ignore`; a "no prediction" pixel counts
        # against its ground-truth class like any wrong class: put it in the ignore row.
        pred[pred == ignore] = n
        conf += np.bincount((n + 1) * pred.reshape(-1) + gt.reshape(-1), minlength=conf.size).reshape(conf.shape)
    acc = np.full(n, np.nan)
    iou = np.full(n, np.nan)
    tp = conf.diagonal()[:-1].astype(float)
    pos_gt = np.sum(conf[:-1, :-1], axis=0).astype(float) + conf[-1, :-1]  # + no-prediction pixels
    class_weights = pos_gt / np.sum(pos_gt)
    pos_pred = np.sum(conf[:-1, :-1], axis=1).astype(float)
    acc_valid = pos_gt > 0
    acc[acc_valid] = tp[acc_valid] / pos_gt[acc_valid]
    union = pos_gt + pos_pred - tp
    iou_valid = np.logical_and(acc_valid, union > 0)
    iou[iou_valid] = tp[iou_valid] / union[iou_valid]
    return {"IoU": iou, "Acc": acc, "mIoU": np.sum(iou[iou_valid]) / np.sum(iou_valid),
            "mAcc": np.sum(acc[acc_valid]) / np.sum(acc_valid),
            "fwIoU": np.sum(iou[iou_valid] * class_weights[iou_valid]), "pAcc": np.sum(tp) / np.sum(pos_gt)}


def _close(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b)), (a, b)
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=1e-12)


def _per_class(res, key):
    return [np.nan if res.per_class[str(c)][key] is None else res.per_class[str(c)][key]
            for c in range(len(res.per_class))]


# --------------------------------------------------------------------------- parity
def test_plain_reference(pairs):
    ev = SemanticEvaluator(N)
    for gt, pred in pairs:
        ev.update(gt, pred)
    tp, gt_area, pred_area = plain_reference(pairs, N)
    assert np.array_equal(np.diag(ev.confusion), tp)
    assert np.array_equal(ev.matrix.sum(1), gt_area)
    assert np.array_equal(ev.confusion.sum(0), pred_area)
    res = ev.compute()
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (gt_area + pred_area - tp)
    _close(_per_class(res, "IoU"), iou)
    assert res["pAcc"] == pytest.approx(tp.sum() / gt_area.sum(), abs=1e-12)
    assert list(res.summary) == list(SUMMARY_KEYS)


def test_mmseg_convention(pairs):
    ev = SemanticEvaluator(N, convention="mmseg")
    for gt, pred in pairs:
        ev.update(SemanticMap(gt), SemanticMap(pred))
    res = ev.compute()
    ref = mmseg_reference(pairs, N)
    for key in ("IoU", "Acc", "Dice"):
        _close(_per_class(res, key), ref[key])
    _close(res.extra["precision"], [np.nan if v is None else v for v in ref["Precision"]])
    for ours, theirs in (("mIoU", "mIoU"), ("mAcc", "mAcc"), ("mDice", "mDice"), ("pAcc", "aAcc")):
        assert res[ours] == pytest.approx(ref[theirs], abs=1e-12)
    # the conventions of the brief: 5 absent everywhere -> None; 6 only predicted -> IoU 0; 4 only in gt
    assert res.per_class["5"] == {"IoU": None, "Acc": None, "Dice": None}
    assert res.per_class["6"]["IoU"] == 0.0 and res.per_class["6"]["Acc"] is None
    assert res.per_class["4"]["IoU"] == 0.0


def test_detectron2_convention(pairs):
    ev = SemanticEvaluator(N, convention="detectron2")
    for gt, pred in pairs:
        ev.update(gt, pred)
    res = ev.compute()
    ref = detectron2_reference(pairs, N)
    _close(_per_class(res, "IoU"), ref["IoU"])
    _close(_per_class(res, "Acc"), ref["Acc"])
    for key in ("mIoU", "mAcc", "fwIoU", "pAcc"):
        assert res[key] == pytest.approx(ref[key], abs=1e-12), key
    assert res.per_class["6"] == {"IoU": None, "Acc": None, "Dice": None}  # only predicted: left out
    # fwIoU and pAcc do not depend on the convention
    mm = SemanticEvaluator(N)
    mm.merge(SemanticEvaluator(N))
    for gt, pred in pairs:
        mm.update(gt, pred)
    assert mm.compute()["fwIoU"] == res["fwIoU"] and mm.compute()["pAcc"] == res["pAcc"]
    assert mm.compute()["mIoU"] < res["mIoU"]  # the predicted-only class drags mmseg's mean down


def test_reduce_zero_label_as_mmseg(pairs):
    ev = SemanticEvaluator(N, reduce_zero_label=True)
    for gt, pred in pairs:
        ev.update(gt, pred)
    res = ev.compute()
    ref = mmseg_reference(pairs, N, reduce_zero_label=True)
    _close(_per_class(res, "IoU"), ref["IoU"])
    assert res["mIoU"] == pytest.approx(ref["mIoU"], abs=1e-12)
    # 0 is ignored, 1 -> 0
    ev = SemanticEvaluator(2, reduce_zero_label=True)
    ev.update(np.array([[0, 1, 2, 255]], np.uint8), np.array([[1, 0, 1, 1]], np.uint8))
    assert ev.confusion.tolist() == [[1, 0], [0, 1]]


def test_other_ignore_index_and_dtypes():
    gt = np.array([[0, 1, 2, 9], [9, 1, 1, 0]], np.int32)
    pred = np.array([[0, 1, 9, 1], [2, 1, 0, 0]], np.uint16)
    ev = SemanticEvaluator(3, ignore_index=9)
    ev.update(gt, pred)
    # rows: gt 0 -> pred 0,0 ; gt 1 -> pred 1,1,0 ; gt 2 -> pred 9 (no prediction)
    assert ev.matrix.tolist() == [[2, 0, 0, 0], [1, 2, 0, 0], [0, 0, 0, 1]]
    # the uint8 fast path and the generic path agree
    rng = np.random.default_rng(3)
    g, p = random_pair(rng)
    assert np.array_equal(confusion(g, p, N), confusion(g.astype(np.int64), p.astype(np.int32), N))


def test_ignore_index_inside_the_class_range():
    # ignore_index=0 (a class id): gt 0 not counted; a prediction of 0 is class 0
    gt = np.array([[0, 1, 1, 2]], np.uint8)
    pred = np.array([[1, 0, 1, 2]], np.uint8)
    m = confusion(gt, pred, 3, ignore_index=0)
    assert m.tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]]
    assert np.array_equal(m, confusion(gt.astype(np.int64), pred.astype(np.int64), 3, ignore_index=0))


def test_empty_evaluator_gives_nulls():
    res = SemanticEvaluator(3).compute()
    assert all(v is None for k, v in res.to_json().items() if k != "per_class")
    assert res.to_json()["per_class"]["0"] == {"IoU": None, "Acc": None, "Dice": None}


def test_semantic_metrics_function_and_square_matrix():
    m = np.array([[5, 1], [2, 2]])
    r = semantic_metrics(m)
    assert r["IoU"].tolist() == [5 / 8, 2 / 5]
    assert r["fwIoU"] == pytest.approx(6 / 10 * 5 / 8 + 4 / 10 * 2 / 5)
    with pytest.raises(ValueError):
        semantic_metrics(m, convention="other")


# --------------------------------------------------------------------------- merge
def test_merge_in_any_order_equals_one_pass(pairs):
    whole = SemanticEvaluator(N)
    for gt, pred in pairs:
        whole.update(gt, pred)
    shards = [SemanticEvaluator(N) for _ in range(3)]
    for k, (gt, pred) in enumerate(pairs):
        shards[k % 3].update(gt, pred)
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        merged = shards[order[0]] + shards[order[1]] + shards[order[2]]
        assert np.array_equal(merged.matrix, whole.matrix)
        assert merged.compute().summary == whole.compute().summary
        assert merged.n_images == len(pairs)
    with pytest.raises(ValueError):
        whole.merge(SemanticEvaluator(N, ignore_index=0))
    with pytest.raises(TypeError):
        whole.merge(object())


# --------------------------------------------------------------------------- bad input
def test_bad_values_are_clear_errors():
    ev = SemanticEvaluator(3)
    with pytest.raises(ValidationError, match="predicted value 7 is not a class"):
        ev.update(np.zeros((2, 2), np.uint8), np.full((2, 2), 7, np.uint8), image_id="a.png")
    with pytest.raises(ValidationError, match="a.png.*ground-truth value 3"):
        ev.update(np.full((2, 2), 3, np.uint8), np.zeros((2, 2), np.uint8), image_id="a.png")
    with pytest.raises(ValidationError, match="predicted value -1"):
        ev.update(np.zeros((2, 2), np.int64), np.full((2, 2), -1, np.int64))
    with pytest.raises(SizeMismatchError):
        ev.update(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValidationError, match="integers"):
        ev.update(np.zeros((2, 2)), np.zeros((2, 2)))
    # an out-of-range prediction on an ignored pixel is not an error (it is not looked at)
    ev.update(np.array([[255, 0]], np.uint8), np.array([[9, 0]], np.uint8))
    assert ev.n_images == 1
    with pytest.raises(ValueError):
        SemanticEvaluator(0)
    with pytest.raises(ValueError):
        SemanticEvaluator(3, convention="cityscapes")


# --------------------------------------------------------------------------- folders
def _write(path, arr, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":  # palette PNG: the indices are the labels, whatever the colours
        img = Image.frombytes("P", arr.shape[::-1], arr.tobytes())
        img.putpalette(list(np.random.default_rng(1).integers(0, 256, 768)))
    else:
        img = Image.fromarray(arr)
    img.save(path)


def test_folder_path_matches_update_path(pairs, tmp_path, monkeypatch):
    ev = SemanticEvaluator(N)
    for k, (gt, pred) in enumerate(pairs):
        sub = "city_a" if k % 2 else "city_b"
        _write(tmp_path / "gt" / sub / f"{k:03d}.png", gt)
        _write(tmp_path / "pred" / sub / f"{k:03d}.png", pred, mode="P" if k == 1 else None)
        ev.update(gt, pred)
    (tmp_path / "pred" / "extra.png").write_bytes((tmp_path / "pred" / "city_a" / "001.png").read_bytes())
    res1 = evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N, jobs=1)
    res2 = evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N, jobs=2)
    assert res1.extra["confusion"] == ev.compute().extra["confusion"] == res2.extra["confusion"]
    assert res1.summary == ev.compute().summary == res2.summary
    from panoptix.io import png as _png

    monkeypatch.setattr(_png, "native", None)  # Pillow and numpy, where the C extension was not built
    res3 = evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N, jobs=3)
    assert res3.extra["confusion"] == res1.extra["confusion"]
    assert res1.extra["images"] == len(pairs)


def test_folder_16bit_labels(tmp_path):
    gt = np.array([[0, 300, 300], [299, 0, 65535]], np.uint16)
    pred = np.array([[0, 300, 299], [299, 299, 0]], np.uint16)
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    Image.fromarray(gt.astype(np.int32)).convert("I;16").save(tmp_path / "gt" / "x.png")
    Image.fromarray(pred.astype(np.int32)).convert("I;16").save(tmp_path / "pred" / "x.png")
    res = evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", 301, ignore_index=65535, jobs=1)
    m = np.array(res.extra["confusion"])
    assert m[0, 0] == 1 and m[0, 299] == 1 and m[300, 300] == 1 and m[300, 299] == 1 and m[299, 299] == 1


def test_folder_errors(pairs, tmp_path):
    gt, pred = pairs[0]
    _write(tmp_path / "gt" / "a.png", gt)
    _write(tmp_path / "gt" / "b.png", gt)
    _write(tmp_path / "pred" / "a.png", pred)
    with pytest.raises(FormatError, match="no prediction PNG") as e:
        evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N)
    assert str(tmp_path / "pred" / "b.png") in str(e.value)
    _write(tmp_path / "pred" / "b.png", np.full_like(pred, 40))
    with pytest.raises(ValidationError, match="b.png.*predicted value 40") as e:
        evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N, jobs=2)
    assert "pred" in str(e.value)
    _write(tmp_path / "pred" / "b.png", np.zeros(gt.shape + (3,), np.uint8))
    with pytest.raises(FormatError, match="single-channel"):
        evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N)
    _write(tmp_path / "pred" / "b.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(SizeMismatchError, match="b.png"):
        evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N)
    (tmp_path / "pred" / "b.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match="b.png"):
        evaluate_semantic_folder(tmp_path / "gt", tmp_path / "pred", N)
    with pytest.raises(FormatError, match="does not exist"):
        evaluate_semantic_folder(tmp_path / "gt", tmp_path / "nowhere", N)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no .png files"):
        evaluate_semantic_folder(tmp_path / "empty", tmp_path / "pred", N)
