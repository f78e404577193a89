"""Panoptic quality (PQ = SQ × RQ), exactly as panopticapi's ``pq_compute`` defines it.

Per image, every ground-truth segment is compared with every predicted segment it
touches (both are non-overlapping id maps, so the intersections come from one pass
over the pixel pairs):

* **match**: same category, ground truth not crowd, and
  ``IoU = inter / (pred_area + gt_area - inter - void_inter(pred)) > 0.5`` (strict), where
  ``void_inter(pred)`` is the part of the predicted segment on VOID (id 0) ground truth
  and ``gt_area`` is the ``area`` of the ground-truth ``segments_info`` record (as
  panopticapi; the PNG's pixel count when the record has none). A match is a true
  positive and adds its IoU to its class.
* **false negative**: an unmatched, non-crowd ground-truth segment.
* **false positive**: an unmatched predicted segment, unless more than half of it
  (``(void_inter + inter with the crowd region of its category) / pred_area > 0.5``)
  lies on VOID or on that crowd region. When an image has several crowd segments of one
  category only the last one listed counts (panopticapi's quirk, kept).

Per class: ``PQ = Σ IoU / (TP + FP/2 + FN/2)``, ``SQ = Σ IoU / TP`` (0 when TP = 0),
``RQ = TP / (TP + FP/2 + FN/2)``. ``PQ``/``SQ``/``RQ`` are their means over the classes with
``TP + FP + FN > 0`` (All, Things, Stuff); a class with no TP enters ``SQ`` as 0, as in
panopticapi. A class never seen is ``None`` in ``per_class`` (panopticapi prints 0.0) and a
group without any class seen is ``None`` (panopticapi divides by zero).

Bad input raises :mod:`panoptix.core.errors` naming the file, image and segment: a segment
in the PNG but not in the JSON or the reverse, an unknown category, a duplicate segment id,
a PNG whose size differs from its ground truth, an image without prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..core.errors import CategoryError, FormatError, SizeMismatchError, ValidationError
from ..core.labels import PanopticMap, rgb_to_id
from ..core.taxonomy import VOID, Category, Taxonomy
from .base import EvalResult, Evaluator, value_runs

__all__ = ["PanopticEvaluator", "evaluate_panoptic_folder", "SUMMARY_KEYS"]

#: Summary keys of the panoptic ``EvalResult`` (and of ``--json``), in order.
SUMMARY_KEYS = ("PQ", "SQ", "RQ", "PQ_th", "SQ_th", "RQ_th", "PQ_st", "SQ_st", "RQ_st")
_GROUPS = (("All", None, ""), ("Things", True, "_th"), ("Stuff", False, "_st"))
#: Images per work unit of the folder path: fixed, so the numbers do not depend on ``jobs``.
CHUNK = 16


@dataclass
class _Segs:
    """One image's segments, in the JSON's order (plain lists: an image has tens, not thousands)."""

    ids: list[int]
    cats: list[int]      # index into the taxonomy
    crowd: list[bool]
    area: list[float]    # the JSON area (may be a float); -1 where the record gave none (PNG count used)


class PanopticEvaluator(Evaluator):
    """PQ/SQ/RQ accumulated image by image; mergeable.

    State: per-class ``tp``, ``fp``, ``fn`` (int64) and summed ``iou`` (float64), plus one
    ``(image_id, tp, fp, fn, iou)`` record per image.

    Parameters
    ----------
    taxonomy : Taxonomy
        The categories (their order is the order of the means, as the ground-truth JSON's).

    Examples
    --------
    >>> import numpy as np
    >>> from panoptix.core import Category, PanopticMap, Taxonomy
    >>> tax = Taxonomy([Category(1, "cat"), Category(2, "grass", isthing=False)])
    >>> gt = PanopticMap.from_ids(np.array([[1, 1, 2, 2], [1, 1, 2, 2]]), {1: 1, 2: 2})
    >>> pred = PanopticMap.from_ids(np.array([[5, 5, 5, 7], [5, 5, 7, 7]]), {5: 1, 7: 2})
    >>> ev = PanopticEvaluator(tax)
    >>> ev.update(gt, pred, image_id=1)
    >>> r = ev.compute()
    >>> r["PQ"], r["PQ_th"], r["PQ_st"]  # IoU 4/5 for the cat, 3/4 for the grass
    (0.775, 0.8, 0.75)
    """

    task = "panoptic"

    def __init__(self, taxonomy: Taxonomy):
        if not isinstance(taxonomy, Taxonomy):
            taxonomy = Taxonomy(list(taxonomy))
        self.taxonomy = taxonomy
        k = len(taxonomy)
        self._cat_pos = {int(cid): k for k, cid in enumerate(taxonomy.ids)}
        self.iou = np.zeros(k, np.float64)
        self.tp = np.zeros(k, np.int64)
        self.fp = np.zeros(k, np.int64)
        self.fn = np.zeros(k, np.int64)
        self.images: list[tuple[Any, int, int, int, float]] = []

    # ------------------------------------------------------------------ state
    def _merge_state(self, other: "PanopticEvaluator") -> None:
        if other.taxonomy != self.taxonomy:
            raise ValueError("cannot merge panoptic evaluators built on different taxonomies")
        self.iou += other.iou
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.images.extend(other.images)

    # ------------------------------------------------------------------ update
    def update(self, gt: PanopticMap, pred: PanopticMap, *, image_id=None, file=None) -> None:
        """Add one image.

        Parameters
        ----------
        gt, pred : PanopticMap
            Ground truth and prediction of the same size. ``gt`` segment ``area`` is used as
            the JSON area (the PNG count when it is 0); ``iscrowd`` of ``pred`` is ignored.
        image_id : optional
            Named in errors and kept in the per-image records.
        file : path, optional
            Named in errors.
        """
        if gt.ids.shape != pred.ids.shape:
            raise SizeMismatchError(f"ground truth is {gt.ids.shape[1]}x{gt.ids.shape[0]}, prediction is "
                                    f"{pred.ids.shape[1]}x{pred.ids.shape[0]}", file=file, image_id=image_id)
        for name, m in (("ground-truth", gt.ids), ("predicted", pred.ids)):
            if m.size and (int(m.min()) < 0 or int(m.max()) >= 2 ** 32):
                raise ValidationError(f"{name} segment ids must lie in 0 .. 2^32-1", file=file, image_id=image_id)
        pg, pp, pn = _pair_counts(np.asarray(gt.ids).ravel(), np.asarray(pred.ids).ravel())
        gsegs = self._segs([s.id for s in gt.segments], [s.category_id for s in gt.segments],
                           [s.iscrowd for s in gt.segments], [s.area if s.area > 0 else -1 for s in gt.segments],
                           file=file, image_id=image_id, what="ground-truth")
        psegs = self._segs([s.id for s in pred.segments], [s.category_id for s in pred.segments], None, None,
                           file=file, image_id=image_id, what="predicted")
        self._add_image(gsegs, psegs, pg, pp, pn, image_id=image_id, gt_file=file, pred_file=file)

    def _segs(self, ids, cats, crowd, area, *, file, image_id, what) -> _Segs:
        ids = [int(i) for i in ids]
        if VOID in ids:
            raise ValidationError(f"{what} segment id 0 is VOID and cannot be a segment", file=file,
                                  image_id=image_id, segment_id=0)
        if len(set(ids)) != len(ids):
            from collections import Counter

            dup = min(i for i, n in Counter(ids).items() if n > 1)
            raise ValidationError(f"duplicate {what} segment id in the JSON", file=file, image_id=image_id,
                                  segment_id=dup)
        cat_idx = []
        for sid, cid in zip(ids, cats):
            k = self._cat_pos.get(int(cid))
            if k is None:
                raise CategoryError(f"unknown category id {int(cid)}", file=file, image_id=image_id, segment_id=sid)
            cat_idx.append(k)
        crowd = [False] * len(ids) if crowd is None else [bool(c) for c in crowd]
        area = [-1.0] * len(ids) if area is None else [float(a) for a in area]
        return _Segs(ids, cat_idx, crowd, area)

    def _add_image(self, g: _Segs, p: _Segs, pair_g, pair_p, pair_n, *, image_id, gt_file, pred_file) -> None:
        """Match one image (pairs: ground-truth id, predicted id, pixel count; sorted by (gt, pred)).

        Plain Python over the few pairs of an image; every float is computed as panopticapi
        computes it (IoU as one true division, sums in the order of its pair dict).
        """
        g_pos = {sid: i for i, sid in enumerate(g.ids)}
        p_pos = {sid: j for j, sid in enumerate(p.ids)}
        ng, npred = len(g.ids), len(p.ids)
        g_png, p_area, void_p = [0] * ng, [0] * npred, [0] * npred
        both = []  # (gt index, pred index, pixels), in pair order
        stray_p, stray_g = [], []  # ids in the PNG but not in the JSON
        for a, b, n in zip(pair_g.tolist(), pair_p.tolist(), pair_n.tolist()):
            i, j = g_pos.get(a), p_pos.get(b)
            if j is None:
                if b != VOID:
                    stray_p.append(b)
            else:
                p_area[j] += n
                if a == VOID:
                    void_p[j] = n
            if i is None:
                if a != VOID:
                    stray_g.append(a)
            else:
                g_png[i] += n
                if j is not None:
                    both.append((i, j, n))
        if stray_p:
            raise ValidationError("segment is in the PNG but not in the JSON", file=pred_file, image_id=image_id,
                                  segment_id=min(stray_p))
        if stray_g:
            raise ValidationError("ground-truth segment is in the PNG but not in the JSON", file=gt_file,
                                  image_id=image_id, segment_id=min(stray_g))
        if 0 in p_area:
            raise ValidationError("segment is in the JSON but not in the PNG", file=pred_file, image_id=image_id,
                                  segment_id=p.ids[p_area.index(0)])
        if 0 in g_png:
            raise ValidationError("ground-truth segment is in the JSON but not in the PNG", file=gt_file,
                                  image_id=image_id, segment_id=g.ids[g_png.index(0)])
        # The JSON area when given (panopticapi); exact: float64 holds every pixel count.
        g_area = [a if a >= 0 else float(c) for a, c in zip(g.area, g_png)]

        g_matched, p_matched = [False] * ng, [False] * npred
        crowd_pixels = {}  # (crowd gt index, pred index) -> pixels
        n_tp, iou_sum = 0, 0.0
        for i, j, n in both:
            if g.crowd[i]:
                crowd_pixels[i, j] = n
                continue
            if g.cats[i] != p.cats[j]:
                continue
            union = p_area[j] + g_area[i] - n - void_p[j]
            iou = n / union if union else math.inf
            if iou > 0.5:
                k = g.cats[i]
                self.tp[k] += 1
                self.iou[k] += iou
                g_matched[i] = p_matched[j] = True
                n_tp += 1
                iou_sum += iou
        n_fn = 0
        crowd_of = {}  # category -> its unmatched crowd region (the last listed wins, as panopticapi's dict)
        for i in range(ng):
            if g_matched[i]:
                continue
            if g.crowd[i]:
                crowd_of[g.cats[i]] = i
            else:
                self.fn[g.cats[i]] += 1
                n_fn += 1
        n_fp = 0
        for j in range(npred):
            if p_matched[j]:
                continue
            covered = void_p[j]
            ci = crowd_of.get(p.cats[j])
            if ci is not None:
                covered += crowd_pixels.get((ci, j), 0)
            if not covered / p_area[j] > 0.5:
                self.fp[p.cats[j]] += 1
                n_fp += 1
        self.images.append((image_id, n_tp, n_fp, n_fn, iou_sum))

    # ------------------------------------------------------------------ compute
    def compute(self) -> EvalResult:
        """PQ/SQ/RQ for All, Things and Stuff, per class, and per-image records in ``extra``."""
        summary: dict[str, float] = {}
        counts: dict[str, int] = {}
        per_class: dict[str, dict[str, float | None]] = {}
        for name, isthing, suffix in _GROUPS:
            pq = sq = rq = 0.0
            n = 0
            for k, cat in enumerate(self.taxonomy.categories):
                if isthing is not None and cat.isthing != isthing:
                    continue
                tp, fp, fn, iou = int(self.tp[k]), int(self.fp[k]), int(self.fn[k]), float(self.iou[k])
                if tp + fp + fn == 0:
                    if isthing is None:
                        per_class[str(cat.id)] = {"PQ": None, "SQ": None, "RQ": None}
                    continue
                n += 1
                pq_c = iou / (tp + 0.5 * fp + 0.5 * fn)
                sq_c = iou / tp if tp != 0 else 0
                rq_c = tp / (tp + 0.5 * fp + 0.5 * fn)
                if isthing is None:
                    per_class[str(cat.id)] = {"PQ": pq_c, "SQ": float(sq_c), "RQ": rq_c}
                pq += pq_c
                sq += sq_c
                rq += rq_c
            nan = float("nan")
            summary["PQ" + suffix] = pq / n if n else nan
            summary["SQ" + suffix] = sq / n if n else nan
            summary["RQ" + suffix] = rq / n if n else nan
            counts[name] = n
        summary = {k: summary[k] for k in SUMMARY_KEYS}
        extra = {
            "n": counts,
            "counts": {str(c.id): {"tp": int(self.tp[k]), "fp": int(self.fp[k]), "fn": int(self.fn[k]),
                                   "iou": float(self.iou[k])} for k, c in enumerate(self.taxonomy.categories)},
            "per_image": [{"image_id": i, "tp": tp, "fp": fp, "fn": fn, "iou": iou,
                           "PQ": (iou / (tp + 0.5 * fp + 0.5 * fn)) if tp + fp + fn else None}
                          for i, tp, fp, fn, iou in self.images],
            "categories": {str(c.id): {"name": c.name, "isthing": c.isthing} for c in self.taxonomy.categories},
        }
        return EvalResult("panoptic", summary, per_class, extra)


# --------------------------------------------------------------------------- pixel pairs
def _pair_counts(a: np.ndarray, b: np.ndarray):
    """Distinct ``(a, b)`` pixel pairs of two flat code maps and their pixel counts, sorted by (a, b).

    Only the runs (a few thousand an image, see :func:`~panoptix.metrics.base.value_runs`)
    are sorted. Codes must fit in 32 bits.
    """
    ra, rb, lengths = value_runs(a, b)
    keys = (ra.astype(np.uint64) << np.uint64(32)) | rb.astype(np.uint64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=lengths, minlength=uniq.size).astype(np.int64)
    return (uniq >> np.uint64(32)).astype(np.int64), (uniq & np.uint64(0xFFFFFFFF)).astype(np.int64), counts


# --------------------------------------------------------------------------- the folder path
def _read_rgb(path, image_id) -> np.ndarray:
    """(H, W, 3|4) uint8 colours of a panoptic PNG."""
    from ..io.png import read_label_png

    arr = read_label_png(path)
    if arr.ndim == 2 and _is_palette(path):
        from ..io.files import read_png

        arr = read_png(path, mode="RGB")  # a palette PNG: its colours are the ids
    if arr.ndim != 3 or arr.shape[2] < 3 or arr.dtype != np.uint8:
        raise FormatError("a panoptic PNG must be 8-bit RGB (ids are R + 256·G + 256²·B)", file=path,
                          image_id=image_id)
    return arr


def _rgb_pair_counts(gt: np.ndarray, pred: np.ndarray):
    """Distinct (gt id, pred id) pairs of two (H, W, 3|4) colour maps and their pixel counts,
    sorted by (gt, pred) as panopticapi's ``np.unique`` sorts them (alpha is ignored)."""
    from ..io.png import native

    if native is not None:
        keys, counts = native.count_id_pairs(np.ascontiguousarray(gt), np.ascontiguousarray(pred),
                                             gt.shape[2], pred.shape[2])
        keys = np.frombuffer(keys, np.int64)  # gt id << 24 | pred id: unique
        order = np.argsort(keys)
        keys = keys[order]
        return keys >> 24, keys & 0xFFFFFF, np.frombuffer(counts, np.int64)[order]
    return _pair_counts(rgb_to_id(gt).ravel(), rgb_to_id(pred).ravel())


def _is_palette(path) -> bool:
    from PIL import Image

    with Image.open(path) as img:
        return img.mode == "P"


def _segments_info(ann: dict, *, file, image_id, gt: bool):
    """Arrays from a ``segments_info`` list: ids, category ids, iscrowd, area (-1 when absent)."""
    infos = ann.get("segments_info")
    if not isinstance(infos, list):
        raise FormatError("annotation has no 'segments_info' list", file=file, image_id=image_id)
    ids, cats, crowd, area = [], [], [], []
    for rec in infos:
        if not isinstance(rec, dict):
            raise FormatError(f"segment record must be an object, got {rec!r}"[:200], file=file, image_id=image_id)
        sid = rec.get("id")
        cat = rec.get("category_id")
        for name, v in (("id", sid), ("category_id", cat)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                what = "has no" if v is None else "has a bad"
                raise FormatError(f"segment {what} {name!r} ({v!r})", file=file, image_id=image_id,
                                  segment_id=sid if isinstance(sid, int) else None)
        ids.append(sid)
        cats.append(cat)
        if gt:
            crowd.append(bool(rec.get("iscrowd", 0)))
            a = rec.get("area")
            if a is None:
                area.append(-1)
            elif isinstance(a, bool) or not isinstance(a, (int, float)) or a < 0:
                raise FormatError(f"segment has a bad 'area' ({a!r})", file=file, image_id=image_id, segment_id=sid)
            else:
                area.append(a)
    return ids, cats, crowd if gt else None, area if gt else None


def evaluate_pairs(pairs: Sequence[tuple[dict, dict]], taxonomy: Taxonomy, gt_dir, pred_dir, *,
                   gt_json=None, pred_json=None) -> PanopticEvaluator:
    """Evaluate ``(gt annotation, pred annotation)`` pairs of COCO panoptic records in this thread.

    One work unit of :func:`evaluate_panoptic_folder` and of the Dask path; returns the
    evaluator (its state is small). PNGs are read from ``gt_dir`` / ``pred_dir`` by each
    record's ``file_name``; ``gt_json`` / ``pred_json`` only name the files in errors.
    """
    ev = PanopticEvaluator(taxonomy)
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    for gt_ann, pred_ann in pairs:
        image_id = gt_ann.get("image_id")
        gname, pname = gt_ann.get("file_name"), pred_ann.get("file_name")
        if not isinstance(gname, str):
            raise FormatError("annotation has no 'file_name'", file=gt_json, image_id=image_id)
        if not isinstance(pname, str):
            raise FormatError("annotation has no 'file_name'", file=pred_json, image_id=image_id)
        gpath, ppath = gt_dir / gname, pred_dir / pname
        gt_rgb, pred_rgb = _read_rgb(gpath, image_id), _read_rgb(ppath, image_id)
        if gt_rgb.shape[:2] != pred_rgb.shape[:2]:
            raise SizeMismatchError(f"prediction is {pred_rgb.shape[1]}x{pred_rgb.shape[0]}, ground truth "
                                    f"{gt_rgb.shape[1]}x{gt_rgb.shape[0]}", file=ppath, image_id=image_id)
        pg, pp, pn = _rgb_pair_counts(gt_rgb, pred_rgb)
        gi, gc, gcr, ga = _segments_info(gt_ann, file=gt_json, image_id=image_id, gt=True)
        pi, pc, _, _ = _segments_info(pred_ann, file=pred_json, image_id=image_id, gt=False)
        gsegs = ev._segs(gi, gc, gcr, ga, file=gt_json, image_id=image_id, what="ground-truth")
        psegs = ev._segs(pi, pc, None, None, file=pred_json, image_id=image_id, what="predicted")
        ev._add_image(gsegs, psegs, pg, pp, pn, image_id=image_id, gt_file=gpath, pred_file=ppath)
    return ev


def taxonomy_from_panoptic(categories, *, file=None) -> Taxonomy:
    """The taxonomy of a COCO panoptic ``categories`` list (``isthing`` required, as panopticapi)."""
    if not isinstance(categories, list):
        raise FormatError("'categories' must be a list", file=file)
    cats = []
    for rec in categories:
        if not isinstance(rec, dict) or "id" not in rec:
            raise FormatError(f"bad category record {rec!r}"[:200], file=file)
        if "isthing" not in rec:
            raise FormatError(f"category {rec['id']} has no 'isthing' (needed to split Things and Stuff)",
                              file=file)
        try:
            cats.append(Category(rec["id"], str(rec.get("name") or rec["id"]), isthing=rec["isthing"] == 1,
                                 color=None))
        except CategoryError as exc:
            raise exc.at(file=file) from None
    try:
        return Taxonomy(cats)
    except CategoryError as exc:
        raise exc.at(file=file) from None


def evaluate_panoptic_folder(gt_json, pred_json, gt_dir=None, pred_dir=None, *, jobs: int | None = None,
                             progress: Callable[[int, int], None] | None = None) -> EvalResult:
    """PQ of COCO panoptic predictions against COCO panoptic ground truth (JSON + PNG folders).

    The same numbers as ``panopticapi.evaluation.pq_compute(gt_json, pred_json, gt_dir, pred_dir)``,
    computed in ``jobs`` threads.

    Parameters
    ----------
    gt_json, pred_json : path
        COCO panoptic JSON files. The ground truth gives the categories (with ``isthing``) and
        the images evaluated; predictions are found by ``image_id``.
    gt_dir, pred_dir : path, optional
        PNG folders; default: the JSON path without ``.json``.
    jobs : int, optional
        Threads (default: all cores). The result does not depend on it.
    progress : callable(done, total), optional
        Called with the number of images evaluated so far.

    Returns
    -------
    EvalResult
        ``summary``: PQ, SQ, RQ and their ``_th`` / ``_st`` variants; ``per_class``:
        ``{category_id: {"PQ", "SQ", "RQ"}}``; ``extra``: counts and per-image records.

    Examples
    --------
    With ``gt.json`` + ``gt/`` and ``pred.json`` + ``pred/`` on disk::

        r = evaluate_panoptic_folder("gt.json", "pred.json")
        r["PQ"], r.per_class["1"]["SQ"]
    """
    from ..io.files import read_json

    gt_json, pred_json = Path(gt_json), Path(pred_json)
    gt_data, pred_data = read_json(gt_json), read_json(pred_json)
    for data, path in ((gt_data, gt_json), (pred_data, pred_json)):
        if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
            raise FormatError("expected a COCO panoptic JSON object with an 'annotations' list", file=path)
    if "categories" not in gt_data:
        raise FormatError("the ground truth has no 'categories'", file=gt_json)
    taxonomy = taxonomy_from_panoptic(gt_data["categories"], file=gt_json)
    gt_dir = Path(gt_dir) if gt_dir is not None else _default_dir(gt_json)
    pred_dir = Path(pred_dir) if pred_dir is not None else _default_dir(pred_json)
    for d, what in ((gt_dir, "ground-truth"), (pred_dir, "prediction")):
        if not d.is_dir():
            raise FormatError(f"{what} PNG folder does not exist", file=d)

    preds: dict = {}
    for ann in pred_data["annotations"]:
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise FormatError("annotation without 'image_id'", file=pred_json)
        if ann["image_id"] in preds:
            raise ValidationError("two predictions for one image", file=pred_json, image_id=ann["image_id"])
        preds[ann["image_id"]] = ann
    pairs = []
    for ann in gt_data["annotations"]:
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise FormatError("annotation without 'image_id'", file=gt_json)
        image_id = ann["image_id"]
        if image_id not in preds:
            raise ValidationError("no prediction for this image", file=pred_json, image_id=image_id)
        pairs.append((ann, preds[image_id]))

    from functools import partial

    from .base import map_chunks

    chunks = [pairs[i:i + CHUNK] for i in range(0, len(pairs), CHUNK)]
    work = partial(evaluate_pairs, taxonomy=taxonomy, gt_dir=gt_dir, pred_dir=pred_dir, gt_json=gt_json,
                   pred_json=pred_json)
    results = map_chunks(work, chunks, jobs=jobs, progress=progress, sizes=[len(c) for c in chunks])
    ev = PanopticEvaluator(taxonomy)
    for part in results:
        ev.merge(part)
    res = ev.compute()
    res.extra["images"] = len(pairs)
    return res


def _default_dir(json_path: Path) -> Path:
    return json_path.with_suffix("") if json_path.suffix == ".json" else Path(str(json_path) + "_png")
