"""COCO instance evaluation (mask AP/AR, box AP/AR, Boundary AP), exact and fast.

Two ways in, one set of numbers:

* :class:`InstanceEvaluator` — ``update(gt, pred, image_id=...)`` per image with
  :class:`~panoptix.core.Instances`, mergeable across shards, then ``compute()``;
* :func:`evaluate_coco` — a COCO ground-truth file and a COCO results file, read
  once into flat arrays and evaluated in parallel over images.

Both reproduce pycocotools' ``COCOeval`` (``iouType="segm"`` / ``"bbox"``)
number for number, quirks included; where pycocotools crashes on bad input,
panoptix raises a :class:`~panoptix.core.errors.FormatError` naming the file,
image and annotation instead. The rules (all from pycocotools' ``cocoeval.py``
and ``coco.py``):

* images: every image of the ground-truth file, in ascending id order;
  categories: every category of the file (``use_cats``), ascending ids;
* per (image, category): ground truth in file order, then stably re-sorted so
  ignored ones come last; detections sorted by score descending with a stable
  sort (ties keep file order) and cut to ``max_dets[-1]``;
* a ground truth is ignored when it is a crowd region or its ``area`` field lies
  outside the area range; ranges are inclusive at both ends
  (``[0, 1e10]``, ``[0, 32²]``, ``[32², 96²]``, ``[96², 1e10]``), so an area of
  exactly 32² counts as small *and* medium;
* a detection is ignored when it matches an ignored ground truth, or is
  unmatched and its area lies outside the range. Its area is its mask's pixel
  count — but when the results file's *first* record has a non-empty ``bbox``,
  pycocotools' ``loadRes`` sets every detection's area to the box's ``w*h``
  (even for ``segm``), and so does :func:`evaluate_coco`;
* IoU: intersection over union of the masks (boxes for ``bbox``); for a crowd
  ground truth, intersection over the detection's area; a crowd region can be
  matched by any number of detections;
* matching: per IoU threshold ``t`` (effective ``min(t, 1 - 1e-10)``), each
  detection in score order takes the not-yet-matched ground truth with the
  highest IoU ≥ t (the *last* one on ties), stops looking at ignored ones once
  it holds an ordinary one; a ground truth with annotation id 0 counts as
  unmatched (pycocotools stores the matched *id*);
* accumulate: per category, area range and max-dets, detections of all images
  concatenated in image-id order and stably sorted by score; precision made
  monotone from the right, sampled at 101 recall points with
  ``searchsorted(..., side="left")`` (0 past the last recall reached);
  ``-1`` where a category has no ground truth that is not ignored;
* summary: means over entries ``> -1`` (``-1`` when there are none); ``AP``
  uses ``maxDets == 100`` literally, the others ``max_dets[2]`` — as
  pycocotools' ``summarize``.

Per-class AP (``per_class[str(id)]["AP"]``) is the mean of ``precision[:, :, k, 0, -1]``
over entries > -1 (IoU .50:.95, all areas, the largest max-dets), None when
the category has no ground truth.

Deliberate differences, all on input pycocotools rejects or mishandles:

* detections for images that are not in the ground truth: pycocotools asserts,
  panoptix raises FormatError (same outcome, clearer message);
* detections of categories not in the ground truth's ``categories`` are left out,
  as pycocotools does; their number is reported in ``extra["ignored"]``;
* a missing or non-numeric ``score``, NaN scores, masks whose size differs from
  their image, corrupt RLE strings, duplicate ground-truth annotation ids:
  FormatError naming the file, image and annotation (pycocotools crashes, or
  silently gives IoU -1 for mismatched sizes);
* an empty results list evaluates to zero recall (pycocotools raises
  IndexError); a ground truth without ``iscrowd`` counts as not crowd, one
  without ``area`` uses its mask area; an empty polygon list is an empty mask;
  polygon or uncompressed-RLE detections are accepted (pycocotools accepts them
  only when the results carry boxes).
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

import numpy as np

from ..core.errors import FormatError, SizeMismatchError, ValidationError
from ..core.labels import Instances
from ..core.taxonomy import Taxonomy
from . import _coco_kernels as K
from ._coco_batch import Batch, Detections, GroundTruth, Params, SegmentationMasks, evaluate_batch
from .base import EvalResult, Evaluator, resolve_jobs

__all__ = ["InstanceEvaluator", "evaluate_coco", "coco_pairs", "SUMMARY_KEYS"]

#: The 12 numbers of pycocotools' ``stats``, in order.
SUMMARY_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
AREA_LABELS = ("all", "small", "medium", "large")
#: detections from which ``compute()`` accumulates categories on several threads
_THREADED_ACCUMULATE = 50_000


class InstanceEvaluator(Evaluator):
    """COCO AP/AR for instance segmentation (``segm``), boxes (``bbox``) or Boundary AP.

    Parameters
    ----------
    taxonomy : Taxonomy, optional
        The categories evaluated (thing categories when it has any, else all), as the
        ``categories`` of a COCO ground-truth file. Ground truth and detections of
        other categories are left out. Without it, every category met is evaluated.
    iou_type : {"segm", "bbox", "boundary"}
        Mask IoU, box IoU, or ``min(mask IoU, Boundary IoU)`` (see
        :mod:`panoptix.metrics._coco_boundary`).
    iou_thresholds : sequence of float, optional
        Default ``np.linspace(.5, .95, 10)`` exactly as pycocotools builds it.
    max_dets : sequence of 3 int
        Sorted; the largest is the per-image, per-category cap.
    area_ranges : 4 (lo, hi) pairs, optional
        all / small / medium / large; default COCO's, inclusive bounds.
    use_cats : bool
        False: categories are ignored when matching (one group per image).
    boundary_dilation_ratio : float
        Boundary width as a fraction of the image diagonal (``boundary`` only).

    Examples
    --------
    >>> m = np.zeros((2, 40, 40), bool); m[0, :20, :20] = True; m[1, 20:, 20:] = True
    >>> gt = Instances.from_masks(m, category_ids=[1, 1])
    >>> pred = Instances.from_masks(m[:1], category_ids=[1], scores=[0.9])
    >>> ev = InstanceEvaluator()
    >>> ev.update(gt, pred, image_id=1)
    >>> res = ev.compute()
    >>> round(res["AP"], 4), round(res["AR100"], 4)
    (0.505, 0.5)
    """

    task = "instance"

    def __init__(self, taxonomy: Taxonomy | None = None, *, iou_type: str = "segm", iou_thresholds=None,
                 max_dets=(1, 10, 100), area_ranges=None, use_cats: bool = True,
                 boundary_dilation_ratio: float = 0.02):
        self.params = Params.make(iou_type, iou_thresholds, max_dets, area_ranges, use_cats,
                                  boundary_dilation_ratio)
        self.taxonomy = taxonomy
        if taxonomy is not None:
            ids = taxonomy.thing_ids or taxonomy.ids
            self._cat_ids = np.array(sorted(set(ids)), np.int64)
        else:
            self._cat_ids = None
        self._blocks: list[dict] = []
        self._seen: set = set()  # image ids of the blocks (duplicate check)
        self._seen_blocks = 0
        self._ignored = {"gt_unknown_category": 0, "dt_unknown_category": 0}

    @classmethod
    def from_files(cls, gt_json_path, results_json_path, *, jobs: int | None = 1,
                   progress: Callable[[int, int], None] | None = None, timings: dict | None = None,
                   **opts) -> "InstanceEvaluator":
        """The evaluator of a COCO ground-truth file and a results file, every image added.

        What :func:`evaluate_coco` computes before :meth:`compute`; mergeable with the
        evaluators of other shards (``panoptix.distributed`` builds one per shard).
        ``opts`` are this class's keyword arguments; ``jobs`` and ``progress`` as in
        :func:`evaluate_coco`. ``timings``, when given, receives the seconds spent reading
        (``read``) and matching (``evaluate``).
        """
        from . import _coco_files as F

        ev = cls(**opts)
        params = ev.params
        t0 = time.perf_counter()
        jobs = resolve_jobs(jobs)
        if jobs > 1:
            # the two files are read and scanned at the same time (the scanners release the GIL)
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as pool:
                scanning = pool.submit(F.read_results, results_json_path)
                gtf = F.load_ground_truth(gt_json_path, params)  # (on an error here, `with` waits for the thread)
                scanned = scanning.result()
        else:
            gtf = F.load_ground_truth(gt_json_path, params)
            scanned = None
        dtf = F.load_results(results_json_path, gtf, params, scanned)
        t1 = time.perf_counter()
        blocks = F.run_shards(gtf, dtf, params, jobs=jobs, progress=progress)
        if timings is not None:
            timings.update(read=t1 - t0, evaluate=time.perf_counter() - t1)
        ev._cat_ids = np.asarray(gtf.cat_ids, np.int64)
        ev._add_blocks(blocks)
        ev._ignored = {"gt_unknown_category": gtf.n_unknown_cat, "dt_unknown_category": dtf.n_unknown_cat}
        return ev

    # ------------------------------------------------------------------ update
    def update(self, gt: Instances, pred: Instances, *, image_id, dt_areas=None) -> None:
        """Evaluate one image.

        Parameters
        ----------
        gt : Instances
            Ground truth; its ``areas`` (the COCO ``area`` field when given) set the
            area ranges, ``iscrowd`` marks crowd regions, ``ids`` are annotation ids.
        pred : Instances
            Detections with ``scores``, same image size.
        image_id : int or str
            Unique per image; images are accumulated in ascending id order.
        dt_areas : array, optional
            Detection areas for the area ranges. Default: mask pixel counts (box
            ``w*h`` for ``iou_type="bbox"``). :func:`evaluate_coco` passes box areas
            when the results file has boxes, as pycocotools' ``loadRes`` does.
        """
        where = {"image_id": image_id}
        if not isinstance(gt, Instances) or not isinstance(pred, Instances):
            raise TypeError("update() takes Instances for gt and pred")
        if pred.scores is None:
            raise FormatError("detections have no scores", **where)
        if len(pred) and np.isnan(pred.scores).any():
            bad = int(np.flatnonzero(np.isnan(pred.scores))[0])
            raise FormatError("detection score is NaN", segment_id=int(pred.ids[bad]), **where)
        if (pred.height, pred.width) != (gt.height, gt.width) and len(pred):
            raise SizeMismatchError(f"detections are {pred.height}x{pred.width}, ground truth "
                                    f"{gt.height}x{gt.width}", **where)
        if dt_areas is not None:
            dt_areas = np.asarray(dt_areas, np.float64).reshape(-1)
            if len(dt_areas) != len(pred):
                raise SizeMismatchError(f"{len(dt_areas)} detection areas for {len(pred)} detections", **where)
        P = self.params
        gsel = np.arange(len(gt))
        dsel = np.arange(len(pred))
        if self._cat_ids is not None:
            gsel = gsel[np.isin(gt.category_ids, self._cat_ids)]
            dsel = dsel[np.isin(pred.category_ids, self._cat_ids)]
        h, w = gt.height, gt.width
        g_err = _instance_error(gt, image_id, gsel)
        d_err = _instance_error(pred, image_id, dsel)
        if P.iou_type == "bbox":
            gmasks = dmasks = None
            gboxes = gt.bboxes[gsel] if len(gsel) else np.zeros((0, 4))
            dboxes = pred.bboxes[dsel] if len(dsel) else np.zeros((0, 4))
        else:
            # the segmentations as given (polygons batched through pycocotools' C code), read exactly
            # as COCO.annToRLE / Instances.rles read them
            gboxes = dboxes = None
            gmasks = SegmentationMasks([gt.segmentations[i] for i in gsel.tolist()], np.full(len(gsel), h),
                                       np.full(len(gsel), w), make_error=g_err)
            dmasks = SegmentationMasks([pred.segmentations[i] for i in dsel.tolist()], np.full(len(dsel), h),
                                       np.full(len(dsel), w), make_error=d_err)
        g_area = gt.areas[gsel] if len(gsel) else np.zeros(0)
        gtruth = GroundTruth(img=np.zeros(len(gsel), np.int64), cat=gt.category_ids[gsel], crowd=gt.iscrowd[gsel],
                             area=np.asarray(g_area, np.float64), ids=gt.ids[gsel], masks=gmasks, boxes=gboxes,
                             make_error=g_err)
        dets = Detections(img=np.zeros(len(dsel), np.int64), cat=pred.category_ids[dsel],
                          score=pred.scores[dsel], area=None if dt_areas is None else dt_areas[dsel],
                          masks=dmasks, boxes=dboxes, make_error=d_err)
        block = evaluate_batch(Batch([image_id], np.array([h]), np.array([w]), gtruth, dets), P)
        self._add_blocks([block])  # (only now is the state touched: a bad image leaves no trace)
        self._ignored["gt_unknown_category"] += len(gt) - len(gsel)
        self._ignored["dt_unknown_category"] += len(pred) - len(dsel)

    def _add_blocks(self, blocks: list[dict]) -> None:
        if getattr(self, "_seen_blocks", None) != len(self._blocks):
            # the block list was set from outside (e.g. panoptix.distributed): rebuild the id set
            self._seen = {i for b in self._blocks for i in b["image_ids"]}
        new = [i for b in blocks for i in b["image_ids"]]
        fresh = set(new)
        if len(fresh) != len(new) or not self._seen.isdisjoint(fresh):
            seen = set(self._seen)
            for i in new:
                if i in seen:
                    raise ValidationError("image evaluated twice", image_id=i)
                seen.add(i)
        self._seen |= fresh
        self._blocks.extend(blocks)
        self._seen_blocks = len(self._blocks)

    def _merge_state(self, other: "InstanceEvaluator") -> None:
        if other.params != self.params:
            raise ValueError("cannot merge instance evaluators with different parameters")
        a = None if self._cat_ids is None else self._cat_ids.tolist()
        b = None if other._cat_ids is None else other._cat_ids.tolist()
        if a != b:
            raise ValueError("cannot merge instance evaluators with different taxonomies")
        self._add_blocks(other._blocks)
        for k, v in other._ignored.items():
            self._ignored[k] = self._ignored.get(k, 0) + v

    @property
    def image_ids(self) -> list:
        """Image ids seen so far (in update order)."""
        return [i for b in self._blocks for i in b["image_ids"]]

    # ------------------------------------------------------------------ compute
    def compute(self) -> EvalResult:
        """Accumulate every image seen and summarise as pycocotools does.

        Returns
        -------
        EvalResult
            ``summary``: the 12 COCO numbers (:data:`SUMMARY_KEYS`); ``per_class``:
            ``{str(category_id): {"AP": float or None}}``; ``extra``: ``precision``
            (T,R,K,A,M), ``recall`` (T,K,A,M), ``scores`` (T,R,K,A,M) as in
            pycocotools' ``eval``, ``category_ids``, ``iou_thresholds``,
            ``recall_thresholds``, ``max_dets``, ``area_ranges``, ``stats`` (the 12
            numbers as an array), ``per_image`` (per image id: ground truth not
            ignored, detections, TP/FP/FN at IoU .5, all areas, the largest
            max-dets) and ``ignored`` (left-out annotations).
        """
        P = self.params
        blocks = self._blocks
        image_ids = [i for b in blocks for i in b["image_ids"]]
        ranks = _image_ranks(image_ids)
        offsets = np.cumsum([0] + [len(b["image_ids"]) for b in blocks])

        def cat(key, dtype=None, shape=None):
            parts = [b[key] for b in blocks]
            if not parts:
                return np.zeros(shape or 0, dtype or np.int64)
            return np.concatenate(parts)

        d_img = np.concatenate([ranks[offsets[j] + b["d_img"]] for j, b in enumerate(blocks)]) if blocks \
            else np.zeros(0, np.int64)
        g_img = np.concatenate([ranks[offsets[j] + b["g_img"]] for j, b in enumerate(blocks)]) if blocks \
            else np.zeros(0, np.int64)
        A, T, M = len(P.area_rng), len(P.iou_thrs), len(P.max_dets)
        d_cat, d_pos, d_score = cat("d_cat"), cat("d_pos"), cat("d_score", np.float64)
        d_status = cat("d_status", np.uint8, (0, A, T))
        g_cat, g_npig = cat("g_cat"), cat("g_npig", np.int64, (0, A))
        if P.use_cats:
            if self._cat_ids is not None:
                cat_ids = self._cat_ids
            else:
                cat_ids = np.unique(np.concatenate([b["categories"] for b in blocks])) if blocks \
                    else np.zeros(0, np.int64)
        else:
            cat_ids = np.array([-1], np.int64)
        cat_ids = np.asarray(cat_ids, np.int64)
        Kn = len(cat_ids)
        dk = np.searchsorted(cat_ids, d_cat)
        gk = np.searchsorted(cat_ids, g_cat)
        npig = np.zeros((Kn, A), np.int64)
        if len(gk):
            for a in range(A):
                npig[:, a] = np.bincount(gk, weights=g_npig[:, a], minlength=Kn)[:Kn].astype(np.int64)
        # pycocotools' order: by category; within it by score, stably, over the detections of
        # all images concatenated in image-id order (each image's in its own score order)
        order = np.argsort(d_img * (P.max_dets[-1] + 1) + d_pos, kind="stable")
        order = order[np.argsort(dk[order], kind="stable")]
        K.sort_runs_by_score(order, dk, d_score)
        cat_lo = np.searchsorted(dk[order], np.arange(Kn + 1)) if Kn else np.zeros(1, np.int64)
        precision, recall, scores = _accumulate(cat_lo.astype(np.int64), order.astype(np.int64), d_pos, d_score,
                                                d_status, npig, np.array(P.max_dets, np.int64), P.rec_array)
        stats = summarize(precision, recall, P)
        summary = {k: float(v) for k, v in zip(SUMMARY_KEYS, stats)}
        per_class = {}
        if P.use_cats:
            for k, cid in enumerate(cat_ids.tolist()):
                p = precision[:, :, k, 0, -1]
                p = p[p > -1]
                per_class[str(cid)] = {"AP": float(np.mean(p)) if p.size else None}
        per_image = _per_image(image_ids, ranks, d_img, d_status, g_img, g_npig)
        extra = {
            "precision": precision, "recall": recall, "scores": scores,
            "category_ids": cat_ids.tolist(), "iou_thresholds": P.iou_array, "recall_thresholds": P.rec_array,
            "max_dets": list(P.max_dets), "area_ranges": [list(r) for r in P.area_rng],
            "area_labels": list(AREA_LABELS), "iou_type": P.iou_type, "stats": np.asarray(stats),
            "per_image": per_image, "ignored": dict(self._ignored), "num_images": len(image_ids),
        }
        return EvalResult(self.task, summary, per_class, extra)


def _accumulate(cat_lo, order, pos, scores, status, npig, max_dets, rec_thrs):
    """:func:`_coco_kernels.accumulate`, categories split over threads (the kernel releases the GIL;
    categories are independent, so the split never changes a number)."""
    n_cat = len(cat_lo) - 1
    threads = min(resolve_jobs(None), n_cat)
    if threads < 2 or len(order) < _THREADED_ACCUMULATE:
        return K.accumulate(cat_lo, order, pos, scores, status, npig, max_dets, rec_thrs)
    # contiguous category ranges with about the same number of detections each
    cuts = np.searchsorted(cat_lo, np.linspace(0, cat_lo[-1], threads + 1)[1:-1])
    edges = np.unique(np.concatenate(([0], np.clip(cuts, 0, n_cat), [n_cat])))
    ranges = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(ranges)) as pool:
        parts = list(pool.map(lambda r: K.accumulate(cat_lo[r[0]:r[1] + 1], order, pos, scores, status,
                                                     npig[r[0]:r[1]], max_dets, rec_thrs), ranges))
    return (np.concatenate([p[0] for p in parts], axis=2), np.concatenate([p[1] for p in parts], axis=1),
            np.concatenate([p[2] for p in parts], axis=2))


def summarize(precision: np.ndarray, recall: np.ndarray, params: Params) -> np.ndarray:
    """pycocotools' ``summarize()`` for segm/bbox: the 12 numbers (``-1`` where undefined)."""
    iou_thrs = params.iou_array
    max_dets = list(params.max_dets)

    def one(ap, iou_thr=None, area="all", md=100):
        aind = [i for i, lbl in enumerate(AREA_LABELS) if lbl == area]
        mind = [i for i, m in enumerate(max_dets) if m == md]
        if ap:
            s = precision
            if iou_thr is not None:
                s = s[np.where(iou_thr == iou_thrs)[0]]
            s = s[:, :, :, aind, mind]
        else:
            s = recall
            if iou_thr is not None:
                s = s[np.where(iou_thr == iou_thrs)[0]]
            s = s[:, :, aind, mind]
        # np.mean (pairwise summation) over the same elements in the same order: bit-identical
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    m2 = max_dets[2]
    return np.array([
        one(1), one(1, .5, md=m2), one(1, .75, md=m2),
        one(1, area="small", md=m2), one(1, area="medium", md=m2), one(1, area="large", md=m2),
        one(0, md=max_dets[0]), one(0, md=max_dets[1]), one(0, md=m2),
        one(0, area="small", md=m2), one(0, area="medium", md=m2), one(0, area="large", md=m2),
    ])


def _image_ranks(image_ids: list) -> np.ndarray:
    """Rank of each image id in ascending order (pycocotools: ``np.unique(imgIds)``)."""
    n = len(image_ids)
    if n == 0:
        return np.zeros(0, np.int64)
    try:
        order = sorted(range(n), key=image_ids.__getitem__)
    except TypeError:  # mixed id types: order by type name, then value
        order = sorted(range(n), key=lambda i: (type(image_ids[i]).__name__, image_ids[i]))
    ranks = np.empty(n, np.int64)
    ranks[np.array(order, np.int64)] = np.arange(n)
    return ranks


def _per_image(image_ids, ranks, d_img, d_status, g_img, g_npig) -> dict:
    n = len(image_ids)
    order = np.argsort(ranks, kind="stable")
    if d_status.shape[0]:
        s = d_status[:, 0, 0]
        tp = np.bincount(d_img[s == K.TP], minlength=n)
        fp = np.bincount(d_img[s == K.FP], minlength=n)
        nd = np.bincount(d_img, minlength=n)
    else:
        tp = fp = nd = np.zeros(n, np.int64)
    ngt = np.bincount(g_img, weights=g_npig[:, 0], minlength=n).astype(np.int64) if len(g_img) \
        else np.zeros(n, np.int64)
    ids_sorted = [image_ids[i] for i in order]
    return {"image_id": ids_sorted, "gt": ngt[:n], "dt": nd[:n], "tp": tp[:n], "fp": fp[:n],
            "fn": (ngt - tp)[:n]}


def _instance_error(inst: Instances, image_id, sel):
    def make(i, msg):
        return FormatError(msg, image_id=image_id, segment_id=int(inst.ids[sel[i]]))
    return make


# =========================================================================== whole files
def evaluate_coco(gt_json_path, results_json_path, *, iou_type: str = "segm", jobs: int | None = None,
                  progress: Callable[[int, int], None] | None = None, **opts) -> EvalResult:
    """Evaluate a COCO results file against a COCO ground-truth file, fast.

    Gives exactly the numbers of pycocotools' ``COCO(gt)``, ``loadRes(results)``,
    ``COCOeval(..., iou_type)``, ``evaluate/accumulate/summarize`` — and of
    :class:`InstanceEvaluator` fed the same images (see :func:`coco_pairs`).

    Parameters
    ----------
    gt_json_path, results_json_path : path
        COCO instances ground truth (``images``, ``annotations``, ``categories``) and a
        results list (``image_id``, ``category_id``, ``score``, ``segmentation``
        and/or ``bbox``).
    iou_type : {"segm", "bbox", "boundary"}
    jobs : int, optional
        Worker processes (images are split into shards); default: the CPUs available.
    progress : callable(done, total), optional
        Called with the number of images evaluated so far.
    **opts
        ``iou_thresholds``, ``max_dets``, ``area_ranges``, ``use_cats``,
        ``boundary_dilation_ratio`` as in :class:`InstanceEvaluator`.

    Returns
    -------
    EvalResult
        As :meth:`InstanceEvaluator.compute`, plus ``extra["timings"]``: seconds spent reading
        both files (``read``), matching (``evaluate``), accumulating (``accumulate``), ``total``.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ev = InstanceEvaluator.from_files(gt_json_path, results_json_path, jobs=jobs, progress=progress,
                                      timings=timings, iou_type=iou_type, **opts)
    t3 = time.perf_counter()
    res = ev.compute()
    timings["accumulate"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    res.extra["timings"] = timings
    return res


def coco_pairs(gt_json_path, results_json_path, *, iou_type: str = "segm"
               ) -> tuple[Taxonomy, Iterator[tuple[object, Instances, Instances, np.ndarray]]]:
    """The images of a COCO ground-truth + results pair as :class:`InstanceEvaluator` inputs.

    Returns the taxonomy (the file's categories) and an iterator of
    ``(image_id, gt, pred, dt_areas)`` over every ground-truth image in id order,
    with detection areas as pycocotools' ``loadRes`` sets them. Feeding these to
    ``InstanceEvaluator(taxonomy, iou_type=...).update(gt, pred, image_id=..., dt_areas=...)``
    gives bit for bit the numbers of :func:`evaluate_coco`.
    """
    from . import _coco_files as F

    params = Params.make(iou_type)
    gtf = F.load_ground_truth(gt_json_path, params)
    dtf = F.load_results(results_json_path, gtf, params)
    return gtf.taxonomy, F.iter_pairs(gtf, dtf, params)
