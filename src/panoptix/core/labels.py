"""The three label types: :class:`SemanticMap`, :class:`Instances`, :class:`PanopticMap`.

=========  ==========================================  =========  ==========
kind       every pixel gets                            overlaps   confidence
=========  ==========================================  =========  ==========
semantic   a class                                     no         no
instance   an object id (things only)                  allowed    per object
panoptic   a class and an instance id                  never      no
=========  ==========================================  =========  ==========

Each type validates against a :class:`~panoptix.core.taxonomy.Taxonomy` and
reports every problem it finds with :meth:`problems`; :meth:`validate` raises
the first one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np

from . import masks as M
from .errors import CategoryError, FormatError, SizeMismatchError, ValidationError
from .taxonomy import IGNORE_INDEX, VOID, Taxonomy

__all__ = ["SemanticMap", "Instances", "PanopticMap", "Segment", "rgb_to_id", "id_to_rgb", "MAX_IMAGE_PIXELS"]

#: Largest image or label map any reader decodes: no labeled image needs more than ~16k × 16k
#: pixels, and a larger header is most likely a decompression bomb.
MAX_IMAGE_PIXELS = 16384 * 16384


# --------------------------------------------------------------------------- semantic
@dataclass
class SemanticMap:
    """An H×W map of class ids; ``ignore_index`` marks pixels that are not labeled.

    Parameters
    ----------
    labels : (H, W) integer array
    ignore_index : int

    Examples
    --------
    >>> sem = SemanticMap(np.array([[1, 1], [255, 2]]))
    >>> sem.shape, sem.classes().tolist()
    ((2, 2), [1, 2])
    """

    labels: np.ndarray
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self):
        labels = np.asarray(self.labels)
        if labels.ndim != 2:
            raise SizeMismatchError(f"a semantic map must be 2-D, got shape {labels.shape}")
        if labels.dtype.kind not in "iu":
            if labels.dtype.kind == "f" and np.all(np.mod(labels, 1) == 0):
                labels = labels.astype(np.int64)
            else:
                raise ValidationError(f"semantic labels must be integers, got {labels.dtype}")
        if labels.size and labels.min() < 0:
            raise ValidationError(f"semantic labels must be non-negative, found {int(labels.min())}")
        self.labels = labels

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.labels.shape)

    def classes(self) -> np.ndarray:
        """Class ids present, ignore index excluded."""
        u = np.unique(self.labels)
        return u[u != self.ignore_index]

    def problems(self, taxonomy: Taxonomy, *, image_id=None, file=None) -> list[ValidationError]:
        out = []
        for c in self.classes().tolist():
            if c not in taxonomy:
                out.append(CategoryError(f"unknown class id {c} in semantic map", file=file, image_id=image_id))
        return out

    def validate(self, taxonomy: Taxonomy, **where) -> "SemanticMap":
        _raise_first(self.problems(taxonomy, **where))
        return self

    def __eq__(self, other):
        return (isinstance(other, SemanticMap) and self.ignore_index == other.ignore_index
                and self.labels.shape == other.labels.shape and bool(np.array_equal(self.labels, other.labels)))


# --------------------------------------------------------------------------- instances
class Instances:
    """N object masks that may overlap, held as COCO segmentations and decoded lazily.

    The original segmentation of each object (polygons, uncompressed or compressed
    RLE) is kept as given, so writing COCO back gives the same JSON; :attr:`rles`
    converts them (once, cached) to compressed RLE exactly as pycocotools does.

    Parameters
    ----------
    segmentations : list
        COCO segmentations (polygons / RLE dicts), or use :meth:`from_masks`.
    height, width : int
    category_ids : sequence of int
    scores : sequence of float, optional
        Confidences (predictions); None for ground truth.
    iscrowd : sequence of bool, optional
    areas : sequence of float, optional
        COCO ``area`` (ground-truth area used by the metrics); mask areas when not given.
    bboxes : (N, 4) array, optional
        COCO ``[x, y, w, h]``; computed from the masks when not given.
    ids : sequence of int, optional
        Annotation ids; 1..N when not given.

    Examples
    --------
    >>> m = np.zeros((2, 4, 4), bool); m[0, :2, :2] = True; m[1, 1:, 1:] = True
    >>> inst = Instances.from_masks(m, category_ids=[1, 2], scores=[0.9, 0.8])
    >>> len(inst), inst.areas.tolist(), bool(inst.masks()[1, 3, 3])
    (2, [4.0, 9.0], True)
    """

    def __init__(self, segmentations: Sequence, height: int, width: int, category_ids: Sequence[int],
                 scores=None, iscrowd=None, areas=None, bboxes=None, ids=None):
        n = len(segmentations)
        self.segmentations = list(segmentations)
        self.height, self.width = int(height), int(width)
        self.category_ids = _int_array(category_ids, n, "category_ids")
        self.scores = None if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
        if self.scores is not None and len(self.scores) != n:
            raise SizeMismatchError(f"{len(self.scores)} scores for {n} instances")
        self.iscrowd = np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd).astype(bool).reshape(-1)
        if len(self.iscrowd) != n:
            raise SizeMismatchError(f"{len(self.iscrowd)} iscrowd flags for {n} instances")
        self.ids = np.arange(1, n + 1, dtype=np.int64) if ids is None else _int_array(ids, n, "ids")
        self._rles: list[dict] | None = None
        self._areas = None if areas is None else np.asarray(areas, dtype=np.float64).reshape(-1)
        self._bboxes = None if bboxes is None else np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
        for name, arr in (("areas", self._areas), ("bboxes", self._bboxes)):
            if arr is not None and len(arr) != n:
                raise SizeMismatchError(f"{len(arr)} {name} for {n} instances")

    # -- constructors ----------------------------------------------------
    @classmethod
    def empty(cls, height: int, width: int, *, with_scores: bool = False) -> "Instances":
        return cls([], height, width, [], scores=[] if with_scores else None)

    @classmethod
    def from_masks(cls, masks: np.ndarray, category_ids, scores=None, iscrowd=None, ids=None) -> "Instances":
        """From an N×H×W binary array (encoded to RLE at once; the dense array is not kept)."""
        masks = np.asarray(masks)
        if masks.ndim != 3:
            raise SizeMismatchError(f"masks must be N×H×W, got shape {masks.shape}")
        rles = [M.encode(m) for m in masks]
        inst = cls(rles, masks.shape[1], masks.shape[2], category_ids, scores=scores, iscrowd=iscrowd, ids=ids)
        inst._rles = rles
        return inst

    @classmethod
    def from_coco(cls, annotations: Sequence[dict], height: int, width: int, *, results: bool = False,
                  file=None, image_id=None) -> "Instances":
        """From COCO annotation records of one image (``results=True``: a detections list with scores)."""
        segs, cats, scores, crowd, areas, boxes, ids = [], [], [], [], [], [], []
        have_area = have_box = True
        for k, a in enumerate(annotations):
            aid = a.get("id", k + 1) if isinstance(a, dict) else None
            try:
                segs.append(a["segmentation"])
                cats.append(a["category_id"])
                if results:
                    s = a["score"]
                    if isinstance(s, bool) or not isinstance(s, (int, float)):
                        raise FormatError(f"score must be a number, got {s!r}")
                    scores.append(float(s))
                crowd.append(int(a.get("iscrowd", 0)))
                ids.append(aid)
                have_area &= "area" in a
                have_box &= "bbox" in a
                areas.append(a.get("area", 0.0))
                boxes.append(a.get("bbox", [0, 0, 0, 0]))
            except KeyError as exc:
                raise FormatError(f"annotation has no {exc.args[0]!r} field", file=file, image_id=image_id,
                                  segment_id=aid) from None
            except (TypeError, AttributeError) as exc:
                raise FormatError(f"annotation is malformed: {exc}", file=file, image_id=image_id,
                                  segment_id=aid) from None
        return cls(segs, height, width, cats, scores=scores if results else None, iscrowd=crowd,
                   areas=areas if have_area and segs else None, bboxes=boxes if have_box and segs else None,
                   ids=ids)

    def to_coco(self, image_id, *, results: bool = False, keep_format: bool = True) -> list[dict]:
        """COCO annotation records (``results=True``: the detections-list form with scores)."""
        out = []
        areas, boxes = self.areas, self.bboxes
        segs = self.segmentations if keep_format else self.rles
        for i in range(len(self)):
            seg = segs[i]
            if isinstance(seg, dict) and not isinstance(seg.get("counts"), list):
                seg = M.json_rle(seg)
            rec = {"id": int(self.ids[i]), "image_id": image_id, "category_id": int(self.category_ids[i]),
                   "segmentation": seg, "area": _num(areas[i]), "bbox": [_num(v) for v in boxes[i]],
                   "iscrowd": int(self.iscrowd[i])}
            if results or self.scores is not None:
                if self.scores is None:
                    raise ValidationError("results need scores", image_id=image_id)
                rec["score"] = float(self.scores[i])
            if results:
                rec.pop("id")
                rec.pop("iscrowd")
            out.append(rec)
        return out

    # -- lazy mask views ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.segmentations)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def rles(self) -> list[dict]:
        """Compressed RLE of every object (computed once from the segmentations)."""
        if self._rles is None:
            out = []
            for i, seg in enumerate(self.segmentations):
                try:
                    out.append(M.to_rle(seg, self.height, self.width))
                except (FormatError, SizeMismatchError) as exc:
                    raise exc.at(segment_id=int(self.ids[i])) from None
            self._rles = out
        return self._rles

    def mask(self, i: int) -> np.ndarray:
        return M.decode(self.rles[i])

    def masks(self) -> np.ndarray:
        """N×H×W bool array (decodes everything: use :meth:`mask` for one object)."""
        return M.decode_many(self.rles, self.height, self.width)

    @property
    def mask_areas(self) -> np.ndarray:
        return np.asarray(M.area(self.rles), dtype=np.float64).reshape(-1)

    @property
    def areas(self) -> np.ndarray:
        """COCO ``area`` when given (as the metrics use it), else the mask pixel count."""
        return self._areas if self._areas is not None else self.mask_areas

    @property
    def bboxes(self) -> np.ndarray:
        if self._bboxes is None:
            self._bboxes = np.asarray(M.bbox(self.rles), dtype=np.float64).reshape(-1, 4)
        return self._bboxes

    def __getitem__(self, index) -> "Instances":
        """Select objects by integer index, slice, or boolean mask."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        sub = Instances([self.segmentations[i] for i in idx], self.height, self.width, self.category_ids[idx],
                        scores=None if self.scores is None else self.scores[idx], iscrowd=self.iscrowd[idx],
                        areas=None if self._areas is None else self._areas[idx],
                        bboxes=None if self._bboxes is None else self._bboxes[idx], ids=self.ids[idx])
        if self._rles is not None:
            sub._rles = [self._rles[i] for i in idx]
        return sub

    def __iter__(self) -> Iterator[dict]:
        for rec in self.to_coco(None):
            yield rec

    def __repr__(self) -> str:
        return f"Instances(n={len(self)}, size={self.height}x{self.width}, scores={self.scores is not None})"

    def problems(self, taxonomy: Taxonomy, *, image_id=None, file=None) -> list[ValidationError]:
        out: list[ValidationError] = []
        seen = set()
        for i in range(len(self)):
            sid = int(self.ids[i])
            if sid in seen:
                out.append(ValidationError(f"duplicate annotation id {sid}", file=file, image_id=image_id,
                                           segment_id=sid))
            seen.add(sid)
            cid = int(self.category_ids[i])
            if cid not in taxonomy:
                out.append(CategoryError(f"unknown category id {cid}", file=file, image_id=image_id, segment_id=sid))
            try:
                M.to_rle(self.segmentations[i], self.height, self.width)
            except (FormatError, SizeMismatchError) as exc:
                out.append(exc.at(file=file, image_id=image_id, segment_id=sid))
        if self.scores is not None and np.isnan(self.scores).any():
            out.append(ValidationError("NaN score", file=file, image_id=image_id))
        return out

    def validate(self, taxonomy: Taxonomy, **where) -> "Instances":
        _raise_first(self.problems(taxonomy, **where))
        return self


# --------------------------------------------------------------------------- panoptic
def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """COCO panoptic PNG colours -> segment ids: ``R + 256·G + 256²·B``."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise SizeMismatchError(f"a panoptic PNG must be RGB, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        rgb = rgb[..., :3].astype(np.uint32)
        return (rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]).astype(np.int64)
    # Each pixel's bytes read as one little-endian uint32 (at a stride of C bytes), the fourth
    # byte masked off: one pass instead of per-channel arithmetic (4x faster).
    h, w, c = rgb.shape
    n = h * w
    flat = np.ascontiguousarray(rgb).reshape(-1)
    out = np.empty(n, np.uint32)
    if c == 4:
        np.bitwise_and(flat.view("<u4"), 0xFFFFFF, out=out)
    elif n:
        view = np.ndarray((n - 1,), "<u4", buffer=flat, strides=(c,))  # the last pixel has no 4th byte
        np.bitwise_and(view, 0xFFFFFF, out=out[:-1])
        last = flat[-c:].astype(np.uint32)
        out[-1] = last[0] | (last[1] << 8) | (last[2] << 16)
    return out.astype(np.int64).reshape(h, w)


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """Segment ids -> COCO panoptic PNG colours (H×W×3 uint8)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 256 ** 3):
        raise ValidationError("panoptic segment ids must lie in 0 .. 256³-1")
    out = np.empty(ids.shape + (3,), np.uint8)
    out[..., 0] = ids % 256
    out[..., 1] = (ids // 256) % 256
    out[..., 2] = ids // 65536
    return out


@dataclass(frozen=True)
class Segment:
    """One panoptic segment record (COCO ``segments_info`` entry)."""

    id: int
    category_id: int
    iscrowd: bool = False
    area: int = 0
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def to_coco(self) -> dict:
        return {"id": int(self.id), "category_id": int(self.category_id), "iscrowd": int(self.iscrowd),
                "area": int(self.area), "bbox": [_num(v) for v in self.bbox]}

    @classmethod
    def from_coco(cls, rec: dict, *, file=None, image_id=None) -> "Segment":
        sid = rec.get("id") if isinstance(rec, dict) else None
        try:
            seg_id, cat = rec["id"], rec["category_id"]
        except KeyError as exc:
            raise FormatError(f"segment has no {exc.args[0]!r} field", file=file, image_id=image_id,
                              segment_id=sid) from None
        except TypeError:
            raise FormatError(f"segment record must be an object, got {rec!r}", file=file, image_id=image_id) from None
        for name, v in (("id", seg_id), ("category_id", cat)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValidationError(f"segment {name} must be a non-negative integer, got {v!r}", file=file,
                                      image_id=image_id, segment_id=sid)
        return cls(seg_id, cat, bool(rec.get("iscrowd", 0)), int(rec.get("area", 0)),
                   tuple(rec.get("bbox", (0, 0, 0, 0))))


@dataclass
class PanopticMap:
    """An H×W map of segment ids (0 = VOID) and one :class:`Segment` record per id.

    Non-overlap holds by construction: every pixel holds exactly one id.

    Examples
    --------
    >>> ids = np.array([[0, 1, 1], [2, 2, 2]])
    >>> pan = PanopticMap.from_ids(ids, {1: 7, 2: 184})
    >>> [(s.id, s.category_id, s.area) for s in pan.segments]
    [(1, 7, 2), (2, 184, 3)]
    >>> pan.segment(2).bbox
    (0.0, 1.0, 3.0, 1.0)
    """

    ids: np.ndarray
    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self):
        ids = np.asarray(self.ids)
        if ids.ndim != 2:
            raise SizeMismatchError(f"a panoptic id map must be 2-D, got shape {ids.shape}")
        if ids.dtype.kind not in "iu":
            raise ValidationError(f"panoptic ids must be integers, got {ids.dtype}")
        self.ids = ids
        self.segments = list(self.segments)

    @classmethod
    def from_ids(cls, ids: np.ndarray, categories: dict[int, int], iscrowd: dict[int, bool] | None = None
                 ) -> "PanopticMap":
        """From an id map and ``{segment_id: category_id}``; areas and boxes computed."""
        iscrowd = iscrowd or {}
        pan = cls(ids, [Segment(int(s), int(c), bool(iscrowd.get(s, False))) for s, c in categories.items()])
        return pan.with_stats()

    @classmethod
    def from_rgb(cls, rgb: np.ndarray, segments: Sequence[Segment]) -> "PanopticMap":
        return cls(rgb_to_id(rgb), list(segments))

    def to_rgb(self) -> np.ndarray:
        return id_to_rgb(self.ids)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.ids.shape)

    def segment(self, segment_id: int) -> Segment:
        for s in self.segments:
            if s.id == segment_id:
                return s
        raise KeyError(segment_id)

    def stats(self) -> dict[int, tuple[int, tuple[float, float, float, float]]]:
        """``{segment_id: (area, bbox)}`` measured on the id map (VOID excluded).

        Measured on horizontal runs (a few thousand in a label map) rather than pixels:
        area sums run lengths, the box spans the runs' rows and ends.

        >>> pan = PanopticMap.from_ids(np.array([[0, 5, 5], [7, 5, 0]]), {5: 1, 7: 2})
        >>> pan.stats()
        {5: (3, (1.0, 0.0, 2.0, 2.0)), 7: (1, (0.0, 1.0, 1.0, 1.0))}
        """
        h, w = self.ids.shape
        flat = self.ids.ravel()
        if flat.size == 0:
            return {}
        starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        starts = np.union1d(starts, np.arange(0, flat.size, w))  # every row starts a run
        lengths = np.diff(np.append(starts, flat.size))
        values = flat[starts]
        rows, cols = np.divmod(starts, w)
        uniq, inverse = np.unique(values, return_inverse=True)
        inverse = inverse.ravel()
        k = len(uniq)
        area = np.bincount(inverse, weights=lengths, minlength=k).astype(np.int64)
        big = np.iinfo(np.int64).max
        y0 = np.full(k, big); x0 = np.full(k, big); y1 = np.full(k, -1); x1 = np.full(k, -1)
        np.minimum.at(y0, inverse, rows); np.minimum.at(x0, inverse, cols)
        np.maximum.at(y1, inverse, rows); np.maximum.at(x1, inverse, cols + lengths - 1)
        out = {}
        for j, sid in enumerate(uniq.tolist()):
            if sid == VOID:
                continue
            out[sid] = (int(area[j]), (float(x0[j]), float(y0[j]), float(x1[j] - x0[j] + 1),
                                       float(y1[j] - y0[j] + 1)))
        return out

    def with_stats(self) -> "PanopticMap":
        """A copy whose segment areas and boxes are measured on the map (absent segments get 0)."""
        st = self.stats()
        segs = [replace(s, area=st.get(s.id, (0, None))[0], bbox=st.get(s.id, (0, (0.0, 0.0, 0.0, 0.0)))[1])
                for s in self.segments]
        return PanopticMap(self.ids, segs)

    def problems(self, taxonomy: Taxonomy, *, image_id=None, file=None, check_area: bool = True
                 ) -> list[ValidationError]:
        """Every broken invariant: ids in the PNG but not the JSON or the reverse, unknown
        category, duplicate ids, two segments of one stuff class, VOID used as a segment id,
        and (``check_area``) recorded areas that differ from the PNG."""
        out: list[ValidationError] = []
        where = dict(file=file, image_id=image_id)
        present = self.stats()
        seen: set[int] = set()
        stuff_seen: dict[int, int] = {}
        for s in self.segments:
            if s.id in seen:
                out.append(ValidationError("duplicate segment id in the JSON", segment_id=s.id, **where))
            seen.add(s.id)
            if s.id == VOID:
                out.append(ValidationError("segment id 0 is VOID and cannot be a segment", segment_id=0, **where))
            cat = taxonomy.get(s.category_id)
            if cat is None:
                out.append(CategoryError(f"unknown category id {s.category_id}", segment_id=s.id, **where))
            elif not cat.isthing:
                if s.category_id in stuff_seen:
                    out.append(ValidationError(
                        f"two segments ({stuff_seen[s.category_id]} and {s.id}) of stuff class "
                        f"{cat.name!r} ({cat.id})", segment_id=s.id, **where))
                stuff_seen.setdefault(s.category_id, s.id)
            if s.id not in present and s.id != VOID:
                out.append(ValidationError("segment is in the JSON but not in the PNG", segment_id=s.id, **where))
            elif check_area and s.id in present and s.area != present[s.id][0]:
                out.append(ValidationError(f"area {s.area} in the JSON, {present[s.id][0]} pixels in the PNG",
                                           segment_id=s.id, **where))
        for sid in present:
            if sid not in seen:
                out.append(ValidationError("segment is in the PNG but not in the JSON", segment_id=sid, **where))
        return out

    def validate(self, taxonomy: Taxonomy, **where) -> "PanopticMap":
        _raise_first(self.problems(taxonomy, **where))
        return self

    def segments_info(self) -> list[dict]:
        return [s.to_coco() for s in self.segments]

    def __eq__(self, other):
        return (isinstance(other, PanopticMap) and self.ids.shape == other.ids.shape
                and bool(np.array_equal(self.ids, other.ids))
                and sorted(self.segments, key=lambda s: s.id) == sorted(other.segments, key=lambda s: s.id))


# --------------------------------------------------------------------------- helpers
def _raise_first(problems: list[ValidationError]) -> None:
    if problems:
        raise problems[0]


def _int_array(values, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size == 0:
        arr = np.zeros(0, np.int64)
    if len(arr) != n:
        raise SizeMismatchError(f"{len(arr)} {name} for {n} instances")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise ValidationError(f"{name} must be integers, got {values!r}"[:120])
    return arr.astype(np.int64)


def _num(v):
    """JSON-friendly number: int when integral-typed, float otherwise."""
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    f = float(v)
    return f
