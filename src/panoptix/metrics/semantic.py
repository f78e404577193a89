"""Semantic segmentation metrics from one confusion matrix: IoU, accuracy, Dice, precision, recall.

State is a ``num_classes × (num_classes + 1)`` int64 matrix: row = ground-truth class,
column = predicted class, and a last column for valid ground-truth pixels whose
prediction is the ignore index ("no prediction": a miss, as in mmseg). Ground-truth
pixels equal to ``ignore_index`` are not counted. Merging two evaluators adds matrices.

Definitions, with ``TP_c`` the diagonal, ``GT_c`` the row sum (pixels of class ``c`` in
the ground truth) and ``P_c`` the column sum (pixels predicted as ``c``):

========  =======================================  ==========================================
metric    per class                                mean
========  =======================================  ==========================================
IoU       ``TP / (GT + P - TP)``                   mIoU
Acc       ``TP / GT`` (= recall)                   mAcc
Dice      ``2 TP / (GT + P)``                      mDice
pAcc      --                                       ``Σ TP / Σ GT``
fwIoU     --                                       ``Σ_c (GT_c / Σ GT) · IoU_c`` over classes with GT_c > 0
========  =======================================  ==========================================

``convention="mmseg"`` (default, mmsegmentation's ``total_area_to_metrics`` + ``nanmean``):
a per-class value whose denominator is 0 is NaN and left out of the mean. So a class
absent from both ground truth and prediction is left out of everything; a class only
predicted counts with IoU 0 and Dice 0 (its Acc is left out).

``convention="detectron2"`` (detectron2's ``SemSegEvaluator``): every per-class value is
NaN for a class without ground-truth pixels, and the means run over the classes present
in the ground truth. A class only predicted lowers IoU of the classes it was confused
with, not the mean's count.

``fwIoU`` and ``pAcc`` are the same in both conventions. NaN is ``null`` in JSON.
``reduce_zero_label`` applies mmseg's rule to the ground truth: 0 -> 255, others -1
(255 stays 255).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import FormatError, SizeMismatchError, ValidationError
from ..core.labels import SemanticMap
from .base import EvalResult, Evaluator, value_runs

__all__ = ["SemanticEvaluator", "evaluate_semantic_folder", "semantic_metrics", "SUMMARY_KEYS", "CONVENTIONS"]

SUMMARY_KEYS = ("mIoU", "fwIoU", "pAcc", "mAcc", "mDice")
CONVENTIONS = ("mmseg", "detectron2")
#: Images per work unit of the folder path (fixed: numbers do not depend on ``jobs``).
CHUNK = 8


def _reduce_zero(gt: np.ndarray) -> np.ndarray:
    """mmseg's ``reduce_zero_label``: 0 -> 255, 255 -> 255, v -> v - 1."""
    g = gt.astype(np.int64) - 1
    g[(gt == 0) | (gt == 255)] = 255
    return g


def confusion(gt: np.ndarray, pred: np.ndarray, num_classes: int, ignore_index: int = 255, *,
              reduce_zero_label: bool = False, file=None, image_id=None) -> np.ndarray:
    """The ``num_classes × (num_classes + 1)`` count matrix of one image (see module doc).

    Raises ValidationError naming an out-of-range value: a ground-truth value that is
    neither a class nor the ignore index, or a prediction that is neither.

    Examples
    --------
    >>> gt = np.array([[0, 0, 1], [1, 255, 2]])
    >>> pred = np.array([[0, 1, 1], [1, 0, 255]])
    >>> confusion(gt, pred, 3).tolist()
    [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 0, 1]]
    """
    n = int(num_classes)
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise SizeMismatchError(f"ground truth is {_size(gt)}, prediction is {_size(pred)}", file=file,
                                image_id=image_id)
    if gt.dtype.kind not in "iu" or pred.dtype.kind not in "iu":
        raise ValidationError(f"labels must be integers (got {gt.dtype} and {pred.dtype})", file=file,
                              image_id=image_id)
    gv, pv, counts = value_pairs(gt.ravel(), pred.ravel())
    if reduce_zero_label:
        gv = _reduce_zero(gv)
    valid = gv != ignore_index
    gv, pv, counts = gv[valid], pv[valid], counts[valid]
    bad = (gv < 0) | (gv >= n)
    if bad.any():
        raise ValidationError(f"ground-truth value {int(gv[bad][0])} is not a class (0..{n - 1}) nor the ignore "
                              f"index {ignore_index}", file=file, image_id=image_id)
    inside = (pv >= 0) & (pv < n)
    bad = ~inside & (pv != ignore_index)
    if bad.any():
        raise ValidationError(f"predicted value {int(pv[bad][0])} is not a class (0..{n - 1}) nor the ignore "
                              f"index {ignore_index}", file=file, image_id=image_id)
    pv = np.where(inside, pv, n)  # the last column: "no prediction"
    matrix = np.bincount(gv * (n + 1) + pv, weights=counts, minlength=n * (n + 1))
    return matrix.astype(np.int64).reshape(n, n + 1)


def value_pairs(g: np.ndarray, p: np.ndarray):
    """The ``(gt, pred)`` value pairs of two flat label maps (int64) and their pixel counts.

    Pairs may repeat (the run path gives one per run); sum counts per pair when that matters.

    8-bit maps go through the C extension (one pass, a 256 × 256 table), others through
    :func:`~panoptix.metrics.base.value_runs` (one pair per run, weighted by its length).
    """
    from ..io.png import native

    if native is not None and g.dtype == np.uint8 and p.dtype == np.uint8:
        keys, counts = native.count_u8_pairs(np.ascontiguousarray(g), np.ascontiguousarray(p))
        keys = np.frombuffer(keys, np.int64)
        return keys >> 8, keys & 255, np.frombuffer(counts, np.int64)
    gv, pv, lengths = value_runs(g, p)
    return gv.astype(np.int64), pv.astype(np.int64), lengths


def _size(a: np.ndarray) -> str:
    return f"{a.shape[1]}x{a.shape[0]}" if a.ndim == 2 else str(a.shape)


def semantic_metrics(matrix: np.ndarray, *, convention: str = "mmseg") -> dict[str, np.ndarray | float]:
    """Every metric from a confusion matrix (rows ground truth, columns prediction).

    Parameters
    ----------
    matrix : (n, n) or (n, n + 1) integer array
        The optional last column counts valid ground-truth pixels predicted as the ignore index.
    convention : {"mmseg", "detectron2"}

    Returns
    -------
    dict
        Per class (arrays, NaN where undefined): ``IoU``, ``Acc``, ``Dice``, ``Precision``,
        ``Recall``; means (floats, NaN when nothing to average): ``mIoU``, ``fwIoU``, ``pAcc``,
        ``mAcc``, ``mDice``.

    Examples
    --------
    >>> m = np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]])
    >>> r = semantic_metrics(m)
    >>> r["IoU"].round(3).tolist(), round(r["mIoU"], 4)
    ([0.75, 0.8, nan], 0.775)
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    m = np.asarray(matrix, dtype=np.int64)
    n = m.shape[0]
    if m.ndim != 2 or m.shape[1] not in (n, n + 1):
        raise ValueError(f"confusion matrix must be n×n or n×(n+1), got {m.shape}")
    tp = np.diag(m[:, :n]).astype(np.float64)
    gt_area = m.sum(1).astype(np.float64)
    pred_area = m[:, :n].sum(0).astype(np.float64)
    union = gt_area + pred_area - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / union
        acc = tp / gt_area
        dice = 2 * tp / (gt_area + pred_area)
        precision = tp / pred_area
    if convention == "detectron2":
        absent = gt_area == 0
        for arr in (iou, acc, dice, precision):
            arr[absent] = np.nan
    total = gt_area.sum()
    present = (gt_area > 0) & (union > 0)
    fw = float(np.sum(gt_area[present] / total * iou[present])) if total > 0 else float("nan")
    return {
        "IoU": iou, "Acc": acc, "Dice": dice, "Precision": precision, "Recall": acc.copy(),
        "mIoU": _nanmean(iou), "fwIoU": fw, "pAcc": float(tp.sum() / total) if total > 0 else float("nan"),
        "mAcc": _nanmean(acc), "mDice": _nanmean(dice),
    }


def _nanmean(a: np.ndarray) -> float:
    ok = ~np.isnan(a)
    return float(a[ok].sum() / ok.sum()) if ok.any() else float("nan")


class SemanticEvaluator(Evaluator):
    """Confusion-matrix semantic metrics, image by image; mergeable.

    Parameters
    ----------
    num_classes : int
        Classes are ``0 .. num_classes - 1``.
    ignore_index : int
        Ground-truth pixels with this value are not counted; a prediction with this value
        is "no prediction" (a miss for the ground-truth class).
    reduce_zero_label : bool
        mmseg's rule on the ground truth: 0 -> 255, others -1 (for datasets whose 0 is "other").
    convention : {"mmseg", "detectron2"}
        Which classes the means run over (see the module doc).
    class_names : sequence of str, optional
        Shown by the CLI and kept in ``extra``.

    Examples
    --------
    >>> ev = SemanticEvaluator(3)
    >>> ev.update(np.array([[0, 0], [1, 255]]), np.array([[0, 1], [1, 2]]))
    >>> r = ev.compute()
    >>> round(r["mIoU"], 4), r.per_class["2"]["IoU"]
    (0.5, None)

    A class only predicted (2 here) counts with IoU 0 for mmseg, not at all for detectron2:

    >>> gt, pred = np.array([[0, 0], [1, 1]]), np.array([[0, 2], [1, 1]])
    >>> for convention in ("mmseg", "detectron2"):
    ...     ev = SemanticEvaluator(3, convention=convention)
    ...     ev.update(gt, pred)
    ...     print(convention, ev.compute()["mIoU"])
    mmseg 0.5
    detectron2 0.75
    """

    task = "semantic"

    def __init__(self, num_classes: int, *, ignore_index: int = 255, reduce_zero_label: bool = False,
                 convention: str = "mmseg", class_names=None):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        if convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.reduce_zero_label = bool(reduce_zero_label)
        self.convention = convention
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")
        self.matrix = np.zeros((self.num_classes, self.num_classes + 1), np.int64)
        self.n_images = 0

    @property
    def confusion(self) -> np.ndarray:
        """The ``n × n`` confusion matrix (rows ground truth, columns prediction)."""
        return self.matrix[:, :self.num_classes].copy()

    def _settings(self):
        return (self.num_classes, self.ignore_index, self.reduce_zero_label)

    def _merge_state(self, other: "SemanticEvaluator") -> None:
        if other._settings() != self._settings():
            raise ValueError("cannot merge semantic evaluators with different num_classes, ignore_index or "
                             "reduce_zero_label")
        self.matrix += other.matrix
        self.n_images += other.n_images

    def update(self, gt, pred, *, image_id=None, file=None) -> None:
        """Add one image (``SemanticMap`` or integer arrays of the same shape)."""
        g = gt.labels if isinstance(gt, SemanticMap) else np.asarray(gt)
        p = pred.labels if isinstance(pred, SemanticMap) else np.asarray(pred)
        if g.ndim != 2:
            raise SizeMismatchError(f"a semantic map must be 2-D, got shape {g.shape}", file=file, image_id=image_id)
        self.matrix += confusion(g, p, self.num_classes, self.ignore_index, reduce_zero_label=self.reduce_zero_label,
                                 file=file, image_id=image_id)
        self.n_images += 1

    def compute(self) -> EvalResult:
        """Summary (mIoU, fwIoU, pAcc, mAcc, mDice), per class (IoU, Acc, Dice), the rest in ``extra``."""
        r = semantic_metrics(self.matrix, convention=self.convention)
        summary = {k: r[k] for k in SUMMARY_KEYS}
        per_class = {str(c): {"IoU": _f(r["IoU"][c]), "Acc": _f(r["Acc"][c]), "Dice": _f(r["Dice"][c])}
                     for c in range(self.num_classes)}
        extra = {
            "convention": self.convention,
            "images": self.n_images,
            "precision": [_f(v) for v in r["Precision"]],
            "recall": [_f(v) for v in r["Recall"]],
            "confusion": self.confusion.tolist(),
            "no_prediction": self.matrix[:, self.num_classes].tolist(),
            "gt_pixels": self.matrix.sum(1).tolist(),
            "pred_pixels": self.matrix[:, :self.num_classes].sum(0).tolist(),
            "class_names": self.class_names,
        }
        return EvalResult("semantic", summary, per_class, extra)


def _f(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


# --------------------------------------------------------------------------- the folder path
def evaluate_pairs(pairs, num_classes: int, *, ignore_index: int = 255, reduce_zero_label: bool = False,
                   convention: str = "mmseg") -> SemanticEvaluator:
    """Evaluate ``(name, gt_path, pred_path)`` label PNG pairs in this thread; returns the evaluator.

    One work unit of :func:`evaluate_semantic_folder` and of the Dask path; its state is
    the small count matrix.
    """
    from ..io.png import read_label_png

    ev = SemanticEvaluator(num_classes, ignore_index=ignore_index, reduce_zero_label=reduce_zero_label,
                           convention=convention)
    for name, gpath, ppath in pairs:
        g = read_label_png(gpath)
        p = read_label_png(ppath)
        for arr, path in ((g, gpath), (p, ppath)):
            if arr.ndim != 2:
                raise FormatError(f"expected a single-channel label PNG, got shape {arr.shape}", file=path,
                                  image_id=name)
        try:
            ev.update(g, p, image_id=name)
        except (ValidationError, SizeMismatchError) as exc:
            raise exc.at(file=ppath if "predicted" in exc.message or "prediction is" in exc.message else gpath
                         ) from None
    return ev


def list_pairs(gt_dir, pred_dir, *, suffix: str = ".png") -> list[tuple[str, Path, Path]]:
    """``(name, gt_path, pred_path)`` for every ``*suffix`` file under ``gt_dir`` (recursive),
    paired with the file of the same relative path under ``pred_dir``."""
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    for d, what in ((gt_dir, "ground-truth"), (pred_dir, "prediction")):
        if not d.is_dir():
            raise FormatError(f"{what} folder does not exist", file=d)
    out = []
    for g in sorted(gt_dir.rglob(f"*{suffix}")):
        rel = g.relative_to(gt_dir)
        p = pred_dir / rel
        if not p.is_file():
            raise FormatError(f"no prediction PNG for ground truth {g}", file=p, image_id=rel.as_posix())
        out.append((rel.as_posix(), g, p))
    if not out:
        raise FormatError(f"no {suffix} files in the ground-truth folder", file=gt_dir)
    return out


def evaluate_semantic_folder(gt_dir, pred_dir, num_classes: int, *, ignore_index: int = 255,
                             reduce_zero_label: bool = False, convention: str = "mmseg",
                             class_names=None, jobs: int | None = None,
                             progress: Callable[[int, int], None] | None = None) -> EvalResult:
    """Semantic metrics over two folders of label PNGs paired by relative file name.

    Parameters
    ----------
    gt_dir, pred_dir : path
        Every ``*.png`` under ``gt_dir`` (recursively) needs the PNG of the same relative path
        under ``pred_dir``; a missing one is an error naming it. Extra predictions are ignored.
        PNGs are single-channel (grey 8/16-bit or palette indices).
    num_classes, ignore_index, reduce_zero_label, convention, class_names
        As :class:`SemanticEvaluator`.
    jobs : int, optional
        Threads (default: all cores). The result does not depend on it.
    progress : callable(done, total), optional
        Called with the number of images evaluated so far.

    Examples
    --------
    With label PNGs in ``gt/`` and ``pred/``::

        r = evaluate_semantic_folder("gt/", "pred/", 19)
        r["mIoU"], r.per_class["0"]["IoU"]
    """
    from functools import partial

    from .base import map_chunks

    probe = SemanticEvaluator(num_classes, ignore_index=ignore_index, reduce_zero_label=reduce_zero_label,
                              convention=convention, class_names=class_names)
    pairs = list_pairs(gt_dir, pred_dir)
    chunks = [pairs[i:i + CHUNK] for i in range(0, len(pairs), CHUNK)]
    work = partial(evaluate_pairs, num_classes=probe.num_classes, ignore_index=probe.ignore_index,
                   reduce_zero_label=probe.reduce_zero_label, convention=probe.convention)
    for part in map_chunks(work, chunks, jobs=jobs, progress=progress, sizes=[len(c) for c in chunks]):
        probe.merge(part)
    return probe.compute()
