"""Evaluate a batch of images on flat arrays (private; shared by both instance-eval paths).

:class:`~panoptix.metrics.instance.InstanceEvaluator.update` builds a one-image
batch from :class:`~panoptix.core.Instances`; :func:`~panoptix.metrics.instance.evaluate_coco`
builds many-image batches straight from the JSON files. Both end in
:func:`evaluate_batch`, so the two paths give bit-identical numbers.

A batch's result is a *block*: per kept detection its image (local index),
category, rank within its (image, category) group, score and status code at
every (area range, IoU threshold); per group the number of ground truths not
ignored. Blocks are small, picklable and concatenate across shards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from pycocotools import _mask as _cmask

from ..core.errors import FormatError
from . import _coco_kernels as K

__all__ = ["Params", "StringMasks", "SegmentationMasks", "FlatSegments", "evaluate_batch"]


@dataclass(frozen=True)
class Params:
    """Evaluation parameters, with pycocotools' defaults and conventions."""

    iou_type: str = "segm"
    iou_thrs: tuple = ()
    rec_thrs: tuple = ()
    max_dets: tuple = (1, 10, 100)
    area_rng: tuple = ()
    use_cats: bool = True
    dilation_ratio: float = 0.02

    @classmethod
    def make(cls, iou_type="segm", iou_thresholds=None, max_dets=(1, 10, 100), area_ranges=None,
             use_cats=True, boundary_dilation_ratio=0.02) -> "Params":
        if iou_type not in ("segm", "bbox", "boundary"):
            raise ValueError(f"iou_type must be 'segm', 'bbox' or 'boundary', got {iou_type!r}")
        # np.arange would drift; pycocotools uses exactly these linspace calls
        if iou_thresholds is None:
            iou = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
        else:
            iou = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
        if len(iou) == 0:
            raise ValueError("iou_thresholds must not be empty")
        rec = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
        md = sorted(int(m) for m in max_dets)
        if len(md) < 3 or md[0] < 0:
            raise ValueError(f"max_dets needs three non-negative values (COCO: 1, 10, 100), got {max_dets!r}")
        if area_ranges is None:
            ar = ((0 ** 2, 1e5 ** 2), (0 ** 2, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e5 ** 2))
        else:
            ar = tuple((float(lo), float(hi)) for lo, hi in area_ranges)
        if len(ar) != 4:
            raise ValueError("area_ranges needs 4 (lo, hi) pairs: all, small, medium, large")
        ratio = float(boundary_dilation_ratio)
        if not ratio > 0:
            raise ValueError("boundary_dilation_ratio must be positive")
        return cls(iou_type, tuple(float(v) for v in iou), tuple(float(v) for v in rec), tuple(md),
                   tuple((float(lo), float(hi)) for lo, hi in ar), bool(use_cats), ratio)

    @property
    def iou_array(self) -> np.ndarray:
        return np.array(self.iou_thrs, dtype=np.float64)

    @property
    def rec_array(self) -> np.ndarray:
        return np.array(self.rec_thrs, dtype=np.float64)

    @property
    def area_array(self) -> np.ndarray:
        return np.array(self.area_rng, dtype=np.float64).reshape(-1, 2)


# --------------------------------------------------------------------------- mask sources
# A mask source answers two questions about objects ``sel`` (indices into it):
#   scan(sel)            -> (area float64, n_intervals, err)
#   intervals(sel, nint, area) -> (iv_off, starts, ends, area, err)   (nint, area from scan, or None)
# ``err`` != 0 marks a corrupt RLE (see _coco_kernels.ERR_MESSAGES).

class StringMasks:
    """Objects whose masks are compressed COCO RLE strings in one byte buffer.

    Part ``p`` is ``buf[offs[p]:offs[p]+lens[p]]`` on an image of ``totals[p]`` pixels;
    ``escaped``: the strings are JSON string contents (``\\`` for a backslash).
    Object ``o`` is the union of parts ``part_lo[o] .. part_lo[o]+part_n[o]-1`` (one
    part per object, object ``o`` = part ``o``, when they are not given).
    """

    def __init__(self, buf, offs, lens, totals, *, escaped=False, part_lo=None, part_n=None):
        self.buf = buf
        self.offs = np.asarray(offs, np.int64)
        self.lens = np.asarray(lens, np.int64)
        self.totals = np.asarray(totals, np.int64)
        self.escaped = bool(escaped)
        self.part_lo = None if part_lo is None else np.asarray(part_lo, np.int64)
        self.part_n = None if part_n is None else np.asarray(part_n, np.int64)

    @classmethod
    def from_counts(cls, counts: list, totals, **kw) -> "StringMasks":
        """From a list of ``counts`` strings/bytes."""
        raw = [c.encode("ascii", "replace") if isinstance(c, str) else c for c in counts]
        lens = np.fromiter(map(len, raw), np.int64, len(raw))
        offs = np.zeros(len(raw), np.int64)
        if len(raw) > 1:
            np.cumsum(lens[:-1], out=offs[1:])
        buf = np.frombuffer(b"".join(raw), np.uint8)  # read-only, like file buffers: one compiled variant
        return cls(buf, offs, lens, totals, **kw)

    def count_string(self, k: int) -> str:
        """The ``counts`` string of part ``k`` (un-escaped)."""
        raw = self.buf[self.offs[k]:self.offs[k] + self.lens[k]].tobytes()
        return json.loads(b'"' + raw + b'"') if self.escaped else raw.decode("ascii")

    def _parts(self, sel):
        if self.part_lo is None:
            return sel, None
        n = self.part_n[sel]
        pof = np.zeros(len(sel) + 1, np.int64)
        np.cumsum(n, out=pof[1:])
        parts = np.repeat(self.part_lo[sel] - pof[:-1], n) + np.arange(pof[-1])
        return parts, pof

    def scan(self, sel):
        sel = np.asarray(sel, np.int64)
        if self.part_lo is None:
            area, nint, err = K.rle_strings_scan(self.buf, self.offs[sel], self.lens[sel], self.totals[sel],
                                                 self.escaped)
            return area.astype(np.float64), nint, err
        off, _, _, area, err = self.intervals(sel)
        return area.astype(np.float64), np.diff(off), err

    def intervals(self, sel, nint=None, area=None):
        sel = np.asarray(sel, np.int64)
        parts, pof = self._parts(sel)
        offs, lens, tot = self.offs[parts], self.lens[parts], self.totals[parts]
        if nint is None or pof is not None:
            area, nint, err = K.rle_strings_scan(self.buf, offs, lens, tot, self.escaped)
            if pof is not None and len(parts):
                obj_err = np.zeros(len(sel), np.int64)
                np.maximum.at(obj_err, np.repeat(np.arange(len(sel)), np.diff(pof)), err)
                err = obj_err
            if err.any():
                z = np.zeros(0, np.int64)
                return np.zeros(len(sel) + 1, np.int64), z, z, np.zeros(len(sel), np.int64), err
        else:
            err = np.zeros(len(sel), np.int64)
        iv_off, s, e = K.rle_strings_intervals(self.buf, offs, lens, tot, np.asarray(nint, np.int64),
                                               self.escaped)
        if pof is not None:
            iv_off, s, e, area = K.union_parts(pof, iv_off, s, e)
        elif area is None:
            area = _interval_areas(iv_off, s, e)
        return iv_off, s, e, area, err


def _interval_areas(off, s, e):
    lengths = e - s
    if len(lengths) == 0:
        return np.zeros(len(off) - 1, np.int64)
    csum = np.concatenate(([0], np.cumsum(lengths)))
    return csum[off[1:]] - csum[off[:-1]]


class FlatSegments:
    """Segmentations held flat (from the ground-truth scanner): polygon coordinates in one
    float array, compressed RLE as JSON-escaped spans of the file's bytes, uncompressed
    RLE counts in one int array; anything else as parsed Python objects (``odd``).

    ``store[k]`` gives the COCO segmentation of object ``k`` as Python objects.
    """

    POLY, RLE, COUNTS, NONE = 1, 2, 3, 0

    def __init__(self, kind, a, b, sizes, coords, parts, counts, buf, odd: dict):
        self.kind = np.asarray(kind, np.int64)
        self.a = np.asarray(a, np.int64)      # poly: first part; rle: span start; counts: start
        self.b = np.asarray(b, np.int64)      # poly: number of parts; rle: span end; counts: end
        self.sizes = sizes
        self.coords = coords
        self.parts = parts                    # (n_parts, 2): [start, len) in coords
        self.counts = counts
        self.buf = buf
        self.odd = odd                        # k -> Python segmentation
        self._kinds = self.kind.tolist()
        self._parts = parts.tolist()

    def __len__(self) -> int:
        return len(self.kind)

    def subset(self, sel) -> "FlatSegments":
        """The objects ``sel`` (in that order)."""
        sel = np.asarray(sel, np.int64)
        back = {int(k): j for j, k in enumerate(sel.tolist()) if int(k) in self.odd}
        return FlatSegments(self.kind[sel], self.a[sel], self.b[sel], self.sizes[sel], self.coords, self.parts,
                            self.counts, self.buf, {j: self.odd[k] for k, j in back.items()})

    def plain_polygons(self, sel):
        """Which objects of ``sel`` are polygon lists pycocotools rasterises as polygons (first part
        longer than 4 numbers, not odd), and the length of their first part."""
        sel = np.asarray(sel, np.int64)
        poly = self.kind[sel] == self.POLY
        if self.odd:
            poly &= ~np.isin(sel, np.fromiter(self.odd, np.int64, len(self.odd)))
        first = np.zeros(len(sel), np.int64)
        has_parts = poly & (self.b[sel] > 0)
        first[has_parts] = self.parts[self.a[sel][has_parts], 1]
        return has_parts & (first > 4), first

    def polygon_parts(self, k: int) -> list:
        """The polygon parts of object ``k`` as float arrays (views), or None if not polygons."""
        if k in self.odd or self._kinds[k] != self.POLY:
            return None
        c = self.coords
        lo = int(self.a[k])
        return [c[s:s + n] for s, n in self._parts[lo:lo + int(self.b[k])]]

    def __getitem__(self, k: int):
        if k in self.odd:
            return self.odd[k]
        kind = self._kinds[k]
        if kind == self.POLY:
            return [p.tolist() for p in self.polygon_parts(k)]
        size = [int(v) for v in self.sizes[k]]
        if kind == self.RLE:
            raw = self.buf[self.a[k]:self.b[k]].tobytes()
            return {"size": size, "counts": json.loads(b'"' + raw + b'"')}
        if kind == self.COUNTS:
            return {"size": size, "counts": self.counts[self.a[k]:self.b[k]].tolist()}
        return None


class SegmentationMasks:
    """Objects given as COCO segmentations (polygons, uncompressed or compressed RLE).

    Polygons are rasterised with pycocotools' own C code (``frPoly``, or
    ``frPyObjects`` for its quirky inputs, exactly as ``COCO.annToRLE``), batched per
    image size; only the objects asked for are rasterised.
    """

    def __init__(self, segs: list, heights, widths, *, make_error=None):
        self.segs = segs
        self.h = np.asarray(heights, np.int64)
        self.w = np.asarray(widths, np.int64)
        self.make_error = make_error or (lambda i, msg: FormatError(msg))

    def _strings(self, sel) -> StringMasks:
        segs, hs, ws = self.segs, self.h, self.w
        n = len(sel)
        totals = hs[sel] * ws[sel]
        part_n = np.ones(n, np.int64)
        items: list = [None] * n   # counts (str/bytes, or a list of them) of non-polygon objects
        groups: dict = {}          # (h, w) -> (object slots, polygon parts)
        if isinstance(segs, FlatSegments):
            # polygons straight from the flat coordinates, no per-object Python
            poly, first_len = segs.plain_polygons(sel)
            slots = np.flatnonzero(poly)
            objs = sel[slots]
            lo, cnt = segs.a[objs], segs.b[objs]
            part_n[slots] = cnt
            pidx = np.repeat(lo - np.concatenate(([0], np.cumsum(cnt)[:-1])), cnt) + np.arange(cnt.sum())
            starts = segs.parts[pidx, 0]
            ends = starts + segs.parts[pidx, 1]
            c = segs.coords
            views = [c[x:y] for x, y in zip(starts.tolist(), ends.tolist())]
            key = hs[objs] * (int(ws.max(initial=0)) + 1) + ws[objs]
            pstart = np.concatenate(([0], np.cumsum(cnt)))
            for k in np.unique(key).tolist():
                js = np.flatnonzero(key == k)
                g = groups[(int(hs[objs[js[0]]]), int(ws[objs[js[0]]]))] = (slots[js].tolist(), [])
                if len(js) == len(objs):
                    g[1].extend(views)
                else:
                    for j in js.tolist():
                        g[1].extend(views[pstart[j]:pstart[j + 1]])
            rest = np.flatnonzero(~poly).tolist()
        else:
            rest = range(n)
        for j in rest:
            i = int(sel[j])
            seg = segs[i]
            if type(seg) is list and seg and type(seg[0]) is list and len(seg[0]) > 4:
                key = (int(hs[i]), int(ws[i]))
                g = groups.get(key)
                if g is None:
                    g = groups[key] = ([], [])
                g[0].append(j)
                g[1].extend(seg)
                part_n[j] = len(seg)
            else:
                items[j] = self._other(i, seg, int(hs[i]), int(ws[i]))
                if isinstance(items[j], list):
                    part_n[j] = len(items[j])
        part_lo = np.zeros(n, np.int64)
        if n > 1:
            np.cumsum(part_n[:-1], out=part_lo[1:])
        counts: list = [b""] * int(part_n.sum())
        for j in np.flatnonzero([it is not None for it in items]).tolist():
            it = items[j]
            if isinstance(it, list):
                counts[part_lo[j]:part_lo[j] + len(it)] = it
            else:
                counts[part_lo[j]] = it
        for (h, w), (slots_hw, polys) in groups.items():
            try:
                rles = _cmask.frPoly(polys, h, w)
            except Exception:  # noqa: BLE001 - pycocotools raises bare exceptions; find the culprit
                for j in slots_hw:
                    it = self._quirky(int(sel[j]), segs[int(sel[j])], h, w)
                    counts[part_lo[j]:part_lo[j] + len(it)] = it
                continue
            k = 0
            for j in slots_hw:
                m = int(part_n[j])
                lo_ = int(part_lo[j])
                counts[lo_:lo_ + m] = [r["counts"] for r in rles[k:k + m]]
                k += m
        return StringMasks.from_counts(counts, np.repeat(totals, part_n), part_lo=part_lo, part_n=part_n)

    def _other(self, i, seg, h, w):
        """Counts of an object that is not a plain polygon list (a list means several parts)."""
        if isinstance(seg, list):
            if not seg:
                # pycocotools fails on []: read as an empty mask, as core.masks does
                return _empty_rle(h, w)
            return self._quirky(i, seg, h, w)
        if isinstance(seg, dict) and "counts" in seg and "size" in seg:
            try:
                sh, sw = (int(v) for v in seg["size"])
            except (TypeError, ValueError):
                raise self.make_error(i, f"RLE size {seg['size']!r} is not [height, width]") from None
            if (sh, sw) != (h, w):
                raise self.make_error(i, f"RLE size {sh}x{sw} differs from the image size {h}x{w}")
            counts = seg["counts"]
            if isinstance(counts, list):
                return self._uncompressed(i, counts, h, w)
            if isinstance(counts, (str, bytes)):
                return counts
            raise self.make_error(i, "RLE counts must be a string or a list of integers")
        raise self.make_error(i, f"segmentation is neither polygons nor RLE: {str(seg)[:60]!r}")

    def _quirky(self, i, seg, h, w):
        try:
            # frPyObjects reads a list whose first item has 4 numbers as boxes: keep that quirk
            rles = _cmask.frPyObjects(seg, h, w)
        except Exception as exc:  # noqa: BLE001
            raise self.make_error(i, f"bad polygon: {exc}") from None
        return [r["counts"] for r in rles]

    def _uncompressed(self, i, counts, h, w):
        try:
            arr = np.asarray(counts, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise self.make_error(i, "uncompressed RLE counts must be integers") from None
        if arr.ndim != 1 or (arr < 0).any():
            raise self.make_error(i, "uncompressed RLE counts must be non-negative integers")
        if int(arr.sum()) != h * w:
            raise self.make_error(i, f"uncompressed RLE counts sum to {int(arr.sum())}, not {h}*{w}")
        return _cmask.frUncompressedRLE([{"size": [h, w], "counts": counts}], h, w)[0]["counts"]

    def scan(self, sel):
        sel = np.asarray(sel, np.int64)
        return self._strings(sel).scan(np.arange(len(sel)))

    def intervals(self, sel, nint=None, area=None):
        sel = np.asarray(sel, np.int64)
        return self._strings(sel).intervals(np.arange(len(sel)))


def _empty_rle(h, w):
    return _cmask.frUncompressedRLE([{"size": [h, w], "counts": [h * w]}], h, w)[0]["counts"]


def _raise_decode_errors(err, sel, make_error):
    bad = np.flatnonzero(err)
    if len(bad):
        j = int(bad[0])
        raise make_error(int(sel[j]), K.ERR_MESSAGES.get(int(err[j]), "corrupt RLE"))


# --------------------------------------------------------------------------- blocks
def _default_error(i, msg):
    return FormatError(msg)


@dataclass
class GroundTruth:
    """Ground truth of a batch: arrays in file order, masks behind a mask source."""

    img: np.ndarray            # local image index
    cat: np.ndarray            # category id
    crowd: np.ndarray          # bool
    area: np.ndarray           # annotation ``area`` (float64)
    ids: np.ndarray            # annotation id (int64)
    masks: object = None       # StringMasks / SegmentationMasks (segm, boundary)
    boxes: np.ndarray | None = None  # (n, 4) (bbox)
    make_error: object = _default_error  # (index, message) -> PanoptixError naming image and id


@dataclass
class Detections:
    img: np.ndarray
    cat: np.ndarray
    score: np.ndarray
    area: np.ndarray | None = None   # loadRes area; None -> mask pixel count (segm) / box area (bbox)
    masks: object = None
    boxes: np.ndarray | None = None
    make_error: object = _default_error


@dataclass
class Batch:
    image_ids: list
    heights: np.ndarray
    widths: np.ndarray
    gt: GroundTruth
    dt: Detections


def _category_index(gcat, dcat):
    """Sorted category ids present and the index of each object's category."""
    n = len(gcat) + len(dcat)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo = min(gcat.min() if len(gcat) else dcat.min(), dcat.min() if len(dcat) else gcat.min())
    hi = max(gcat.max() if len(gcat) else dcat.max(), dcat.max() if len(dcat) else gcat.max())
    span = int(hi) - int(lo) + 1
    if span <= 4 * n + 4096:
        present = np.zeros(span, np.bool_)
        present[gcat - lo] = True
        present[dcat - lo] = True
        lut = np.cumsum(present) - 1
        return (np.flatnonzero(present) + lo).astype(np.int64), lut[gcat - lo], lut[dcat - lo]
    cats = np.unique(np.concatenate((gcat, dcat))).astype(np.int64)
    return cats, np.searchsorted(cats, gcat), np.searchsorted(cats, dcat)


def evaluate_batch(batch: Batch, params: Params) -> dict:
    """Sort, group, compute IoUs and match every (image, category) group of a batch."""
    gt, dt = batch.gt, batch.dt
    n_dt = len(dt.img)
    maxdet = params.max_dets[-1]
    g_img = np.asarray(gt.img, np.int64)
    d_img = np.asarray(dt.img, np.int64)
    g_cat = np.asarray(gt.cat, np.int64)
    d_cat = np.asarray(dt.cat, np.int64)
    score = np.asarray(dt.score, np.float64)
    cats, g_ci, d_ci = _category_index(g_cat, d_cat)
    nk = max(len(cats), 1)
    # pycocotools' order: ground truth by category, in file order; detections of a group by
    # score, stably. Without categories one group per image, built category by category.
    g_full = g_img * nk + g_ci
    d_full = d_img * nk + d_ci
    gord = np.argsort(g_full, kind="stable")
    dord = np.argsort(d_full, kind="stable")
    if params.use_cats:
        g_key_of, d_key_of = g_full, d_full
    else:
        g_key_of, d_key_of = g_img, d_img
    K.sort_runs_by_score(dord, d_key_of, score)
    gkey = g_key_of[gord]
    dkey = d_key_of[dord]
    keys = K.merge_unique(gkey, dkey)
    ngrp = len(keys)
    grp_gt = np.empty((ngrp, 2), np.int64)
    grp_gt[:, 0] = np.searchsorted(gkey, keys, "left")
    grp_gt[:, 1] = np.searchsorted(gkey, keys, "right")
    d_lo = np.searchsorted(dkey, keys, "left")
    d_hi = np.searchsorted(dkey, keys, "right")
    # rank of each detection in its group; only the first maxDets[-1] are evaluated
    pos_all = np.arange(n_dt) - np.repeat(d_lo, d_hi - d_lo)
    keep = pos_all < maxdet
    kept = dord[keep]
    pos = pos_all[keep]
    n_d = np.minimum(d_hi - d_lo, maxdet)
    grp_dt = np.empty((ngrp, 2), np.int64)
    grp_dt[:, 1] = np.cumsum(n_d)
    grp_dt[:, 0] = grp_dt[:, 1] - n_d
    n_g = grp_gt[:, 1] - grp_gt[:, 0]
    grp_img = keys // nk if params.use_cats else keys
    grp_cat = cats[keys % nk] if params.use_cats and len(cats) else np.full(ngrp, -1, np.int64)

    g_crowd = np.asarray(gt.crowd, np.bool_)[gord]
    d_area = None if dt.area is None else np.asarray(dt.area, np.float64)[kept]
    if params.iou_type == "bbox":
        dboxes = np.asarray(dt.boxes, np.float64).reshape(-1, 4)[kept]
        gboxes = np.asarray(gt.boxes, np.float64).reshape(-1, 4)[gord]
        if d_area is None:
            d_area = dboxes[:, 2] * dboxes[:, 3]
        iou_off, ious = K.group_box_ious(grp_gt, grp_dt, gboxes, g_crowd, dboxes)
    else:
        # only objects of groups that have both sides need their runs
        both = (n_g > 0) & (n_d > 0)
        g_need = np.repeat(both, n_g)
        d_need = np.repeat(both, n_d)
        g_off, g_s, g_e, g_marea = _intervals(gt.masks, gord, g_need, gt.make_error)
        nint = marea = None
        if d_area is None:
            # loadRes: the area of every detection is its mask's pixel count
            d_area, nint, err = dt.masks.scan(kept)
            _raise_decode_errors(err, kept, dt.make_error)
            marea = d_area.astype(np.int64)
        d_off, d_s, d_e, d_marea = _intervals(dt.masks, kept, d_need, dt.make_error, nint, marea)
        g_h = np.asarray(batch.heights, np.int64)[g_img[gord]]
        iou_off, ious = K.group_ious(grp_gt, grp_dt, g_off, g_s, g_e, g_marea, g_crowd, g_h,
                                     d_off, d_s, d_e, d_marea)
        if params.iou_type == "boundary":
            from ._coco_boundary import boundary_adjust

            boundary_adjust(ious, iou_off, grp_gt, grp_dt, grp_img, np.asarray(batch.heights),
                            np.asarray(batch.widths), g_off, g_s, g_e, g_crowd, d_off, d_s, d_e,
                            params.dilation_ratio)
    status, npig = K.match_groups(grp_gt, grp_dt, iou_off, ious, np.asarray(gt.area, np.float64)[gord],
                                  g_crowd, np.asarray(gt.ids, np.int64)[gord], np.asarray(d_area, np.float64),
                                  params.iou_array, params.area_array)
    return {
        "image_ids": list(batch.image_ids),
        "d_img": d_img[kept],
        "d_cat": d_cat[kept] if params.use_cats else np.full(len(kept), -1, np.int64),
        "d_pos": pos.astype(np.int64),
        "d_score": score[kept],
        "d_status": status,
        "g_img": grp_img.astype(np.int64),
        "g_cat": grp_cat.astype(np.int64),
        "g_npig": npig,
        "categories": cats,
    }


def _intervals(masks, order, need, make_error, nint=None, area=None):
    """Runs of objects ``order[need]``, laid out for all of ``order`` (empty where not needed)."""
    sel = order[need]
    n = len(order)
    if len(sel) == 0:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(n, np.int64)
    off, s, e, area, err = masks.intervals(sel, None if nint is None else nint[need],
                                           None if area is None else area[need])
    _raise_decode_errors(err, sel, make_error)
    if len(sel) == n:
        return off, s, e, np.asarray(area, np.int64)
    counts = np.zeros(n, np.int64)
    counts[need] = np.diff(off)
    full = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=full[1:])
    full_area = np.zeros(n, np.int64)
    full_area[need] = area
    return full, s, e, full_area
