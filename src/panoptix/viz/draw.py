"""Pictures of labels: array in, array out (H×W×3 uint8).

``image`` may be a photo (H×W, H×W×3 or H×W×4, the size of the labels) or None
(the labels are drawn on grey). Class colours come from the taxonomy
(``Category.color``, else a colour derived from the id), so a class looks the same in
every picture; objects of one class are distinct shades of its colour.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ValidationError
from ..core.labels import Instances, PanopticMap, SemanticMap
from ..core.taxonomy import VOID, Taxonomy
from . import annotate as A
from .colors import (
    CORRECT_COLOR, FN_COLOR, FP_COLOR, IGNORED_COLOR, TP_COLOR, WRONG_COLOR, object_colors,
)
from .compare import Comparison, compare, kind_of

__all__ = ["draw_semantic", "draw_instances", "draw_panoptic", "draw_comparison", "draw_labels_of"]


def _name(taxonomy: Taxonomy, category_id: int) -> str:
    cat = taxonomy.get(int(category_id))
    return cat.name if cat is not None else f"class {int(category_id)}"


def _legend_by_area(taxonomy: Taxonomy, cat_ids, areas) -> list[tuple[str, tuple]]:
    """Legend entries of the classes present, largest first."""
    total: dict[int, float] = {}
    for c, a in zip(np.asarray(cat_ids).tolist(), np.asarray(areas).tolist()):
        total[int(c)] = total.get(int(c), 0.0) + float(a)
    order = sorted(total, key=lambda c: (-total[c], c))
    return [(_name(taxonomy, c), taxonomy.color(c)) for c in order if total[c] > 0]


# --------------------------------------------------------------------------- semantic
def draw_semantic(image, sem: SemanticMap, taxonomy: Taxonomy, *, alpha: float = 0.55, legend: bool = True,
                  outlines: bool = True, outline_color=(255, 255, 255), hatch_ignored: bool = True,
                  font_size: int | None = None) -> np.ndarray:
    """Colour every pixel by its class; pixels at the ignore index are greyed.

    Parameters
    ----------
    image : array or None
        The photo (same height and width as ``sem``), or None for a grey background.
    sem : SemanticMap
    taxonomy : Taxonomy
        Class colours and names (unknown ids get a stable colour and ``class <id>``).
    alpha : float
        Opacity of the class colours.
    legend : bool
        Draw a legend of the classes present (largest first) in the top-left corner.
    outlines : bool
        Draw the edges between classes in ``outline_color``.
    hatch_ignored : bool
        Cross the greyed ignored pixels with diagonal lines.

    Returns
    -------
    (H, W, 3) uint8 array

    Examples
    --------
    >>> from panoptix.core import Category, Taxonomy
    >>> tax = Taxonomy([Category(1, "road", False, (128, 64, 128))])
    >>> out = draw_semantic(None, SemanticMap(np.ones((8, 8), int)), tax, alpha=1.0, legend=False)
    >>> out[4, 4].tolist()
    [128, 64, 128]
    """
    labels = np.asarray(sem.labels)
    img = A.canvas(image, labels.shape)
    classes, counts = np.unique(labels, return_counts=True)
    keep = classes != sem.ignore_index
    palette = {int(c): taxonomy.color(int(c)) for c in classes[keep]}
    img = A.fill_ids(img, labels, palette, alpha)
    ignored = labels == sem.ignore_index
    img = A.grey_out(img, ignored, hatch=hatch_ignored)
    if outlines:
        img = A.outline(img, labels, outline_color)
    if legend:
        img = A.draw_legend(img, _legend_by_area(taxonomy, classes[keep], counts[keep]), font_size=font_size)
    return img


# --------------------------------------------------------------------------- instances
def draw_instances(image, inst: Instances, taxonomy: Taxonomy, *, alpha: float = 0.5, outlines: bool = True,
                   labels: bool = True, scores: bool = True, min_score: float | None = None,
                   legend: bool = False, font_size: int | None = None) -> np.ndarray:
    """Each object in its own shade of its class colour, with its outline and a tag.

    Overlapping objects stay visible: where masks overlap their colours are averaged
    and every object's outline is drawn on top. The tag reads ``class`` or
    ``class 0.93`` (predictions with scores); crowd regions read ``class (crowd)``.

    Parameters
    ----------
    image : array or None
    inst : Instances
    taxonomy : Taxonomy
    alpha : float
        Opacity of the fills.
    outlines, labels, scores : bool
        Draw the outlines, the tags, and the scores in the tags.
    min_score : float, optional
        Leave out predictions scored below it.
    legend : bool
        Add a legend of the classes present.

    Returns
    -------
    (H, W, 3) uint8 array

    Examples
    --------
    >>> from panoptix.core import Category, Taxonomy
    >>> tax = Taxonomy([Category(1, "cat", color=(200, 0, 0))])
    >>> m = np.zeros((1, 20, 20), bool); m[0, 5:15, 5:15] = True
    >>> out = draw_instances(None, Instances.from_masks(m, [1]), tax, alpha=1.0, labels=False)
    >>> out[10, 10].tolist(), out[5, 10].tolist()  # inside, and on the (darker) outline
    ([200, 0, 0], [120, 0, 0])
    """
    img = A.canvas(image, inst.shape)
    keep = np.ones(len(inst), bool)
    if min_score is not None and inst.scores is not None:
        keep &= inst.scores >= min_score
    idx = np.flatnonzero(keep)
    if not len(idx):
        return img
    colors = object_colors(taxonomy, inst.category_ids[idx], inst.ids[idx])
    # biggest first, so smaller objects' outlines and tags end up on top
    areas = inst.mask_areas[idx]
    order = np.argsort(-areas, kind="mergesort")
    idx, colors = idx[order], colors[order]
    masks = [inst.mask(int(i)) for i in idx]
    img = A.fill_masks(img, masks, colors, alpha)
    if outlines:
        img = A.outline_masks(img, masks, [_darker(c) for c in colors])
    if labels:
        tags = []
        boxes = inst.bboxes
        for i, c in zip(idx.tolist(), colors):
            text = _name(taxonomy, inst.category_ids[i])
            if inst.iscrowd[i]:
                text += " (crowd)"
            elif scores and inst.scores is not None:
                text += f" {inst.scores[i]:.2f}"
            x, y = boxes[i][:2]
            tags.append((int(x), int(y), text, tuple(int(v) for v in c)))
        img = A.draw_labels(img, tags, font_size=font_size)
    if legend:
        img = A.draw_legend(img, _legend_by_area(taxonomy, inst.category_ids[idx], areas[order]),
                            font_size=font_size, loc="top-right")
    return img


def _darker(color) -> tuple[int, int, int]:
    return tuple(int(v * 0.6) for v in color[:3])


# --------------------------------------------------------------------------- panoptic
def _panoptic_palette(pan: PanopticMap, taxonomy: Taxonomy) -> dict[int, tuple]:
    """Stuff segments in their class colour, things in distinct shades of theirs."""
    present = set(np.unique(pan.ids).tolist())
    segs = [s for s in pan.segments if s.id in present and s.id != VOID]
    palette = {}
    things = [s for s in segs if taxonomy.get(s.category_id) is None or taxonomy[s.category_id].isthing]
    for s in segs:
        if s not in things:
            palette[s.id] = taxonomy.color(s.category_id)
    if things:
        cols = object_colors(taxonomy, [s.category_id for s in things], [s.id for s in things])
        for s, c in zip(things, cols):
            palette[s.id] = tuple(int(v) for v in c)
    known = {s.id for s in segs}
    for sid in present - known - {VOID}:
        palette[sid] = (255, 0, 255)  # in the PNG but not in the JSON: loud magenta
    return palette


def draw_panoptic(image, pan: PanopticMap, taxonomy: Taxonomy, *, alpha: float = 0.55, outlines: bool = True,
                  outline_color=(255, 255, 255), labels: bool = False, legend: bool = True,
                  hatch_void: bool = True, font_size: int | None = None) -> np.ndarray:
    """Stuff in its class colour, every thing a distinct shade of its class colour,
    edges between segments outlined, VOID greyed and hatched.

    Segments present in the id map but missing from ``pan.segments`` are drawn magenta.

    Parameters
    ----------
    image : array or None
    pan : PanopticMap
    taxonomy : Taxonomy
    alpha : float
    outlines : bool
        Draw the edges between segments (VOID included) in ``outline_color``.
    labels : bool
        Write each segment's class name at its centre.
    legend : bool
        Add a legend of the classes present.
    hatch_void : bool
        Cross VOID with diagonal lines (it is greyed either way).

    Returns
    -------
    (H, W, 3) uint8 array

    Examples
    --------
    >>> from panoptix.core import Category, Taxonomy
    >>> tax = Taxonomy([Category(1, "person", color=(220, 20, 60)), Category(2, "sky", False, (70, 130, 180))])
    >>> ids = np.zeros((10, 10), int); ids[:, 5:] = 7; ids[:5, :5] = 3
    >>> out = draw_panoptic(None, PanopticMap.from_ids(ids, {3: 1, 7: 2}), tax, alpha=1.0, legend=False)
    >>> out[8, 8].tolist(), out[1, 1].tolist()
    ([70, 130, 180], [220, 20, 60])
    """
    ids = np.asarray(pan.ids)
    img = A.canvas(image, ids.shape)
    palette = _panoptic_palette(pan, taxonomy)
    img = A.fill_ids(img, ids, palette, alpha)
    img = A.grey_out(img, ids == VOID, hatch=hatch_void)
    if outlines:
        img = A.outline(img, ids, outline_color)
    if labels:
        img = A.draw_labels(img, _centre_tags(pan, taxonomy, palette), font_size=font_size)
    if legend:
        cats = {s.id: s.category_id for s in pan.segments}
        present, counts = np.unique(ids, return_counts=True)
        sel = [(cats[int(s)], n) for s, n in zip(present.tolist(), counts.tolist()) if int(s) in cats]
        if sel:
            c, n = zip(*sel)
            img = A.draw_legend(img, _legend_by_area(taxonomy, c, n), font_size=font_size)
    return img


def _centre_tags(pan: PanopticMap, taxonomy: Taxonomy, palette: dict) -> list[tuple]:
    """One tag per segment, at the segment pixel nearest to its centroid."""
    ids = pan.ids
    flat = ids.ravel()
    order = np.argsort(flat, kind="stable")
    uniq, starts = np.unique(flat[order], return_index=True)
    ends = np.r_[starts[1:], len(flat)]
    w = ids.shape[1]
    cats = {s.id: s.category_id for s in pan.segments}
    tags = []
    for sid, a, b in zip(uniq.tolist(), starts, ends):
        if sid == VOID or sid not in cats:
            continue
        pix = order[a:b]
        ys, xs = pix // w, pix % w
        j = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
        tags.append((int(xs[j]), int(ys[j]), _name(taxonomy, cats[sid]), palette.get(sid, (255, 255, 255))))
    return tags


# --------------------------------------------------------------------------- comparison
def draw_comparison(image, gt, pred, taxonomy: Taxonomy, *, kind: str | None = None, alpha: float = 0.55,
                    legend: bool = True, labels: bool = True, comparison: Comparison | None = None,
                    min_score: float | None = None, font_size: int | None = None) -> np.ndarray:
    """Prediction against ground truth, coloured by how the metric of their kind matches them.

    * semantic: pixels of the right class green, wrong class red, not evaluated greyed;
    * instance (COCO greedy matching at IoU 0.5) and panoptic (same class, IoU > 0.5):
      matched predictions (TP) green, unmatched predictions (FP) red, missed ground
      truth (FN) blue, predictions the metric ignores (on crowd / VOID) grey.

    Parameters
    ----------
    image : array or None
    gt, pred : SemanticMap, Instances or PanopticMap (both of the same type)
    taxonomy : Taxonomy
    kind : str, optional
        Checked against the label types.
    alpha : float
    legend : bool
        A legend with the counts (pixels for semantic, segments otherwise).
    labels : bool
        Class tags on the objects (instance) and segments (panoptic).
    comparison : Comparison, optional
        A matching already computed by :func:`~panoptix.viz.compare`.
    min_score : float, optional
        Instance only: do not draw predictions scored below it (they are still matched,
        and counted in the legend, as the metric does).

    Returns
    -------
    (H, W, 3) uint8 array

    Examples
    --------
    >>> big = np.ones((4, 4), int)  # 4×4 blocks, so that block centres are off the outlines
    >>> sem_gt = SemanticMap(np.kron([[1, 1], [2, 255]], big))
    >>> sem_pr = SemanticMap(np.kron([[1, 2], [2, 2]], big))
    >>> out = draw_comparison(None, sem_gt, sem_pr, Taxonomy(), alpha=1.0, legend=False)
    >>> out[1, 1].tolist(), out[1, 6].tolist()
    ([46, 204, 64], [255, 65, 54])
    """
    k = kind_of(gt)
    comp = comparison if comparison is not None else compare(gt, pred, taxonomy, kind=kind)
    if comp.kind != k:
        raise ValidationError(f"a {comp.kind} comparison cannot be drawn for {k} labels")
    img = A.canvas(image, gt.shape)
    if k == "semantic":
        return _draw_semantic_comparison(img, gt, pred, comp, alpha, legend, font_size)
    if k == "instance":
        return _draw_instance_comparison(img, gt, pred, taxonomy, comp, alpha, legend, labels, font_size,
                                         min_score)
    return _draw_panoptic_comparison(img, gt, pred, taxonomy, comp, alpha, legend, labels, font_size)


def _count_legend(comp: Comparison) -> list[tuple[str, tuple]]:
    entries = [(f"TP {len(comp.tp)}", TP_COLOR), (f"FP {len(comp.fp)}", FP_COLOR), (f"FN {len(comp.fn)}", FN_COLOR)]
    if comp.ignored:
        entries.append((f"ignored {len(comp.ignored)}", IGNORED_COLOR))
    return entries


def _draw_semantic_comparison(img, gt: SemanticMap, pred: SemanticMap, comp, alpha, legend, font_size):
    g, p = gt.labels, pred.labels
    valid = g != gt.ignore_index
    correct = valid & (g == p)
    img = A.blend(img, CORRECT_COLOR, correct, alpha)
    img = A.blend(img, WRONG_COLOR, valid & ~correct, alpha)
    img = A.grey_out(img, ~valid)
    img = A.outline(img, g, (255, 255, 255))
    if legend:
        total = max(sum(comp.pixels.values()), 1)
        img = A.draw_legend(img, [
            (f"correct {100 * comp.pixels['correct'] / total:.1f}%", CORRECT_COLOR),
            (f"wrong {100 * comp.pixels['wrong'] / total:.1f}%", WRONG_COLOR),
            (f"ignored {100 * comp.pixels['ignored'] / total:.1f}%", (128, 128, 128)),
        ], font_size=font_size)
    return img


def _draw_instance_comparison(img, gt: Instances, pred: Instances, taxonomy, comp, alpha, legend, labels,
                              font_size, min_score=None):
    layers = ([("pred", d, TP_COLOR) for _, d, _ in comp.tp] + [("pred", d, FP_COLOR) for d in comp.fp]
              + [("pred", d, IGNORED_COLOR) for d in comp.ignored] + [("gt", g, FN_COLOR) for g in comp.fn])
    if min_score is not None and pred.scores is not None:
        layers = [x for x in layers if x[0] == "gt" or pred.scores[x[1]] >= min_score]
    masks = [(gt if src == "gt" else pred).mask(i) for src, i, _ in layers]
    img = A.fill_masks(img, masks, [c for _, _, c in layers], alpha)
    img = A.outline_masks(img, masks, [c for _, _, c in layers])
    if labels:
        tags = []
        for src, i, c in layers:
            inst = gt if src == "gt" else pred
            text = _name(taxonomy, inst.category_ids[i])
            if src == "pred" and inst.scores is not None:
                text += f" {inst.scores[i]:.2f}"
            x, y = inst.bboxes[i][:2]
            tags.append((int(x), int(y), text, c))
        img = A.draw_labels(img, tags, font_size=font_size)
    if legend:
        img = A.draw_legend(img, _count_legend(comp), font_size=font_size, loc="top-right")
    return img


def _draw_panoptic_comparison(img, gt: PanopticMap, pred: PanopticMap, taxonomy, comp, alpha, legend, labels,
                              font_size):
    status = {d: TP_COLOR for _, d, _ in comp.tp}
    status.update({d: FP_COLOR for d in comp.fp})
    status.update({d: IGNORED_COLOR for d in comp.ignored})
    p_ids, g_ids = pred.ids, gt.ids
    # predictions never overlap each other, nor missed ground truth each other: two
    # lookups give both layers, averaged where a missed segment lies under a prediction
    p_col, p_on = A._lut(p_ids, status)
    g_col, g_on = A._lut(g_ids, {g: FN_COLOR for g in comp.fn})
    both = (p_on & g_on)[..., None]
    layer = np.where(both, (p_col.astype(np.uint16) + g_col) // 2, np.where(p_on[..., None], p_col, g_col))
    img = A.blend(img, layer.astype(np.uint8), p_on | g_on, alpha)
    img = A.grey_out(img, (g_ids == VOID) & (p_ids == VOID), hatch=True)
    img = A.outline(img, p_ids, (255, 255, 255))
    fn_mask = np.isin(g_ids, np.asarray(comp.fn, dtype=g_ids.dtype))
    img = A.paint(img, A.boundaries(np.where(fn_mask, g_ids, VOID)) & fn_mask, FN_COLOR)
    if labels:
        tags = [t for t in _centre_tags(pred, taxonomy, status) if t[3] is not None]
        gt_fn = PanopticMap(np.where(fn_mask, g_ids, 0), [s for s in gt.segments if s.id in set(comp.fn)])
        tags += _centre_tags(gt_fn, taxonomy, {s: FN_COLOR for s in comp.fn})
        img = A.draw_labels(img, tags, font_size=font_size)
    if legend:
        img = A.draw_legend(img, _count_legend(comp), font_size=font_size, loc="top-right")
    return img


def draw_labels_of(image, labels, taxonomy: Taxonomy, **kw) -> np.ndarray:
    """Dispatch on the label type: :func:`draw_semantic`, :func:`draw_instances` or :func:`draw_panoptic`."""
    k = kind_of(labels)
    fn = {"semantic": draw_semantic, "instance": draw_instances, "panoptic": draw_panoptic}[k]
    return fn(image, labels, taxonomy, **kw)
