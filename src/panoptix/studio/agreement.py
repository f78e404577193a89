"""Agreement between two labelings of one image, with the metric of the project's kind.

=========  ==============================================================================
kind       number
=========  ==============================================================================
panoptic   PQ of labeling B scored against labeling A (COCO panoptic rules: match = same
           class and IoU > 0.5; pixels A leaves unlabeled do not count against B)
instance   mean mask IoU: objects of one class paired one-to-one to maximise the summed IoU
           (Hungarian), then the summed IoU of the pairs divided by the number of objects
           in either labeling (an unpaired object counts as IoU 0). Symmetric.
semantic   mIoU over the classes present in either labeling, pixels unlabeled in both
           left out. Symmetric.
=========  ==============================================================================

PQ comes from :class:`panoptix.metrics.PanopticEvaluator`, so it is the library's number. The
two symmetric agreement measures (mean mask IoU, mIoU over the classes either labeling uses) are
defined here because they compare two annotators rather than a prediction with ground truth.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..core import masks as M
from ..core.labels import Instances, PanopticMap, SemanticMap
from ..core.taxonomy import Taxonomy

__all__ = ["panoptic_quality", "mean_mask_iou", "mean_iou", "agreement"]


def panoptic_quality(gt: PanopticMap, pred: PanopticMap, taxonomy: Taxonomy) -> dict:
    """PQ, SQ, RQ of ``pred`` against ``gt`` for one image, by :class:`panoptix.metrics.PanopticEvaluator`.

    NaN when neither labeling has a segment.

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "cat"), Category(2, "grass", isthing=False)])
    >>> a = PanopticMap.from_ids(np.array([[1, 1, 2, 2]]), {1: 1, 2: 2})
    >>> panoptic_quality(a, a, tax)["PQ"]
    1.0
    """
    from ..metrics import PanopticEvaluator

    ev = PanopticEvaluator(taxonomy)
    ev.update(gt, pred)
    res = ev.compute()
    return {"PQ": float(res["PQ"]), "SQ": float(res["SQ"]), "RQ": float(res["RQ"])}


def mean_mask_iou(a: Instances, b: Instances) -> dict:
    """Mean mask IoU of two sets of objects (see the module table); NaN when both are empty.

    Examples
    --------
    >>> m = np.zeros((1, 4, 4), bool); m[0, :2] = True
    >>> mean_mask_iou(Instances.from_masks(m, [1]), Instances.from_masks(m, [1]))["mIoU"]
    1.0
    """
    na, nb = len(a), len(b)
    if na + nb == 0:
        return {"mIoU": float("nan"), "pairs": 0}
    total, pairs = 0.0, 0
    cats = set(a.category_ids.tolist()) | set(b.category_ids.tolist())
    for c in cats:
        ia = np.flatnonzero(a.category_ids == c)
        ib = np.flatnonzero(b.category_ids == c)
        if not len(ia) or not len(ib):
            continue
        iou = M.iou([b.rles[j] for j in ib], [a.rles[i] for i in ia], [0] * len(ia))  # (len(ib), len(ia))
        rows, cols = linear_sum_assignment(-iou)
        good = iou[rows, cols] > 0
        total += float(iou[rows, cols][good].sum())
        pairs += int(good.sum())
    return {"mIoU": total / (na + nb - pairs), "pairs": pairs}


def mean_iou(a: SemanticMap, b: SemanticMap) -> dict:
    """mIoU of two class maps over the classes present in either (ignore index left out).

    Examples
    --------
    >>> round(mean_iou(SemanticMap(np.array([[1, 1, 2, 2]])), SemanticMap(np.array([[1, 2, 2, 2]])))["mIoU"], 4)
    0.5833
    """
    la, lb = np.asarray(a.labels).ravel(), np.asarray(b.labels).ravel()
    keep = ~((la == a.ignore_index) & (lb == b.ignore_index))
    la, lb = la[keep], lb[keep]
    classes = sorted((set(np.unique(la).tolist()) - {a.ignore_index}) | (set(np.unique(lb).tolist()) - {b.ignore_index}))
    if not classes:
        return {"mIoU": float("nan"), "per_class": {}}
    per = {}
    for c in classes:
        ina, inb = la == c, lb == c
        per[c] = float(np.count_nonzero(ina & inb) / np.count_nonzero(ina | inb))
    return {"mIoU": float(np.mean(list(per.values()))), "per_class": per}


def agreement(kind: str, a, b, taxonomy: Taxonomy) -> dict:
    """``{"metric", "value", ...}`` for two :class:`~panoptix.studio.labelstore.LabelDoc`."""
    if kind == "panoptic":
        r = panoptic_quality(a.to_panoptic(), b.to_panoptic(), taxonomy)
        return {"metric": "PQ", "value": r["PQ"], "details": r}
    if kind == "instance":
        r = mean_mask_iou(a.to_instances(), b.to_instances())
        return {"metric": "mean mask IoU", "value": r["mIoU"], "details": {"pairs": r["pairs"]}}
    r = mean_iou(a.to_semantic(taxonomy), b.to_semantic(taxonomy))
    return {"metric": "mIoU", "value": r["mIoU"], "details": {str(k): v for k, v in r["per_class"].items()}}
