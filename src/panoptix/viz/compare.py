"""Ground truth against prediction on one image, matched the way each metric matches.

* **semantic** — pixel by pixel: right class, wrong class, or not evaluated
  (ground truth at the ignore index).
* **instance** — COCO's greedy matching at IoU 0.5 (``COCOeval.evaluateImg``): per
  class, detections by decreasing score (at most ``max_dets``) each take the free
  ground-truth object of highest IoU ≥ 0.5, non-crowd before crowd; a crowd region
  can absorb any number of detections, which are then *ignored* (neither TP nor FP).
  IoU against a crowd region is intersection / detection area.
* **panoptic** — PQ's matching (panopticapi ``pq_compute``): a ground-truth and a
  predicted segment of the same class match when IoU > 0.5, where the union leaves
  out predicted pixels on ground-truth VOID; crowd segments never match; an unmatched
  prediction lying more than half on VOID or on a crowd region of its class is ignored.

These are for pictures and per-image scores; the dataset-level numbers come from
:mod:`panoptix.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core import masks as M
from ..core.errors import SizeMismatchError, ValidationError
from ..core.labels import Instances, PanopticMap, SemanticMap
from ..core.taxonomy import VOID, Taxonomy

__all__ = ["Comparison", "compare", "kind_of"]


@dataclass
class Comparison:
    """The outcome of matching one image's prediction to its ground truth.

    Attributes
    ----------
    kind : str
        ``"semantic"``, ``"instance"`` or ``"panoptic"``.
    tp : list of (gt, pred, iou)
        Matched pairs. ``gt``/``pred`` are segment ids (panoptic) or object indices
        into the :class:`~panoptix.core.Instances` (instance).
    fp : list
        Unmatched predictions (ids / indices).
    fn : list
        Unmatched ground truth (crowd regions excluded).
    ignored : list
        Predictions the metric ignores (on crowd regions or VOID).
    pixels : dict
        Semantic only: ``correct``, ``wrong`` and ``ignored`` pixel counts.
    score : float
        A per-image score in [0, 1] (NaN when there is nothing to score): the image's PQ
        over all its segments, Σ IoU(TP) / (TP + FP/2 + FN/2) (panoptic), F1 =
        2TP / (2TP + FP + FN) at IoU 0.5 (instance), mean IoU over the classes present
        in either map (semantic).
    """

    kind: str
    tp: list = field(default_factory=list)
    fp: list = field(default_factory=list)
    fn: list = field(default_factory=list)
    ignored: list = field(default_factory=list)
    pixels: dict = field(default_factory=dict)
    score: float = math.nan

    @property
    def counts(self) -> dict:
        """``{"TP": n, "FP": n, "FN": n}`` (semantic: pixel counts)."""
        if self.kind == "semantic":
            return dict(self.pixels)
        return {"TP": len(self.tp), "FP": len(self.fp), "FN": len(self.fn), "ignored": len(self.ignored)}


def kind_of(labels) -> str:
    """``"semantic"``, ``"instance"`` or ``"panoptic"`` from a label object's type."""
    if isinstance(labels, SemanticMap):
        return "semantic"
    if isinstance(labels, Instances):
        return "instance"
    if isinstance(labels, PanopticMap):
        return "panoptic"
    raise ValidationError(f"not a label type: {type(labels).__name__}")


def compare(gt, pred, taxonomy: Taxonomy | None = None, *, kind: str | None = None,
            iou_threshold: float = 0.5, max_dets: int = 100) -> Comparison:
    """Match ``pred`` to ``gt`` (both of one label type) as the metric of their kind does.

    Parameters
    ----------
    gt, pred : SemanticMap, Instances or PanopticMap
    taxonomy : Taxonomy, optional
        Not needed for the matching itself (categories come from the labels).
    kind : str, optional
        Checked against the label types when given.
    iou_threshold : float
        0.5 for both COCO (IoU ≥ t) and PQ (IoU > t).
    max_dets : int
        COCO's per-image, per-class detection cap (instance).

    Examples
    --------
    >>> ids = np.zeros((4, 4), int); ids[:, :2] = 1; ids[:, 2:] = 2
    >>> gt = PanopticMap.from_ids(ids, {1: 1, 2: 2})
    >>> pr = PanopticMap.from_ids(ids, {1: 1, 2: 3})
    >>> c = compare(gt, pr)
    >>> [t[:2] for t in c.tp], c.fp, c.fn
    ([(1, 1)], [2], [2])
    """
    k = kind_of(gt)
    if kind_of(pred) != k:
        raise ValidationError(f"cannot compare {k} ground truth with a {kind_of(pred)} prediction")
    if kind is not None and _norm_kind(kind) != k:
        raise ValidationError(f"kind {kind!r} does not match {k} labels")
    if tuple(gt.shape) != tuple(pred.shape):
        raise SizeMismatchError(f"ground truth is {gt.shape[0]}x{gt.shape[1]}, prediction "
                                f"{pred.shape[0]}x{pred.shape[1]}")
    if k == "semantic":
        return _compare_semantic(gt, pred)
    if k == "instance":
        return _compare_instances(gt, pred, iou_threshold, max_dets)
    return _compare_panoptic(gt, pred, iou_threshold)


def _norm_kind(kind: str) -> str:
    kind = kind.lower()
    return {"instances": "instance", "sem": "semantic", "pan": "panoptic", "inst": "instance"}.get(kind, kind)


# --------------------------------------------------------------------------- semantic
def _compare_semantic(gt: SemanticMap, pred: SemanticMap) -> Comparison:
    from ..metrics.semantic import value_pairs

    # Counted over value pairs (one per run, or per distinct pair for 8-bit maps), not pixels.
    gv, pv, counts = value_pairs(gt.labels.ravel(), pred.labels.ravel())
    valid = gv != gt.ignore_index
    n_valid, n_correct = int(counts[valid].sum()), int(counts[valid & (gv == pv)].sum())
    out = Comparison("semantic", pixels={"correct": n_correct, "wrong": n_valid - n_correct,
                                         "ignored": int(gt.labels.size - n_valid)})
    if n_valid:
        gv, pv, counts = gv[valid], pv[valid], counts[valid]
        classes, inv = np.unique(np.r_[gv, pv], return_inverse=True)
        n = len(classes)
        gi, pi = inv[:len(gv)], inv[len(gv):]
        conf = np.bincount(gi * n + pi, weights=counts, minlength=n * n).reshape(n, n)
        inter = np.diag(conf).astype(np.float64)
        union = conf.sum(0) + conf.sum(1) - inter
        # a predicted value equal to the ignore index is no class: it only counts as wrong
        keep = classes != gt.ignore_index
        out.score = float(np.mean(inter[keep] / union[keep])) if keep.any() else math.nan
    return out


# --------------------------------------------------------------------------- instance
def _compare_instances(gt: Instances, pred: Instances, thr: float, max_dets: int) -> Comparison:
    out = Comparison("instance")
    scores = pred.scores if pred.scores is not None else np.ones(len(pred))
    cats = np.union1d(gt.category_ids, pred.category_ids)
    gt_rles = gt.rles if len(gt) else []
    pr_rles = pred.rles if len(pred) else []
    for c in cats.tolist():
        g_idx = np.flatnonzero(gt.category_ids == c)
        d_idx = np.flatnonzero(pred.category_ids == c)
        d_idx = d_idx[np.argsort(-scores[d_idx], kind="mergesort")][:max_dets]
        g_ign = gt.iscrowd[g_idx]
        g_idx = g_idx[np.argsort(g_ign, kind="mergesort")]
        g_ign = gt.iscrowd[g_idx]
        g_crowd = g_ign.copy()
        ious = M.iou([pr_rles[i] for i in d_idx], [gt_rles[i] for i in g_idx], g_crowd)
        matched = np.zeros(len(g_idx), bool)
        t = min(thr, 1 - 1e-10)
        for d in range(len(d_idx)):
            if not len(g_idx):
                out.fp.append(int(d_idx[d]))
                continue
            free = ~matched | g_crowd
            row = ious[d]
            m = -1
            for group in (~g_ign, g_ign):  # non-ignored ground truth first, as COCO sorts it
                cand = np.flatnonzero(free & group & (row >= t))
                if len(cand):
                    best = row[cand].max()
                    m = int(cand[row[cand] == best][-1])  # COCO keeps the last of equal IoUs
                    break
            if m < 0:
                out.fp.append(int(d_idx[d]))
            elif g_ign[m]:
                out.ignored.append(int(d_idx[d]))
                matched[m] = True
            else:
                matched[m] = True
                out.tp.append((int(g_idx[m]), int(d_idx[d]), float(row[m])))
        out.fn.extend(int(g) for g, mt, ig in zip(g_idx, matched, g_ign) if not mt and not ig)
        # detections beyond max_dets are not evaluated by COCO
    denom = 2 * len(out.tp) + len(out.fp) + len(out.fn)
    out.score = 2 * len(out.tp) / denom if denom else math.nan
    return out


# --------------------------------------------------------------------------- panoptic
def _compare_panoptic(gt: PanopticMap, pred: PanopticMap, thr: float) -> Comparison:
    out = Comparison("panoptic")
    g = gt.ids.astype(np.int64).ravel()
    p = pred.ids.astype(np.int64).ravel()
    span = int(p.max()) + 1 if p.size else 1
    keys, inter = np.unique(g * span + p, return_counts=True)
    kg, kp = keys // span, keys % span
    g_ids, g_area = np.unique(g, return_counts=True)
    p_ids, p_area = np.unique(p, return_counts=True)
    g_area = dict(zip(g_ids.tolist(), g_area.tolist()))
    p_area = dict(zip(p_ids.tolist(), p_area.tolist()))
    g_cat = {s.id: s.category_id for s in gt.segments}
    g_crowd = {s.id: s.iscrowd for s in gt.segments}
    p_cat = {s.id: s.category_id for s in pred.segments}
    on_void = {int(pp): int(n) for gg, pp, n in zip(kg, kp, inter) if gg == VOID}
    crowd_of_cat = {}
    for s in gt.segments:
        if s.iscrowd:
            crowd_of_cat[s.category_id] = s.id  # panopticapi keeps one crowd region per class

    matched_g, matched_p = set(), set()
    iou_sum = 0.0
    for gg, pp, n in zip(kg.tolist(), kp.tolist(), inter.tolist()):
        if gg == VOID or pp == VOID or g_crowd.get(gg, False):
            continue
        cg, cp = g_cat.get(gg, -1), p_cat.get(pp, -2)
        if cg != cp:
            continue
        union = p_area[pp] + g_area[gg] - n - on_void.get(pp, 0)
        iou = n / union if union else 0.0
        if iou > thr:
            matched_g.add(gg)
            matched_p.add(pp)
            out.tp.append((gg, pp, float(iou)))
            iou_sum += iou
    for gg in g_area:
        if gg == VOID or gg in matched_g or g_crowd.get(gg, False) or gg not in g_cat:
            continue
        out.fn.append(gg)
    inter_map = {(gg, pp): n for gg, pp, n in zip(kg.tolist(), kp.tolist(), inter.tolist())}
    for pp in p_area:
        if pp == VOID or pp in matched_p:
            continue
        cp = p_cat.get(pp, -2)
        covered = on_void.get(pp, 0)
        if cp in crowd_of_cat:
            covered += inter_map.get((crowd_of_cat[cp], pp), 0)
        if covered / p_area[pp] > thr:
            out.ignored.append(pp)
            continue
        out.fp.append(pp)
    denom = len(out.tp) + 0.5 * len(out.fp) + 0.5 * len(out.fn)
    out.score = iou_sum / denom if denom else math.nan
    out.tp.sort()
    out.fp.sort()
    out.fn.sort()
    out.ignored.sort()
    return out
