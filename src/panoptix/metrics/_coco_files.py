"""Reading COCO ground-truth and results files into flat arrays; sharded evaluation (private).

Both files are read as bytes and walked once by numba scanners (:mod:`._coco_scan` for the
results, :mod:`._coco_scan_gt` for the ground truth's annotations) into numpy arrays; compressed
RLE strings stay in the byte buffer for the decoder, polygon coordinates go into one float array.
Files of an unusual shape (and single odd annotations) go through orjson instead — the same
arrays come out, and errors are named there. Ground-truth polygons are rasterised by pycocotools'
C code inside the worker that evaluates their image. Images are split into contiguous shards
evaluated in forked worker processes, each in chunks (:data:`CHUNK_IMAGES`).
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import threading
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import orjson

from ..core.errors import CategoryError, FormatError, PanoptixError
from ..core.labels import Instances
from ..core.taxonomy import Category, Taxonomy
from . import _coco_kernels as K
from . import _coco_scan as S
from . import _coco_scan_gt as G
from ._coco_batch import (Batch, Detections, FlatSegments, GroundTruth, Params, SegmentationMasks, StringMasks,
                          evaluate_batch)

__all__ = ["load_ground_truth", "read_results", "load_results", "run_shards", "iter_pairs"]


# --------------------------------------------------------------------------- ground truth
@dataclass
class GroundTruthFile:
    path: str
    image_ids: list           # ascending
    heights: np.ndarray       # by image rank
    widths: np.ndarray
    id_lookup: object         # image id -> rank (dict) ; or sorted int array
    categories: list          # the raw ``categories`` records
    cat_ids: np.ndarray       # ascending
    img: np.ndarray           # annotations (file order, known images and categories only): image rank
    cat: np.ndarray
    crowd: np.ndarray
    area: np.ndarray
    ids: np.ndarray
    segs: object              # list of Python segmentations, or FlatSegments
    boxes: np.ndarray | None
    n_unknown_cat: int
    n_unknown_img: int

    @property
    def taxonomy(self) -> Taxonomy:
        cats = []
        for r in self.categories:
            try:
                cats.append(Category.from_coco(r))
            except CategoryError as exc:
                raise FormatError(str(exc), file=self.path) from None
        return Taxonomy(cats)

    def ranks_of(self, ids: np.ndarray) -> np.ndarray:
        """Ranks of image ids; -1 for ids not in the file."""
        if isinstance(self.id_lookup, np.ndarray):
            arr = self.id_lookup
            pos = np.searchsorted(arr, ids)
            pos = np.minimum(pos, max(len(arr) - 1, 0))
            ok = (arr[pos] == ids) if len(arr) else np.zeros(len(ids), bool)
            return np.where(ok, pos, -1).astype(np.int64)
        lookup = self.id_lookup
        return np.fromiter((lookup.get(i, -1) for i in ids.tolist()), np.int64, len(ids))


def _int_ids(values: list):
    """An int64 array when every value is an integer (or integral float), else None."""
    try:
        arr = np.array(values)
    except (ValueError, TypeError):
        return None
    if arr.ndim != 1:
        return None
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
        return arr.astype(np.int64)
    if len(values) == 0:
        return np.zeros(0, np.int64)
    return None


@dataclass
class _Annotations:
    """The annotation fields of a ground-truth file, in file order."""

    img: object            # image ids: int64 array, or a list (other id types)
    ids: np.ndarray
    cat: np.ndarray
    crowd: np.ndarray
    area: np.ndarray       # NaN where missing
    segs: object           # list of Python segmentations, or FlatSegments
    boxes: np.ndarray | None  # (n, 4), NaN rows where missing (bbox evaluation only)


def load_ground_truth(path, params: Params) -> GroundTruthFile:
    path = str(path)
    buf = _read_bytes(path)
    scanned = _scan_ground_truth(buf, path, params)
    if scanned is not None:
        images, categories, anns = scanned
    else:
        data = _parse_json(buf, path)
        if not isinstance(data, dict):
            raise FormatError("a COCO ground-truth file must be a JSON object", file=path)
        for key in ("images", "categories"):
            if not isinstance(data.get(key), list):
                raise FormatError(f"no {key!r} list", file=path)
        records = data.get("annotations", [])
        if not isinstance(records, list):
            raise FormatError("'annotations' must be a list", file=path)
        images, categories = data["images"], data["categories"]
        anns = _annotations_from_records(records, path, params)
    return _build_ground_truth(path, params, images, categories, anns)


def _ann_fields(a, k: int, path, params: Params):
    """(image_id, id, category_id, iscrowd, area, segmentation, bbox) of one annotation record."""
    if not isinstance(a, dict):
        raise FormatError(f"annotation record #{k + 1} is not an object", file=path)
    try:
        img, aid, cat = a["image_id"], a["id"], a["category_id"]
    except KeyError as exc:
        raise FormatError(f"annotation has no {exc.args[0]!r}", file=path, image_id=a.get("image_id"),
                          segment_id=a.get("id")) from None
    if params.iou_type != "bbox" and "segmentation" not in a:
        raise FormatError("annotation has no 'segmentation'", file=path, image_id=img, segment_id=aid)
    area = a.get("area")
    return (img, aid, cat, a.get("iscrowd", 0), math.nan if area is None else area, a.get("segmentation"),
            a.get("bbox") if params.iou_type == "bbox" else None)


def _annotations_from_records(records: list, path, params: Params) -> _Annotations:
    n = len(records)
    cols = list(zip(*(_ann_fields(a, k, path, params) for k, a in enumerate(records)))) or [()] * 7
    img, ids, cat, crowd, area, segs, boxes = (list(c) for c in cols)
    where = lambda k, msg: FormatError(msg, file=path, image_id=img[k], segment_id=ids[k])  # noqa: E731
    ids_arr = _int_ids(ids)
    if ids_arr is None:
        k = next(i for i, v in enumerate(ids) if not _is_int(v))
        raise where(k, "annotation 'id' must be an integer")
    cat_arr = _int_ids(cat)
    if cat_arr is None:
        k = next(i for i, v in enumerate(cat) if not _is_int(v))
        raise where(k, "annotation 'category_id' must be an integer")
    try:
        area_arr = np.array(area, np.float64).reshape(n)
    except (TypeError, ValueError):
        k = next(i for i, v in enumerate(area) if not _is_number(v))
        raise where(k, f"annotation 'area' must be a number, got {area[k]!r}") from None
    box_arr = None
    if params.iou_type == "bbox":
        box_arr = np.full((n, 4), np.nan)
        for k, b in enumerate(boxes):
            if b is not None:
                if not (isinstance(b, list) and len(b) == 4 and all(_is_number(v) for v in b)):
                    raise where(k, f"'bbox' must be 4 numbers, got {str(b)[:60]}")
                box_arr[k] = b
    img_ids = _int_ids(img)
    return _Annotations(img if img_ids is None else img_ids, ids_arr, cat_arr,
                        np.array([bool(c) for c in crowd], np.bool_), area_arr, segs, box_arr)


def _scan_ground_truth(buf: np.ndarray, path, params: Params):
    """The numba fast path: (images, categories, _Annotations), or None for the general path."""
    scan = G.GtScan(S.count_byte(buf, 123) + 16, max(len(buf) // 8, 1024))
    status, n = scan.run(buf)
    if status != S.OK or scan.top[0, 0] < 0 or scan.top[2, 0] < 0:
        return None
    (ia, ib), _, (ca, cb) = scan.top.tolist()
    images = orjson.loads(memoryview(buf[ia:ib]))
    categories = orjson.loads(memoryview(buf[ca:cb]))
    if not isinstance(images, list) or not isinstance(categories, list):
        return None
    info = scan.info[:n]
    kind = info[:, 1]
    has = info[:, 0]
    odd = np.flatnonzero(kind == G.SEG_ODD)
    need = G.H_ID | G.H_IMG | G.H_CAT | (G.H_SEG if params.iou_type != "bbox" else 0)
    regular = kind != G.SEG_ODD
    if ((has[regular] & need) != need).any():
        return None  # a missing field: the general path names it
    ints = scan.ints[:n]
    ids, img, cat = ints[:, 0].copy(), ints[:, 1].copy(), ints[:, 2].copy()
    crowd = ints[:, 3] != 0
    area = np.where(has & G.H_AREA, scan.area[:n], np.nan)
    slow = scan.slow[:n]
    for r in np.flatnonzero((slow[:, 0] >= 0) & ((has & G.H_AREA) > 0)).tolist():
        area[r] = _reread_number(buf, int(slow[r, 0]))
    boxes = None
    if params.iou_type == "bbox":
        with_box = regular & ((has & G.H_BBOX) > 0)
        if (info[with_box, 2] != 4).any():
            return None
        boxes = np.full((n, 4), np.nan)
        boxes[with_box] = scan.box[:n][with_box]
        for r, j in zip(*np.nonzero(slow[:, 1:] >= 0)):
            if with_box[r]:
                boxes[r, j] = _reread_number(buf, int(slow[r, 1 + j]))
    coords = scan.coords[:scan.nc].copy()
    for ci, pos in scan.cslow[:scan.nslow].tolist():
        coords[ci] = _reread_number(buf, pos)
    odd_segs = {}
    for r in odd.tolist():
        rec = orjson.loads(memoryview(buf[scan.span[r, 0]:scan.span[r, 1]]))
        f_img, f_id, f_cat, f_crowd, f_area, f_seg, f_box = _ann_fields(rec, r, path, params)
        if not (_is_int(f_img) and _is_int(f_id) and _is_int(f_cat) and (_is_number(f_area) or f_area is None)):
            return None  # unusual ids: the general path handles (or names) them
        img[r], ids[r], cat[r], crowd[r], area[r] = int(f_img), int(f_id), int(f_cat), bool(f_crowd), f_area
        odd_segs[r] = f_seg
        if boxes is not None and f_box is not None:
            if not (isinstance(f_box, list) and len(f_box) == 4 and all(_is_number(v) for v in f_box)):
                return None
            boxes[r] = f_box
    is_poly = kind == G.SEG_POLY
    a = np.where(is_poly, info[:, 3], info[:, 5])
    b = np.where(is_poly, info[:, 4], info[:, 6])
    segs = FlatSegments(kind, a, b, scan.size[:n].copy(), coords, scan.parts[:scan.npart].copy(),
                        scan.counts[:scan.ncount].copy(), buf, odd_segs)
    return images, categories, _Annotations(img, ids, cat, crowd, area, segs, boxes)


def _build_ground_truth(path, params: Params, images: list, categories: list, anns: _Annotations
                        ) -> GroundTruthFile:
    need_size = params.iou_type != "bbox"
    sizes = _image_sizes(images, path, need_size)
    try:
        image_ids = sorted(sizes)
    except TypeError:
        raise FormatError("image ids must all be numbers or all be strings", file=path) from None
    heights = np.array([sizes[i][0] for i in image_ids], np.int64)
    widths = np.array([sizes[i][1] for i in image_ids], np.int64)
    as_int = _int_ids(image_ids)
    id_lookup = as_int if as_int is not None else {i: r for r, i in enumerate(image_ids)}
    cat_vals = []
    for k, c in enumerate(categories):
        if not isinstance(c, dict) or not _is_int(c.get("id")):
            raise FormatError(f"category record #{k + 1} needs an integer 'id'", file=path)
        cat_vals.append(int(c["id"]))
    cat_ids = np.unique(np.array(cat_vals, np.int64))

    n = len(anns.ids)
    img_of = (lambda k: anns.img[k].item()) if isinstance(anns.img, np.ndarray) else anns.img.__getitem__
    uniq, counts = np.unique(anns.ids, return_counts=True)
    if len(uniq) != n:
        dup = int(uniq[np.argmax(counts > 1)])
        k = int(np.flatnonzero(anns.ids == dup)[1])
        raise FormatError("duplicate annotation id (pycocotools would silently evaluate the last one twice)",
                          file=path, image_id=img_of(k), segment_id=dup)
    if isinstance(anns.img, np.ndarray) and isinstance(id_lookup, np.ndarray):
        rank = _ranks_int(id_lookup, anns.img)
    else:
        rank = _ranks(id_lookup, list(anns.img.tolist() if isinstance(anns.img, np.ndarray) else anns.img),
                      image_ids)
    known_img = rank >= 0
    known_cat = np.isin(anns.cat, cat_ids)
    sel = np.flatnonzero(known_img & known_cat)
    if isinstance(anns.segs, FlatSegments):
        segs = anns.segs.subset(sel)
    else:
        segs = [anns.segs[k] for k in sel.tolist()]
    gtf = GroundTruthFile(
        path=path, image_ids=image_ids, heights=heights, widths=widths, id_lookup=id_lookup,
        categories=categories, cat_ids=cat_ids, img=rank[sel], cat=anns.cat[sel], crowd=anns.crowd[sel],
        area=anns.area[sel].astype(np.float64), ids=anns.ids[sel], segs=segs,
        boxes=None if anns.boxes is None else anns.boxes[sel],
        n_unknown_cat=int((known_img & ~known_cat).sum()), n_unknown_img=int((~known_img).sum()))
    _fill_missing(gtf, params)
    return gtf


def _image_sizes(images: list, path, need_size: bool) -> dict:
    """``{image id: (height, width)}`` (the last record wins, as in pycocotools)."""
    try:
        ids = list(map(itemgetter("id"), images))
        hs = [im.get("height") for im in images]
        ws = [im.get("width") for im in images]
        fast = all(type(v) is int and v > 0 for v in hs) and all(type(v) is int and v > 0 for v in ws)
    except (KeyError, TypeError, AttributeError):
        fast = False
    if fast:
        return dict(zip(ids, zip(hs, ws)))
    sizes = {}
    for k, im in enumerate(images):
        if not isinstance(im, dict) or "id" not in im:
            raise FormatError(f"image record #{k + 1} has no 'id'", file=path)
        h, w = im.get("height"), im.get("width")
        if need_size and not (_is_int(h) and _is_int(w) and h > 0 and w > 0):
            raise FormatError("image needs a positive integer 'height' and 'width'", file=path,
                              image_id=im["id"])
        try:
            sizes[im["id"]] = (int(h) if _is_int(h) else 0, int(w) if _is_int(w) else 0)
        except TypeError:
            raise FormatError(f"image record #{k + 1}: the id must be a number or a string", file=path) from None
    return sizes


def _ranks_int(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    if len(sorted_ids) == 0:
        return np.full(len(values), -1, np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == values, pos, -1).astype(np.int64)


def _fill_missing(gtf: GroundTruthFile, params: Params) -> None:
    """Ground truth without ``area`` gets its mask area; without ``bbox`` (bbox eval) its mask box."""
    miss_area = np.flatnonzero(np.isnan(gtf.area))
    miss_box = np.flatnonzero(np.isnan(gtf.boxes).any(1)) if gtf.boxes is not None else np.zeros(0, np.int64)
    todo = np.union1d(miss_area, miss_box).astype(np.int64)
    if len(todo) == 0:
        return
    if any(not (gtf.heights[gtf.img[k]] > 0 and gtf.widths[gtf.img[k]] > 0) for k in todo.tolist()):
        k = int(todo[0])
        raise FormatError("annotation needs 'area' and 'bbox' when its image has no size", file=gtf.path,
                          image_id=gtf.image_ids[gtf.img[k]], segment_id=int(gtf.ids[k]))
    src = gt_masks(gtf)
    off, s, e, area, err = src.intervals(todo)
    if err.any():
        j = int(np.flatnonzero(err)[0])
        raise src.make_error(int(todo[j]), K.ERR_MESSAGES.get(int(err[j]), "corrupt RLE"))
    gtf.area[miss_area] = area[np.searchsorted(todo, miss_area)]
    if len(miss_box):
        boxes = K.rle_bbox(off, s, e, gtf.heights[gtf.img[todo]])
        gtf.boxes[miss_box] = boxes[np.searchsorted(todo, miss_box)]


def gt_masks(gtf: GroundTruthFile) -> SegmentationMasks:
    def err(i, msg):
        return FormatError(msg, file=gtf.path, image_id=gtf.image_ids[gtf.img[i]], segment_id=int(gtf.ids[i]))
    return SegmentationMasks(gtf.segs, gtf.heights[gtf.img], gtf.widths[gtf.img], make_error=err)


def _ranks(id_lookup, values: list, image_ids) -> np.ndarray:
    if isinstance(id_lookup, np.ndarray):
        arr = _int_ids(values)
        if arr is not None:
            pos = np.searchsorted(id_lookup, arr)
            pos = np.minimum(pos, max(len(id_lookup) - 1, 0))
            ok = id_lookup[pos] == arr if len(id_lookup) else np.zeros(len(arr), bool)
            return np.where(ok, pos, -1).astype(np.int64)
        lookup = {i: r for r, i in enumerate(image_ids)}
    else:
        lookup = id_lookup
    out = np.empty(len(values), np.int64)
    for k, v in enumerate(values):
        try:
            out[k] = lookup.get(v, -1)
        except TypeError:  # unhashable
            out[k] = -1
    return out


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------- results
@dataclass
class ResultsFile:
    path: str
    img: np.ndarray       # image rank
    cat: np.ndarray
    score: np.ndarray
    area: np.ndarray | None    # loadRes area when the file has boxes, else None (mask area)
    masks: object              # StringMasks or SegmentationMasks (indexed like the arrays) or None
    boxes: np.ndarray | None
    index: np.ndarray          # 0-based position in the file
    n_unknown_cat: int
    segs: list | None = None   # the raw segmentations (general path), for iter_pairs


def read_results(path) -> tuple:
    """Read a results file and run the scanner (no ground truth needed: may run on a thread
    while the ground truth is read). Pass the returned value to :func:`load_results`."""
    path = str(path)
    buf = _read_bytes(path)
    return path, buf, _scan_raw(buf)


def load_results(path, gtf: GroundTruthFile, params: Params, scanned: tuple | None = None) -> ResultsFile:
    path, buf, raw = scanned if scanned is not None else read_results(path)
    fast = _scan_results(buf, raw, path, gtf, params)
    if fast is not None:
        return fast
    data = _parse_json(buf, path)
    del buf
    if not isinstance(data, list):
        raise FormatError("a COCO results file must be a JSON list of detections", file=path)
    n = len(data)
    if n == 0:
        return _empty_results(path)
    first = data[0]
    if not isinstance(first, dict):
        raise FormatError("detection #1 is not an object", file=path)
    # pycocotools' loadRes decides from the first record only
    box_branch = "bbox" in first and first["bbox"] != []
    if not box_branch and "segmentation" not in first:
        raise FormatError("results have neither 'segmentation' nor 'bbox' (keypoints and captions are "
                          "not instance results)", file=path)

    def bad(k, msg):
        rec = data[k] if isinstance(data[k], dict) else {}
        img_id = rec.get("image_id") if isinstance(rec.get("image_id"), (int, str)) else None
        return FormatError(f"detection #{k + 1}: {msg}", file=path, image_id=img_id)

    fields = ["image_id", "category_id", "score"] + (["bbox"] if box_branch else ["segmentation"])
    try:
        cols = [list(map(itemgetter(f), data)) for f in fields]
    except (KeyError, TypeError):
        for k, rec in enumerate(data):
            if not isinstance(rec, dict):
                raise bad(k, "not an object") from None
            for f in fields:
                if f not in rec:
                    raise bad(k, f"no {f!r} field") from None
        raise  # pragma: no cover
    img_vals, cat_vals, score_vals = cols[0], cols[1], cols[2]
    cat = _int_ids(cat_vals)
    if cat is None:
        k = next(i for i, v in enumerate(cat_vals) if not _is_int(v))
        raise bad(k, f"'category_id' must be an integer, got {cat_vals[k]!r}")
    score = _scores(score_vals, bad)
    img = _ranks(gtf.id_lookup, img_vals, gtf.image_ids)
    if (img < 0).any():
        k = int(np.flatnonzero(img < 0)[0])
        raise FormatError(f"detection #{k + 1} is for an image that is not in the ground truth "
                          "(pycocotools: 'Results do not correspond to current coco set')",
                          file=path, image_id=img_vals[k] if isinstance(img_vals[k], (int, str)) else None)
    keep = np.isin(cat, gtf.cat_ids)
    n_unknown = int(n - keep.sum())
    index = np.flatnonzero(keep)
    boxes = area = None
    if box_branch:
        boxes = _boxes(cols[3], bad)
        area = boxes[:, 2] * boxes[:, 3]
    masks = None
    segs = None
    if params.iou_type != "bbox" or not box_branch:
        if box_branch:
            seg_vals = [rec.get("segmentation") for rec in data]
        else:
            seg_vals = cols[3]
        masks, segs = _masks(seg_vals, img, gtf, boxes, index, path, img_vals)
        if params.iou_type == "bbox":
            # loadRes: bbox = toBbox(segmentation), area = mask area
            off, s, e, marea, err = masks.intervals(np.arange(len(index)))
            if err.any():
                j = int(np.flatnonzero(err)[0])
                raise bad(int(index[j]), K.ERR_MESSAGES.get(int(err[j]), "corrupt RLE"))
            full = np.zeros((n, 4))
            full[index] = K.rle_bbox(off, s, e, gtf.heights[img[index]])
            boxes = full
            area = np.zeros(n)
            area[index] = marea
    del data, cols
    return ResultsFile(path, img[index], cat[index], score[index], None if area is None else area[index],
                       masks, None if boxes is None else boxes[index], index, n_unknown, segs)


def _empty_results(path) -> ResultsFile:
    z = np.zeros(0, np.int64)
    return ResultsFile(path, z, z, np.zeros(0), None, StringMasks.from_counts([], z), np.zeros((0, 4)), z, 0)


def _read_bytes(path) -> np.ndarray:
    """The file's bytes as a (read-only) uint8 array over a ``bytes`` object."""
    try:
        with open(path, "rb") as fh:
            return np.frombuffer(fh.read(), np.uint8)
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise FormatError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=path) from None


def _parse_json(buf: np.ndarray, path):
    try:
        return orjson.loads(memoryview(buf))
    except orjson.JSONDecodeError as exc:
        first_error = exc
    # pycocotools reads with the json module, which also takes NaN and Infinity
    try:
        return json.loads(buf.tobytes())
    except (ValueError, UnicodeDecodeError):
        raise FormatError(f"invalid JSON: {first_error}", file=path) from None


def _scan_raw(buf: np.ndarray):
    """``(status, n, ScanOutput)`` of the numba scanner over a results file's bytes."""
    n_brace = S.count_byte(buf, 123)
    # pycocotools decides from the first record whether results have boxes; look near the start
    # (if boxes show up later anyway, the scanner gives up and orjson reads the file)
    has_boxes = buf[:1 << 16].tobytes().find(b'"bbox"') >= 0
    cap = n_brace // 2 + 64  # a record with a segmentation object holds two braces
    for _ in range(2):
        out = S.ScanOutput(cap, has_boxes)
        status, n = out.run(buf)
        if status != S.FULL:
            break
        cap = n_brace + 64
    return status, n, out


def _scan_results(buf: np.ndarray, raw, path, gtf: GroundTruthFile, params: Params) -> ResultsFile | None:
    """The numba fast path for the usual file layout; None when the file needs the general path."""
    status, n, out = raw
    if status != S.OK:
        return None
    if n == 0:
        return _empty_results(path)
    img_ids, cat, score, slow, has = out.img[:n], out.cat[:n], out.score[:n], out.slow[:n], out.has[:n]
    if ((has & 7) != 7).any():
        return None  # a missing field: the general path names it
    box_branch = bool(has[0] & 16) and out.bbox_len[0] > 0
    if box_branch:
        bbox_len = out.bbox_len[:n]
        if ((has & 16) == 0).any() or (bbox_len != 4).any():
            return None
        if params.iou_type != "bbox" and ((has & 8) == 0).any():
            return None  # detections without masks: boxes become polygons (general path)
    elif ((has & 8) == 0).any():
        return None
    for i in np.flatnonzero(slow >= 0).tolist():
        score[i] = _reread_number(buf, int(slow[i]))
    rank = gtf.ranks_of(img_ids)
    if (rank < 0).any():
        k = int(np.flatnonzero(rank < 0)[0])
        raise FormatError(f"detection #{k + 1} is for an image that is not in the ground truth "
                          "(pycocotools: 'Results do not correspond to current coco set')",
                          file=path, image_id=int(img_ids[k]))
    keep = np.isin(cat, gtf.cat_ids)
    index = np.flatnonzero(keep)
    boxes = area = None
    if box_branch:
        boxes = out.bbox[:n].copy()
        for i, j in zip(*np.nonzero(out.bbox_slow[:n] >= 0)):
            boxes[i, j] = _reread_number(buf, int(out.bbox_slow[i, j]))
        area = boxes[:, 2] * boxes[:, 3]
    masks = None
    if params.iou_type != "bbox" or not box_branch:
        k_img = rank[index]
        kh, kw = gtf.heights[k_img], gtf.widths[k_img]
        ks = out.size[:n][index]
        wrong = (ks[:, 0] != kh) | (ks[:, 1] != kw)
        if wrong.any():
            j = int(np.flatnonzero(wrong)[0])
            k = int(index[j])
            raise FormatError(f"detection #{k + 1}: mask size {ks[j, 0]}x{ks[j, 1]} differs from the image size "
                              f"{kh[j]}x{kw[j]}", file=path, image_id=int(img_ids[k]))
        a, b = out.seg[:n, 0][index], out.seg[:n, 1][index]
        masks = StringMasks(buf, a, b - a, kh * kw, escaped=True)
        if params.iou_type == "bbox":
            off, s_, e_, marea, err = masks.intervals(np.arange(len(index)))
            if err.any():
                j = int(np.flatnonzero(err)[0])
                k = int(index[j])
                raise FormatError(f"detection #{k + 1}: {K.ERR_MESSAGES.get(int(err[j]), 'corrupt RLE')}",
                                  file=path, image_id=int(img_ids[k]))
            boxes = np.zeros((n, 4))
            boxes[index] = K.rle_bbox(off, s_, e_, kh)
            area = np.zeros(n)
            area[index] = marea
    return ResultsFile(path, rank[index], cat[index], score[index], None if area is None else area[index],
                       masks, None if boxes is None else boxes[index], index, int(n - len(index)), None)


def _reread_number(buf: np.ndarray, start: int) -> float:
    end = start
    n = len(buf)
    while end < n and int(buf[end]) in b"+-0123456789.eE":
        end += 1
    return float(buf[start:end].tobytes())


def _scores(vals: list, bad) -> np.ndarray:
    arr = None
    try:
        arr = np.array(vals)
    except (ValueError, TypeError):
        pass
    if arr is None or arr.ndim != 1 or arr.dtype.kind not in "iuf":
        k = next(i for i, v in enumerate(vals) if not _is_number(v))
        raise bad(k, f"'score' must be a number, got {vals[k]!r}")
    arr = arr.astype(np.float64)
    nan = np.isnan(arr)
    if nan.any():
        raise bad(int(np.flatnonzero(nan)[0]), "'score' is NaN")
    return arr


def _boxes(vals: list, bad) -> np.ndarray:
    try:
        arr = np.array(vals, np.float64)
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError
    except (ValueError, TypeError):
        for k, b in enumerate(vals):
            if not (isinstance(b, list) and len(b) == 4 and all(_is_number(v) for v in b)):
                raise bad(k, f"'bbox' must be 4 numbers, got {str(b)[:60]}") from None
        raise  # pragma: no cover
    return arr


def _masks(seg_vals: list, img: np.ndarray, gtf: GroundTruthFile, boxes, index, path, img_vals):
    """A mask source over the kept detections (``index``)."""
    h = gtf.heights[img]
    w = gtf.widths[img]
    kept = [seg_vals[k] for k in index.tolist()]
    # fast path: every segmentation a compressed RLE with a str ``counts``
    try:
        counts = list(map(itemgetter("counts"), kept))
        sizes = list(map(itemgetter("size"), kept))
        joined = "".join(counts)
    except (KeyError, TypeError):
        joined = None
    if joined is not None and len(joined) == sum(map(len, counts)):
        try:
            raw = joined.encode("ascii")
        except UnicodeEncodeError:
            raw = None
        size_arr = _int_ids_2d(sizes)
        if raw is not None and size_arr is not None:
            kh, kw = h[index], w[index]
            wrong = (size_arr[:, 0] != kh) | (size_arr[:, 1] != kw)
            if wrong.any():
                j = int(np.flatnonzero(wrong)[0])
                k = int(index[j])
                raise FormatError(f"detection #{k + 1}: mask size {size_arr[j, 0]}x{size_arr[j, 1]} differs from "
                                  f"the image size {kh[j]}x{kw[j]}", file=path, image_id=img_vals[k])
            lens = np.fromiter(map(len, counts), np.int64, len(counts))
            offs = np.zeros(len(counts), np.int64)
            if len(counts) > 1:
                np.cumsum(lens[:-1], out=offs[1:])
            return StringMasks(np.frombuffer(raw, np.uint8), offs, lens, kh * kw), None
    # general path: polygons, uncompressed RLE, boxes as polygons (loadRes does the same)
    segs = []
    for j, k in enumerate(index.tolist()):
        s = seg_vals[k]
        if s is None and boxes is not None:
            x, y, bw, bh = (float(v) for v in boxes[k])
            x1, x2, y1, y2 = x, x + bw, y, y + bh
            s = [[x1, y1, x1, y2, x2, y2, x2, y1]]
        segs.append(s)

    def err(i, msg):
        k = int(index[i])
        return FormatError(f"detection #{k + 1}: {msg}", file=path, image_id=img_vals[k])
    return SegmentationMasks(segs, h[index], w[index], make_error=err), segs


def _int_ids_2d(sizes):
    try:
        arr = np.array(sizes)
    except (ValueError, TypeError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iu":
        return None
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- shards
class _Subset:
    def __init__(self, src, idx):
        self.src = src
        self.idx = idx

    def intervals(self, sel, nint=None, area=None):
        return self.src.intervals(self.idx[np.asarray(sel, np.int64)], nint, area)

    def scan(self, sel):
        return self.src.scan(self.idx[np.asarray(sel, np.int64)])


def _shard_batch(gtf: GroundTruthFile, dtf: ResultsFile, params: Params, lo: int, hi: int, g_order, d_order,
                 g_bounds, d_bounds, gmask) -> Batch:
    gi = g_order[g_bounds[lo]:g_bounds[hi]]
    di = d_order[d_bounds[lo]:d_bounds[hi]]

    def g_err(i, msg):
        k = int(gi[i])
        return FormatError(msg, file=gtf.path, image_id=gtf.image_ids[gtf.img[k]], segment_id=int(gtf.ids[k]))

    def d_err(i, msg):
        k = int(di[i])
        return FormatError(f"detection #{int(dtf.index[k]) + 1}: {msg}", file=dtf.path,
                           image_id=gtf.image_ids[dtf.img[k]])

    gt = GroundTruth(img=gtf.img[gi] - lo, cat=gtf.cat[gi], crowd=gtf.crowd[gi], area=gtf.area[gi],
                     ids=gtf.ids[gi], masks=None if gmask is None else _Subset(gmask, gi),
                     boxes=None if gtf.boxes is None else gtf.boxes[gi], make_error=g_err)
    dt = Detections(img=dtf.img[di] - lo, cat=dtf.cat[di], score=dtf.score[di],
                    area=None if dtf.area is None else dtf.area[di],
                    masks=None if dtf.masks is None else _Subset(dtf.masks, di),
                    boxes=None if dtf.boxes is None else dtf.boxes[di], make_error=d_err)
    return Batch(gtf.image_ids[lo:hi], gtf.heights[lo:hi], gtf.widths[lo:hi], gt, dt)


# Inputs of the running evaluations, by call: forked workers find theirs here (reentrant: each
# evaluate_coco call, from any thread, has its own key).
_SHARED: dict = {}


#: images per evaluate_batch call inside a shard: bounds the memory of decoded runs
CHUNK_IMAGES = 256


def _run_one(key: int, k: int, progress=None) -> list:
    s = _SHARED[key]
    lo, hi = s["shards"][k]
    blocks = []
    for a in range(lo, hi, CHUNK_IMAGES) if hi > lo else [lo]:
        b = min(a + CHUNK_IMAGES, hi)
        batch = _shard_batch(s["gtf"], s["dtf"], s["params"], a, b, s["g_order"], s["d_order"], s["g_bounds"],
                             s["d_bounds"], s["gmask"])
        blocks.append(evaluate_batch(batch, s["params"]))
        if progress:
            progress(b - a)
    return blocks


def _child(key: int, k: int, conn) -> None:
    try:
        out = ("ok", _run_one(key, k))
    except PanoptixError as exc:
        out = ("error", type(exc), exc.message, exc.file, exc.image_id, exc.segment_id)
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, re-raised there
        out = ("crash", f"{type(exc).__name__}: {exc}")
    conn.send(out)
    conn.close()


def run_shards(gtf: GroundTruthFile, dtf: ResultsFile, params: Params, *, jobs: int = 1, progress=None,
               min_work: int = 20000) -> list:
    """Evaluate all images, split into ``jobs`` contiguous shards (forked workers).

    Inputs smaller than ``min_work`` (detections + 8 x ground truth) stay in this
    process: forking would cost more than it saves.
    """
    n_img = len(gtf.image_ids)
    g_order = np.argsort(gtf.img, kind="stable")
    d_order = np.argsort(dtf.img, kind="stable")
    g_bounds = np.searchsorted(gtf.img[g_order], np.arange(n_img + 1))
    d_bounds = np.searchsorted(dtf.img[d_order], np.arange(n_img + 1))
    gmask = gt_masks(gtf) if params.iou_type != "bbox" else None
    # work per image ~ detections + ground truth (polygons cost more to rasterise)
    work = np.diff(d_bounds) + 8 * np.diff(g_bounds) + 1
    if ("fork" not in mp.get_all_start_methods() or mp.current_process().daemon or n_img < jobs
            or work.sum() < min_work):
        jobs = 1  # (a daemonic process, e.g. a Dask or Pool worker, may not start children)
    cum = np.concatenate(([0], np.cumsum(work)))
    cuts = np.searchsorted(cum, np.linspace(0, cum[-1], jobs + 1)[1:-1])
    edges = np.unique(np.concatenate(([0], np.clip(cuts, 0, n_img), [n_img])))
    shards = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a] or [(0, 0)]
    key = id(gtf) ^ (threading.get_ident() << 1)
    _SHARED[key] = dict(gtf=gtf, dtf=dtf, params=params, shards=shards, g_order=g_order, d_order=d_order,
                        g_bounds=g_bounds, d_bounds=d_bounds, gmask=gmask)
    try:
        results: list = [None] * len(shards)
        procs = []
        if len(shards) > 1:
            ctx = mp.get_context("fork")
            for k in range(1, len(shards)):
                r, w = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_child, args=(key, k, w), daemon=True)
                p.start()
                w.close()
                procs.append((k, p, r))
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, n_img)

        results[0] = _run_one(key, 0, step)
        error = None
        for k, p, r in procs:
            try:
                msg = r.recv()
            except EOFError:
                msg = ("crash", "worker process died (out of memory?)")
            p.join()
            if msg[0] == "ok":
                results[k] = msg[1]
            elif error is None:
                error = msg
            step(shards[k][1] - shards[k][0])
        if error is not None:
            if error[0] == "error":
                cls, message, file, image_id, seg = error[1:]
                raise cls(message, file=file, image_id=image_id, segment_id=seg)
            raise RuntimeError(f"instance evaluation worker failed: {error[1]}")
        return [b for blocks in results for b in blocks]
    finally:
        _SHARED.pop(key, None)


# --------------------------------------------------------------------------- evaluator inputs
def iter_pairs(gtf: GroundTruthFile, dtf: ResultsFile, params: Params):
    """``(image_id, gt Instances, pred Instances, dt_areas)`` per image, as :func:`run_shards` sees them."""
    n_img = len(gtf.image_ids)
    g_order = np.argsort(gtf.img, kind="stable")
    d_order = np.argsort(dtf.img, kind="stable")
    g_bounds = np.searchsorted(gtf.img[g_order], np.arange(n_img + 1))
    d_bounds = np.searchsorted(dtf.img[d_order], np.arange(n_img + 1))
    for r in range(n_img):
        h, w = int(gtf.heights[r]), int(gtf.widths[r])
        gi = g_order[g_bounds[r]:g_bounds[r + 1]]
        di = d_order[d_bounds[r]:d_bounds[r + 1]]
        gsegs = [gtf.segs[k] for k in gi.tolist()]
        if params.iou_type == "bbox":
            gsegs = [s if s is not None else [] for s in gsegs]
        gt = Instances(gsegs, h, w, gtf.cat[gi], iscrowd=gtf.crowd[gi], areas=gtf.area[gi],
                       bboxes=None if gtf.boxes is None else gtf.boxes[gi], ids=gtf.ids[gi])
        if dtf.segs is not None:
            dsegs = [dtf.segs[k] for k in di.tolist()]
        elif isinstance(dtf.masks, StringMasks):
            dsegs = [{"size": [h, w], "counts": dtf.masks.count_string(k)} for k in di.tolist()]
        else:
            dsegs = [[] for _ in di]
        pred = Instances(dsegs, h, w, dtf.cat[di], scores=dtf.score[di],
                         bboxes=None if dtf.boxes is None else dtf.boxes[di],
                         ids=dtf.index[di] + 1)
        areas = None if dtf.area is None else dtf.area[di]
        yield gtf.image_ids[r], gt, pred, areas
