"""The relations between the three label kinds, as pure functions (no I/O).

======================  =====================================================  ==========
function                what it does                                           exact?
======================  =====================================================  ==========
panoptic_to_semantic    every pixel gets its segment's class; VOID -> ignore   yes
panoptic_to_instances   one object per thing segment (crowd flag kept)         yes
instances_to_semantic   paint the objects, overlaps resolved by ``order``      no overlaps: yes
semantic_to_instances   connected components of the thing classes              by definition
semantic_to_panoptic    one segment per stuff class, one per thing component   by definition
instances_to_panoptic   the objects pasted without overlap, VOID elsewhere     no overlaps: yes
fuse                    instances + semantic stuff -> panoptic (the standard   no
                        heuristic of the panoptic segmentation paper)
to_kind                 fill one kind of a :class:`~panoptix.io.dataset.Sample`
                        from the kinds it has
======================  =====================================================  ==========

Conventions
-----------
* Segment ids of every panoptic map produced here are ``1..N``; 0 is VOID.
* Objects compete for contested pixels in a *priority order* (``order``): the first
  object in that order wins a pixel ("is on top"). Keys: ``"score"`` (higher first;
  objects without scores - ground truth - all count as score 1), ``"area"`` (fewer
  pixels first) and ``"given"`` (the order of the :class:`Instances`). A sequence of
  keys is compared key by key, and the given order always breaks the remaining ties.
* Ground truth (``Instances.scores is None``) goes into :func:`instances_to_panoptic`
  and :func:`to_kind` with no object dropped: ``overlap_threshold=1``, smaller objects
  on top, no stuff area limit (see :data:`GROUND_TRUTH_FUSE`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from scipy import ndimage

from ..core import masks as M
from ..core.errors import CategoryError, PanoptixError, SizeMismatchError, ValidationError
from ..core.labels import Instances, PanopticMap, Segment, SemanticMap
from ..core.taxonomy import VOID, Taxonomy

__all__ = [
    "panoptic_to_semantic",
    "panoptic_to_instances",
    "instances_to_semantic",
    "semantic_to_instances",
    "semantic_to_panoptic",
    "instances_to_panoptic",
    "fuse",
    "to_kind",
    "priority",
    "KINDS",
    "GROUND_TRUTH_FUSE",
]

#: The three label kinds, as :class:`~panoptix.io.dataset.Sample` attribute names.
KINDS = ("semantic", "instances", "panoptic")

#: :func:`fuse` options used for ground truth (instances without scores): keep every
#: object on the pixels still free, smaller objects on top, every stuff region.
GROUND_TRUTH_FUSE = {"score_threshold": 0.0, "overlap_threshold": 1.0, "stuff_area_limit": 0, "order": "area"}

_ORDER_KEYS = ("score", "area", "given")


# --------------------------------------------------------------------------- helpers
def _ignore(taxonomy: Taxonomy, ignore_index: int | None) -> int:
    """The ignore index to write; refuse one that is also a class id (ambiguous output)."""
    ignore = taxonomy.ignore_index if ignore_index is None else int(ignore_index)
    if ignore < 0:
        raise ValidationError(f"ignore_index must be non-negative, got {ignore}")
    if ignore in taxonomy:
        raise ValidationError(f"ignore_index {ignore} is also the id of category {taxonomy[ignore].name!r}")
    return ignore


def _label_dtype(max_value: int):
    """The smallest unsigned dtype that holds every label (uint8 for COCO, as PNGs want)."""
    if max_value < 256:
        return np.uint8
    if max_value < 65536:
        return np.uint16
    return np.int64


def _row_runs(values: np.ndarray):
    """Runs of equal values along the rows of a 2-D map: ``(values, first pixel, length)``.

    A run never crosses a row end, so its row and columns follow from its first pixel.
    One pass over the pixels; everything after works on the (far fewer) runs.
    """
    a = np.asarray(values)
    flat = a.ravel()
    if flat.size == 0:
        return flat[:0].copy(), np.zeros(0, np.intp), np.zeros(0, np.intp)
    starts = np.empty(flat.size, bool)
    starts[0] = True
    np.not_equal(flat[1:], flat[:-1], out=starts[1:])
    starts[:: a.shape[-1]] = True
    first = np.flatnonzero(starts)
    return flat[first], first, np.diff(first, append=flat.size)


def _run_boxes(group: np.ndarray, first: np.ndarray, lengths: np.ndarray, width: int, k: int) -> np.ndarray:
    """Pixel box ``(x0, y0, x1, y1)`` (inclusive) of each of ``k`` groups of row runs; -1 when empty."""
    rows, x0 = np.divmod(first, width)
    x1 = x0 + lengths - 1
    big = np.iinfo(np.int64).max
    box = np.stack([np.full(k, big), np.full(k, big), np.full(k, -1), np.full(k, -1)])
    np.minimum.at(box[0], group, x0)
    np.minimum.at(box[1], group, rows)
    np.maximum.at(box[2], group, x1)
    np.maximum.at(box[3], group, rows)
    box[:, box[2] < 0] = -1
    return box.T


def _group(values: np.ndarray):
    """``np.unique(values, return_inverse=True, return_counts=True)`` for label maps, faster,
    plus the pixel box of each value (see :func:`_run_boxes`).

    Label maps are long runs of few values: the work is done on the runs and the
    inverse is expanded back with ``np.repeat``; nothing sorts the pixels.
    """
    a = np.asarray(values)
    vals, first, lengths = _row_runs(a)
    uniq, run_inverse = np.unique(vals, return_inverse=True)
    run_inverse = run_inverse.reshape(-1)
    counts = np.bincount(run_inverse, weights=lengths, minlength=len(uniq)).astype(np.intp)
    width = a.shape[-1] if a.ndim == 2 else max(a.size, 1)
    boxes = _run_boxes(run_inverse, first, lengths, width, len(uniq))
    return uniq, np.repeat(run_inverse, lengths), counts, boxes


def _index_panoptic(pan: PanopticMap, taxonomy: Taxonomy):
    """Group the id map once: unique ids, inverse, pixel counts, and each id's category.

    Returns ``(uniq, inverse, counts, categories, isthing)``; VOID gets category -1.
    Raises when a pixel's id has no record, a record repeats, or a category is unknown.
    """
    uniq, inverse, counts, _ = _group(pan.ids)
    records: dict[int, Segment] = {}
    for s in pan.segments:
        if s.id in records:
            raise ValidationError("duplicate segment id", segment_id=int(s.id))
        if s.id == VOID:
            raise ValidationError("segment id 0 is VOID and cannot be a segment", segment_id=0)
        records[int(s.id)] = s
    cats = np.full(len(uniq), -1, np.int64)
    isthing = np.zeros(len(uniq), bool)
    for j, sid in enumerate(uniq.tolist()):
        if sid == VOID:
            continue
        rec = records.get(sid)
        if rec is None:
            raise ValidationError("segment is in the id map but has no segment record", segment_id=sid)
        cats[j] = rec.category_id
        isthing[j] = taxonomy.check(rec.category_id, segment_id=sid).isthing
    return uniq, inverse.reshape(-1), counts, cats, isthing


def _rles_from_id_map(ids: np.ndarray, wanted: Sequence[int]) -> list[dict]:
    """COCO RLE of ``ids == k`` for every ``k`` in ``wanted``, from one pass over the map.

    COCO RLE counts alternate 0-runs and 1-runs down the columns (Fortran order). The
    runs of constant id are found once for the whole map; each wanted id's runs are
    then a slice of the runs sorted by id, and its counts are the gaps between them.
    The result is the same canonical RLE string as encoding the binary mask.
    """
    h, w = ids.shape
    n = h * w
    flat = np.asarray(ids).ravel(order="F")
    if n == 0:
        return [M.encode(np.zeros((h, w), np.uint8)) for _ in wanted]
    bounds = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    vals = flat[starts]
    by_val = np.argsort(vals, kind="stable")  # stable: each id's runs stay in scan order
    sorted_vals = vals[by_val]
    wanted = np.asarray(wanted, dtype=flat.dtype if flat.dtype.kind in "iu" else np.int64)
    lo = np.searchsorted(sorted_vals, wanted, "left")
    hi = np.searchsorted(sorted_vals, wanted, "right")
    out = []
    for a, b in zip(lo.tolist(), hi.tolist()):
        runs = by_val[a:b]
        s, e = starts[runs], ends[runs]
        counts = np.empty(2 * len(runs) + 1, np.int64)
        counts[0:-1:2] = s - np.concatenate(([0], e[:-1]))
        counts[1::2] = e - s
        counts[-1] = n - (e[-1] if len(runs) else 0)
        if len(runs) and counts[-1] == 0:
            counts = counts[:-1]  # a mask ending on 1s has no trailing 0-run
        out.append(M.to_rle({"size": [h, w], "counts": counts.tolist()}, h, w))
    return out


def _panoptic(ids: np.ndarray, segments: list[Segment]) -> PanopticMap:
    """A PanopticMap of segments numbered ``1..N``, with areas and boxes measured.

    Ids made here are compact (``0..N``), so the runs' values index the segments directly.
    """
    n = len(segments)
    vals, first, lengths = _row_runs(ids)
    areas = np.bincount(vals, weights=lengths, minlength=n + 1).astype(np.int64)
    boxes = _run_boxes(vals, first, lengths, ids.shape[1], n + 1)
    out = []
    for s in segments:
        x0, y0, x1, y1 = boxes[s.id].tolist()
        bbox = (0.0, 0.0, 0.0, 0.0) if x1 < 0 else (float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1))
        out.append(replace(s, area=int(areas[s.id]), bbox=bbox))
    return PanopticMap(ids, out)


def _scores(inst: Instances) -> np.ndarray:
    return np.ones(len(inst)) if inst.scores is None else np.asarray(inst.scores, np.float64)


def priority(inst: Instances, order: str | Sequence[str] = "score") -> np.ndarray:
    """Indices of the objects, first = wins contested pixels.

    Parameters
    ----------
    inst : Instances
    order : {"score", "area", "given"} or sequence of them
        Keys compared in turn: ``"score"`` higher first (no scores: all 1),
        ``"area"`` fewer mask pixels first, ``"given"`` the order of ``inst``.
        The given order always breaks the ties that remain.

    Returns
    -------
    (N,) int array

    Examples
    --------
    >>> m = np.zeros((3, 2, 2), bool); m[0] = True; m[1, 0, 0] = True; m[2, 0] = True
    >>> inst = Instances.from_masks(m, [1, 1, 1], scores=[0.5, 0.5, 0.9])
    >>> priority(inst, "score").tolist(), priority(inst, ("score", "area")).tolist()
    ([2, 0, 1], [2, 1, 0])
    >>> priority(inst, "area").tolist(), priority(inst, "given").tolist()
    ([1, 2, 0], [0, 1, 2])
    """
    keys = (order,) if isinstance(order, str) else tuple(order)
    bad = [k for k in keys if k not in _ORDER_KEYS]
    if bad or not keys:
        raise PanoptixError(f"order must be one or more of {', '.join(_ORDER_KEYS)}; got {order!r}")
    n = len(inst)
    columns = []
    for k in keys:
        if k == "score":
            columns.append(-_scores(inst))
        elif k == "area":
            columns.append(inst.mask_areas if n else np.zeros(0))
        else:
            columns.append(np.arange(n))
    columns.append(np.arange(n))
    # np.lexsort sorts by the last key first: pass the keys reversed.
    return np.lexsort(columns[::-1]).astype(np.int64)


def _check_instance_categories(inst: Instances, taxonomy: Taxonomy, *, things_only: bool):
    cats = inst.category_ids
    for i, cid in enumerate(cats.tolist()):
        cat = taxonomy.check(cid, segment_id=int(inst.ids[i]))
        if things_only and not cat.isthing:
            raise ValidationError(f"an instance of stuff class {cat.name!r} ({cid}); instances must be things",
                                  segment_id=int(inst.ids[i]))


def _bbox_slice(box) -> tuple[slice, slice]:
    x, y, w, h = (int(round(v)) for v in box)
    return slice(y, y + h), slice(x, x + w)


def _structure(connectivity: int) -> np.ndarray:
    if connectivity == 8:
        return np.ones((3, 3), bool)
    if connectivity == 4:
        return ndimage.generate_binary_structure(2, 1)
    raise PanoptixError(f"connectivity must be 4 or 8, got {connectivity!r}")


def _index_semantic(sem: SemanticMap, taxonomy: Taxonomy, *, boxes: bool = True):
    """Group the semantic map once: ``(classes, inverse map, box of each class)``.

    Raises CategoryError for a class the taxonomy does not know (the ignore index aside).
    """
    uniq, inverse, _, pixel_boxes = _group(sem.labels)
    for c in uniq.tolist():
        if c != sem.ignore_index and c not in taxonomy:
            raise CategoryError(f"unknown class id {c} in the semantic map")
    inverse = inverse.reshape(sem.shape)
    if not boxes:
        return uniq, inverse, None
    return uniq, inverse, [(slice(y0, y1 + 1), slice(x0, x1 + 1)) for x0, y0, x1, y1 in pixel_boxes.tolist()]


def _thing_components(sem: SemanticMap, taxonomy: Taxonomy, connectivity: int):
    """Label the connected components of every thing class present.

    Returns ``(component_map, categories, class index)``: components numbered ``1..N``
    by class id then in raster order of their first pixel (scipy's numbering), 0
    elsewhere. Each class is labelled inside its own bounding box only.
    """
    structure = _structure(connectivity)
    uniq, inverse, boxes = _index_semantic(sem, taxonomy)
    comp = np.zeros(sem.shape, np.int32)
    cats: list[int] = []
    for j, c in enumerate(uniq.tolist()):
        if c == sem.ignore_index or not taxonomy[c].isthing:
            continue
        box = boxes[j]
        lab, k = ndimage.label(inverse[box] == j, structure=structure)
        inside = lab > 0
        comp[box][inside] = lab[inside] + len(cats)
        cats.extend([c] * k)
    return comp, cats, (uniq, inverse)


# --------------------------------------------------------------------------- panoptic ->
def panoptic_to_semantic(pan: PanopticMap, taxonomy: Taxonomy, *, ignore_index: int | None = None,
                         things_as: int | None = None) -> SemanticMap:
    """Every pixel gets the class of its segment; VOID pixels get the ignore index.

    Crowd segments keep their class, as in COCO's ``panoptic2semantic_segmentation``.

    Parameters
    ----------
    pan : PanopticMap
    taxonomy : Taxonomy
    ignore_index : int, optional
        Value of VOID pixels; ``taxonomy.ignore_index`` by default. COCO's converter
        writes 0: pass ``ignore_index=0`` to get its PNGs.
    things_as : int, optional
        Write this one class id for every thing segment (COCO's ``--things_other``
        is ``things_as=183``).

    Returns
    -------
    SemanticMap
        uint8 labels when every value fits, else uint16/int64.

    Raises
    ------
    ValidationError
        A pixel's segment id has no record; ``ignore_index`` is a class id.
    CategoryError
        A segment's category is not in the taxonomy (names the segment).

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> pan = PanopticMap.from_ids(np.array([[0, 5, 5], [9, 9, 9]]), {5: 1, 9: 184})
    >>> panoptic_to_semantic(pan, tax).labels.tolist()
    [[255, 1, 1], [184, 184, 184]]
    >>> panoptic_to_semantic(pan, tax, ignore_index=0, things_as=183).labels.tolist()
    [[0, 183, 183], [184, 184, 184]]
    """
    ignore = _ignore(taxonomy, ignore_index)
    _, inverse, _, cats, isthing = _index_panoptic(pan, taxonomy)
    lut = cats.copy()
    if things_as is not None:
        lut[isthing] = int(things_as)
    lut[cats < 0] = ignore
    dtype = _label_dtype(int(max(lut.max(initial=0), ignore)))
    labels = lut.astype(dtype)[inverse].reshape(pan.shape)
    return SemanticMap(labels, ignore_index=ignore)


def panoptic_to_instances(pan: PanopticMap, taxonomy: Taxonomy, *, things_only: bool = True) -> Instances:
    """One object per thing segment, in the order of the segment records.

    Annotation ids are the segment ids; ``iscrowd`` is kept; ``area`` is the pixel
    count and ``bbox`` the pixel box measured on the map (not the recorded values);
    no scores (ground truth). Records whose segment has no pixel are dropped.
    The masks are the same RLE as COCO's ``panoptic2detection_coco_format``
    (``things_only=False`` keeps stuff segments too, like that converter without
    ``--things_only``).

    Parameters
    ----------
    pan : PanopticMap
    taxonomy : Taxonomy
    things_only : bool
        Keep thing segments only (default), as the :class:`Instances` type wants.

    Returns
    -------
    Instances

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> pan = PanopticMap.from_ids(np.array([[0, 5, 5], [9, 9, 7]]), {5: 1, 7: 1, 9: 184}, iscrowd={7: True})
    >>> inst = panoptic_to_instances(pan, tax)
    >>> inst.ids.tolist(), inst.areas.tolist(), inst.iscrowd.tolist()
    ([5, 7], [2.0, 1.0], [False, True])
    """
    uniq, _, counts, _, _ = _index_panoptic(pan, taxonomy)
    pixels = dict(zip(uniq.tolist(), counts.tolist()))
    keep = [s for s in pan.segments
            if pixels.get(s.id, 0) > 0 and (not things_only or taxonomy[s.category_id].isthing)]
    h, w = pan.shape
    if not keep:
        return Instances.empty(h, w)
    rles = _rles_from_id_map(pan.ids, [s.id for s in keep])
    inst = Instances(rles, h, w, [s.category_id for s in keep], iscrowd=[s.iscrowd for s in keep],
                     areas=[pixels[s.id] for s in keep], bboxes=M.bbox(rles), ids=[s.id for s in keep])
    inst._rles = rles  # already compressed RLE: skip re-encoding
    return inst


# --------------------------------------------------------------------------- instances ->
def instances_to_semantic(inst: Instances, taxonomy: Taxonomy, *, order: str | Sequence[str] = ("score", "area"),
                          ignore_index: int | None = None) -> SemanticMap:
    """Paint the objects' classes; pixels no object covers get the ignore index.

    Where objects overlap, the first in ``order`` is on top (see :func:`priority`).
    The default, higher score first then smaller object first, makes ground truth
    (no scores) paint small objects over large ones (a person in front of a sofa
    stays visible). Crowd regions are painted like other objects.

    Parameters
    ----------
    inst : Instances
    taxonomy : Taxonomy
    order : {"score", "area", "given"} or sequence of them
        Default ``("score", "area")``.
    ignore_index : int, optional
        ``taxonomy.ignore_index`` by default.

    Returns
    -------
    SemanticMap

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person"), Category(2, "dog")])
    >>> m = np.zeros((2, 3, 3), bool); m[0] = True; m[1, 1:, 1:] = True
    >>> inst = Instances.from_masks(m, [1, 2])
    >>> instances_to_semantic(inst, tax).labels.tolist()   # the dog is smaller: on top
    [[1, 1, 1], [1, 2, 2], [1, 2, 2]]
    >>> instances_to_semantic(inst, tax, order="given").labels.tolist()
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    """
    ignore = _ignore(taxonomy, ignore_index)
    _check_instance_categories(inst, taxonomy, things_only=False)
    cats = inst.category_ids
    labels = np.full(inst.shape, ignore, _label_dtype(int(max(cats.max(initial=0), ignore))))
    if len(inst):
        boxes = M.bbox(inst.rles)
        # Painter's algorithm: lowest priority first, so the first in order ends on top.
        for i in priority(inst, order)[::-1].tolist():
            ys, xs = _bbox_slice(boxes[i])
            crop = labels[ys, xs]
            crop[inst.mask(i)[ys, xs]] = cats[i]
    return SemanticMap(labels, ignore_index=ignore)


def fuse(semantic: SemanticMap | None, instances: Instances | None, taxonomy: Taxonomy, *,
         score_threshold: float = 0.5, overlap_threshold: float = 0.5, stuff_area_limit: int = 4096,
         order: str | Sequence[str] = "score") -> PanopticMap:
    """Combine instances and a semantic map into a panoptic map (the standard heuristic).

    The procedure of the panoptic segmentation paper (Kirillov et al. 2019, sec. 7) as
    COCO's ``combine_semantic_and_instance_predictions`` and detectron2's
    ``combine_semantic_and_instance_outputs`` implement it:

    1. objects in ``order`` (default: higher score first, ties in the given order,
       as panopticapi's stable sort); an object with ``score < score_threshold`` is
       skipped, one with no pixel too;
    2. an object whose pixels already taken are more than ``overlap_threshold`` of its
       pixels (``taken / area > overlap_threshold``) is dropped; otherwise it gets its
       free pixels only (an object left with no free pixel is dropped);
    3. then every stuff class of the semantic map, on the pixels still free, in
       increasing class id; a class left with ``area < stuff_area_limit`` pixels is
       dropped (its pixels stay VOID). Thing classes and the ignore index of the
       semantic map are not used;
    4. everything else is VOID.

    Segment ids are ``1..N`` in that order; ``iscrowd`` of an object is kept.

    Parameters
    ----------
    semantic : SemanticMap or None
    instances : Instances or None
        Things only (a stuff-class object raises).
    taxonomy : Taxonomy
    score_threshold : float
        Objects scoring below it are skipped (equal is kept). Ground truth counts as 1.
    overlap_threshold : float
        Largest fraction of an object's pixels that may already be taken (equal is kept).
    stuff_area_limit : int
        Smallest stuff region kept, in pixels (equal is kept).
    order : {"score", "area", "given"} or sequence of them
        See :func:`priority`.

    Returns
    -------
    PanopticMap

    Raises
    ------
    SizeMismatchError
        The semantic map and the instances differ in size.
    CategoryError, ValidationError
        Unknown class, or an object of a stuff class (names the annotation).

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> sem = SemanticMap(np.array([[184, 184, 184], [184, 1, 1]]))
    >>> m = np.zeros((1, 2, 3), bool); m[0, 1, 1:] = True
    >>> pan = fuse(sem, Instances.from_masks(m, [1], scores=[0.9]), tax, stuff_area_limit=2)
    >>> pan.ids.tolist(), [(s.id, s.category_id, s.area) for s in pan.segments]
    ([[2, 2, 2], [2, 1, 1]], [(1, 1, 2), (2, 184, 4)])
    """
    if semantic is None and instances is None:
        raise ValidationError("nothing to fuse: neither a semantic map nor instances")
    shape = semantic.shape if semantic is not None else instances.shape
    if semantic is not None and instances is not None and tuple(instances.shape) != tuple(semantic.shape):
        raise SizeMismatchError(f"semantic map is {shape[0]}x{shape[1]}, instances are "
                                f"{instances.shape[0]}x{instances.shape[1]}")
    pan = np.zeros(shape, np.int32)
    segments: list[Segment] = []

    if instances is not None and len(instances):
        _check_instance_categories(instances, taxonomy, things_only=True)
        scores = _scores(instances)
        areas = instances.mask_areas
        boxes = M.bbox(instances.rles)
        for i in priority(instances, order).tolist():
            if not scores[i] >= score_threshold or areas[i] == 0:  # `not >=` also skips NaN
                continue
            ys, xs = _bbox_slice(boxes[i])
            mask = instances.mask(i)[ys, xs]
            crop = pan[ys, xs]
            free = mask & (crop == VOID)
            n_free = int(np.count_nonzero(free))
            if (areas[i] - n_free) / areas[i] > overlap_threshold or n_free == 0:
                continue
            crop[free] = len(segments) + 1
            segments.append(Segment(len(segments) + 1, int(instances.category_ids[i]),
                                    bool(instances.iscrowd[i])))

    if semantic is not None:
        uniq, inverse, _ = _index_semantic(semantic, taxonomy, boxes=False)
        free = (pan == VOID).ravel()
        free_inverse = inverse.ravel()[free]
        counts = np.bincount(free_inverse, minlength=len(uniq))  # stuff pixels still free
        lut = np.zeros(len(uniq), np.int32)
        for j, (c, n) in enumerate(zip(uniq.tolist(), counts.tolist())):
            if c != semantic.ignore_index and not taxonomy[c].isthing and n >= stuff_area_limit and n > 0:
                segments.append(Segment(len(segments) + 1, c, False))
                lut[j] = len(segments)
        pan.ravel()[free] = lut[free_inverse]
    return _panoptic(pan, segments)


def instances_to_panoptic(inst: Instances, taxonomy: Taxonomy, **fuse_opts) -> PanopticMap:
    """The objects pasted without overlap (things only), VOID elsewhere.

    This is :func:`fuse` without a semantic map. Predictions (with scores) use
    :func:`fuse`'s defaults; ground truth (no scores) uses :data:`GROUND_TRUTH_FUSE`
    so that no object is dropped: each gets the pixels not taken by a smaller one.
    ``fuse_opts`` override either.

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person")])
    >>> m = np.zeros((2, 2, 3), bool); m[0] = True; m[1, :, 2] = True
    >>> instances_to_panoptic(Instances.from_masks(m, [1, 1]), tax).ids.tolist()
    [[2, 2, 1], [2, 2, 1]]
    """
    opts = dict(GROUND_TRUTH_FUSE) if inst.scores is None else {}
    opts.update(fuse_opts)
    return fuse(None, inst, taxonomy, **opts)


# --------------------------------------------------------------------------- semantic ->
def semantic_to_instances(sem: SemanticMap, taxonomy: Taxonomy, *, connectivity: int = 8) -> Instances:
    """One object per connected component of each thing class.

    Objects are numbered ``1..N`` by class id, then in raster order of their first
    pixel; no scores, no crowd. Stuff classes and ignored pixels make no object.

    Parameters
    ----------
    sem : SemanticMap
    taxonomy : Taxonomy
    connectivity : {8, 4}
        8: pixels touching by a corner are connected; 4: by an edge only.

    Returns
    -------
    Instances

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> sem = SemanticMap(np.array([[1, 184, 1], [184, 1, 184]]))
    >>> len(semantic_to_instances(sem, tax)), len(semantic_to_instances(sem, tax, connectivity=4))
    (1, 3)
    """
    comp, cats, _ = _thing_components(sem, taxonomy, connectivity)
    h, w = sem.shape
    if not cats:
        return Instances.empty(h, w)
    ids = np.arange(1, len(cats) + 1)
    rles = _rles_from_id_map(comp, ids)
    areas = np.bincount(comp.ravel(), minlength=len(cats) + 1)[1:]
    inst = Instances(rles, h, w, cats, areas=areas, bboxes=M.bbox(rles), ids=ids)
    inst._rles = rles
    return inst


def semantic_to_panoptic(sem: SemanticMap, taxonomy: Taxonomy, *, connectivity: int = 8) -> PanopticMap:
    """One segment per stuff class, one per connected component of a thing class.

    Segment ids ``1..N`` by class id (components of one thing class in raster order
    of their first pixel); ignored pixels are VOID.

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> sem = SemanticMap(np.array([[1, 184, 1], [1, 184, 255]]))
    >>> pan = semantic_to_panoptic(sem, tax, connectivity=4)
    >>> pan.ids.tolist(), [(s.id, s.category_id) for s in pan.segments]
    ([[1, 3, 2], [1, 3, 0]], [(1, 1), (2, 1), (3, 184)])
    """
    comp, thing_cats, (uniq, inverse) = _thing_components(sem, taxonomy, connectivity)
    # Thing components keep their order; stuff classes slot in by class id.
    stuff = [c for c in uniq.tolist() if c != sem.ignore_index and not taxonomy[c].isthing]
    entries = sorted([(c, k + 1) for k, c in enumerate(thing_cats)] + [(c, 0) for c in stuff],
                     key=lambda e: e[0])  # stable: components of one class stay in order
    comp_lut = np.zeros(len(thing_cats) + 1, np.int32)
    stuff_lut = np.zeros(len(uniq), np.int32)
    position = {c: j for j, c in enumerate(uniq.tolist())}
    segments = []
    for new_id, (c, k) in enumerate(entries, start=1):
        segments.append(Segment(new_id, c, False))
        if k:
            comp_lut[k] = new_id
        else:
            stuff_lut[position[c]] = new_id
    pan = stuff_lut[inverse]
    things = comp > 0
    pan[things] = comp_lut[comp[things]]
    return _panoptic(pan, segments)


# --------------------------------------------------------------------------- samples
def to_kind(sample, kind: str, taxonomy: Taxonomy, **fuse_opts):
    """A :class:`~panoptix.io.dataset.Sample` with ``kind`` filled in from what it has.

    Kept as is when the sample already has that kind. Sources, first available wins:

    ============  =====================================================================
    kind          derived from
    ============  =====================================================================
    semantic      panoptic (exact); else instances (:func:`instances_to_semantic`)
    instances     panoptic (exact); else semantic (connected components)
    panoptic      semantic + instances (:func:`fuse`); else semantic
                  (:func:`semantic_to_panoptic`); else instances (things only)
    ============  =====================================================================

    When fusing, ground truth (instances without scores) uses :data:`GROUND_TRUTH_FUSE`
    and predictions use :func:`fuse`'s defaults; ``fuse_opts`` override either.

    Raises
    ------
    ValidationError
        Unknown kind, or no labels to derive it from (names the image).
    SizeMismatchError
        A label's size differs from the image's or from another label's (names the image).

    Examples
    --------
    >>> from panoptix.core import Category
    >>> from panoptix.io.dataset import ImageInfo, Sample
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> pan = PanopticMap.from_ids(np.array([[5, 9], [9, 9]]), {5: 1, 9: 184})
    >>> s = to_kind(Sample(ImageInfo(7, "a.jpg", 2, 2), panoptic=pan), "semantic", tax)
    >>> s.kinds, s.semantic.labels.tolist()
    (['semantic', 'panoptic'], [[1, 184], [184, 184]])
    """
    image_id = sample.image.id
    if kind not in KINDS:
        raise ValidationError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", image_id=image_id)
    if getattr(sample, kind) is not None:
        return sample
    try:
        _check_sample_sizes(sample)
        sem, inst, pan = sample.semantic, sample.instances, sample.panoptic
        if kind == "semantic":
            if pan is not None:
                out = panoptic_to_semantic(pan, taxonomy)
            elif inst is not None:
                out = instances_to_semantic(inst, taxonomy)
            else:
                raise ValidationError("no panoptic or instance labels to derive semantic labels from")
        elif kind == "instances":
            if pan is not None:
                out = panoptic_to_instances(pan, taxonomy)
            elif sem is not None:
                out = semantic_to_instances(sem, taxonomy)
            else:
                raise ValidationError("no panoptic or semantic labels to derive instances from")
        else:
            opts = dict(GROUND_TRUTH_FUSE) if inst is None or inst.scores is None else {}
            opts.update(fuse_opts)
            if sem is not None and inst is not None:
                out = fuse(sem, inst, taxonomy, **opts)
            elif sem is not None:
                out = semantic_to_panoptic(sem, taxonomy)
            elif inst is not None:
                out = fuse(None, inst, taxonomy, **opts)
            else:
                raise ValidationError("no semantic or instance labels to derive panoptic labels from")
    except PanoptixError as exc:
        raise exc.at(image_id=image_id) from None
    return replace(sample, **{kind: out})


def _check_sample_sizes(sample) -> None:
    info = sample.image
    want = (int(info.height), int(info.width)) if info.height and info.width else None
    for k in KINDS:
        label = getattr(sample, k)
        if label is None:
            continue
        shape = tuple(int(v) for v in label.shape)
        if want is None:
            want = shape
        elif shape != want:
            raise SizeMismatchError(f"{k} labels are {shape[0]}x{shape[1]}, expected {want[0]}x{want[1]}")
