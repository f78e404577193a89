"""The studio's one layered label model, its storage codec and its bridge to the core types.

Every image of a project carries one label document of the project's kind:

* **panoptic** and **semantic**: an H×W map of *segment ids* (0 = unlabeled) and one
  record per segment (category, crowd flag, and the editor's hidden/locked flags).
  Non-overlap holds by construction. In a semantic project each category has at most
  one segment; in a panoptic project each *stuff* category has at most one.
* **instance**: one binary mask per object (masks may overlap), kept as COCO RLE.

In the database a document is stored compressed: the id map as a PNG (ids encoded in
RGB as in COCO panoptic) and the segment records as JSON; instance masks as COCO
compressed RLE strings inside the records. Between the server and the browser the
document travels as JSON with row-major run-lengths (:func:`runs_encode`), which the
editor decodes straight into typed arrays.

Conversions to and from :class:`~panoptix.core.labels.PanopticMap`,
:class:`~panoptix.core.labels.Instances` and :class:`~panoptix.core.labels.SemanticMap`
go through :func:`LabelDoc.to_sample` and :func:`LabelDoc.from_sample`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import masks as M
from ..core.errors import CategoryError, FormatError, SizeMismatchError, ValidationError
from ..core.labels import Instances, PanopticMap, SemanticMap, id_to_rgb, rgb_to_id
from ..core.taxonomy import VOID, Taxonomy
from ..io.dataset import ImageInfo, Sample

__all__ = [
    "KINDS",
    "MAX_SEGMENT_ID",
    "LabelDoc",
    "runs_encode",
    "runs_decode",
    "mask_to_crop",
    "crop_to_mask",
    "encode_id_png",
    "decode_id_png",
]

KINDS = ("semantic", "instance", "panoptic")
#: Largest segment id a document may use (the id map is stored as 24-bit RGB).
MAX_SEGMENT_ID = 256 ** 3 - 1


# --------------------------------------------------------------------------- run-lengths
def runs_encode(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-major run-length encoding of an array: ``(values, lengths)``.

    Examples
    --------
    >>> v, n = runs_encode(np.array([[0, 0, 3], [3, 3, 0]]))
    >>> v.tolist(), n.tolist()
    ([0, 3, 0], [2, 3, 1])
    """
    flat = np.ascontiguousarray(values).ravel()
    if flat.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(np.append(starts, flat.size))
    return flat[starts].astype(np.int64), lengths.astype(np.int64)


def runs_decode(values, lengths, size: int, *, dtype=np.int64) -> np.ndarray:
    """Inverse of :func:`runs_encode` (flat); FormatError when the runs do not cover ``size``.

    Examples
    --------
    >>> runs_decode([0, 3, 0], [2, 3, 1], 6).tolist()
    [0, 0, 3, 3, 3, 0]
    """
    try:
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise FormatError("run-lengths must be lists of integers") from None
    if values.shape != lengths.shape:
        raise FormatError(f"{len(values)} run values for {len(lengths)} run lengths")
    if lengths.size and lengths.min() < 0:
        raise FormatError("negative run length")
    total = int(lengths.sum())
    if total != size:
        raise SizeMismatchError(f"run lengths cover {total} pixels, the image has {size}")
    return np.repeat(values, lengths).astype(dtype, copy=False)


def mask_to_crop(mask: np.ndarray) -> dict | None:
    """A binary mask as its bounding box and alternating run counts inside it.

    The counts start with a run of zeros (possibly empty), row-major inside the box,
    as the editor keeps object masks. None for an empty mask.

    Examples
    --------
    >>> m = np.zeros((4, 4), bool); m[1:3, 2] = True
    >>> mask_to_crop(m)
    {'bbox': [2, 1, 1, 2], 'counts': [0, 2]}
    """
    mask = np.asarray(mask, bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    values, lengths = runs_encode(mask[y0:y1, x0:x1].astype(np.uint8))
    counts = lengths.tolist()
    if values[0] == 1:
        counts.insert(0, 0)
    return {"bbox": [x0, y0, x1 - x0, y1 - y0], "counts": counts}


def crop_to_mask(crop: dict, height: int, width: int) -> np.ndarray:
    """Inverse of :func:`mask_to_crop`: an H×W bool mask."""
    try:
        x, y, w, h = (int(v) for v in crop["bbox"])
        counts = np.asarray(crop["counts"], dtype=np.int64).reshape(-1)
    except (KeyError, TypeError, ValueError):
        raise FormatError("an object mask needs 'bbox' [x, y, w, h] and integer 'counts'") from None
    if w < 0 or h < 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise SizeMismatchError(f"mask box {[x, y, w, h]} lies outside the {width}x{height} image")
    values = np.arange(len(counts)) % 2
    out = np.zeros((height, width), bool)
    out[y:y + h, x:x + w] = runs_decode(values, counts, w * h).reshape(h, w).astype(bool)
    return out


# --------------------------------------------------------------------------- PNG codec
def encode_id_png(ids: np.ndarray) -> bytes:
    """An id map as PNG bytes (8-bit gray, 16-bit gray or 24-bit RGB, smallest that fits)."""
    from ..io.png import encode_png

    ids = np.asarray(ids)
    top = int(ids.max()) if ids.size else 0
    if top < 256:
        return encode_png(ids.astype(np.uint8))
    if top < 65536:
        return encode_png(ids.astype(np.uint16))
    return encode_png(id_to_rgb(ids))


def decode_id_png(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_id_png` (int64 H×W)."""
    from ..io.png import decode_png

    try:
        arr = decode_png(data)
    except FormatError as exc:  # a corrupt blob in the database
        raise FormatError(f"stored label map: {exc.message}") from None
    if arr.ndim == 3:
        return rgb_to_id(arr)
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- the document
def _flag(rec: dict, key: str) -> bool:
    v = rec.get(key, False)
    return bool(v) if isinstance(v, (bool, int)) else False


@dataclass
class LabelDoc:
    """One image's labels in the studio's layered model.

    Parameters
    ----------
    kind : {"semantic", "instance", "panoptic"}
    height, width : int
    segments : list of dict
        ``{"id", "category_id", "iscrowd", "hidden", "locked"}`` in list (drawing) order.
    ids : (H, W) int array, optional
        Segment id map (semantic and panoptic).
    rles : dict, optional
        ``{segment_id: COCO compressed RLE}`` (instance).

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "cat"), Category(2, "grass", isthing=False)])
    >>> ids = np.array([[1, 1, 2], [0, 2, 2]])
    >>> doc = LabelDoc("panoptic", 2, 3, [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 2}], ids=ids)
    >>> doc.validate(tax).to_panoptic().segment(2).area
    3
    >>> LabelDoc.from_api(doc.to_api(), "panoptic", 2, 3).ids.tolist() == ids.tolist()
    True
    """

    kind: str
    height: int
    width: int
    segments: list[dict] = field(default_factory=list)
    ids: np.ndarray | None = None
    rles: dict[int, dict] | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValidationError(f"unknown project kind {self.kind!r} (use one of {', '.join(KINDS)})")
        self.segments = [self._clean_record(r) for r in self.segments]
        if self.kind == "instance":
            self.rles = dict(self.rles or {})
            self.ids = None
        else:
            self.rles = None
            if self.ids is None:
                self.ids = np.zeros((self.height, self.width), np.int64)
            self.ids = np.asarray(self.ids)
            if self.ids.shape != (self.height, self.width):
                raise SizeMismatchError(f"label map is {self.ids.shape[1]}x{self.ids.shape[0]}, "
                                        f"the image is {self.width}x{self.height}")

    @staticmethod
    def _clean_record(rec) -> dict:
        if not isinstance(rec, dict):
            raise FormatError(f"segment record must be an object, got {rec!r}"[:100])
        sid, cid = rec.get("id"), rec.get("category_id")
        for name, v in (("id", sid), ("category_id", cid)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValidationError(f"segment {name} must be a non-negative integer, got {v!r}",
                                      segment_id=sid if isinstance(sid, int) else None)
        if sid == VOID or sid > MAX_SEGMENT_ID:
            raise ValidationError(f"segment id must lie in 1..{MAX_SEGMENT_ID}", segment_id=sid)
        return {"id": sid, "category_id": cid, "iscrowd": _flag(rec, "iscrowd"),
                "hidden": _flag(rec, "hidden"), "locked": _flag(rec, "locked")}

    # -- constructors ----------------------------------------------------------
    @classmethod
    def empty(cls, kind: str, height: int, width: int) -> "LabelDoc":
        return cls(kind, height, width)

    @classmethod
    def from_api(cls, body: dict, kind: str, height: int, width: int) -> "LabelDoc":
        """From the JSON the editor sends (``segments`` + ``map`` runs or ``masks`` crops)."""
        segments = body.get("segments") or []
        if not isinstance(segments, list):
            raise FormatError("'segments' must be a list")
        if kind == "instance":
            masks = body.get("masks") or {}
            if not isinstance(masks, dict):
                raise FormatError("'masks' must be an object {segment_id: {bbox, counts}}")
            rles = {}
            for key, crop in masks.items():
                try:
                    sid = int(key)
                except ValueError:
                    raise FormatError(f"mask key {key!r} is not a segment id") from None
                try:
                    rles[sid] = M.encode(crop_to_mask(crop, height, width))
                except (FormatError, SizeMismatchError) as exc:
                    raise exc.at(segment_id=sid) from None
            return cls(kind, height, width, segments, rles=rles)
        runs = body.get("map")
        if runs is None:
            ids = np.zeros((height, width), np.int64)
        else:
            if not isinstance(runs, dict):
                raise FormatError("'map' must be an object {values, lengths}")
            ids = runs_decode(runs.get("values", []), runs.get("lengths", []), height * width)
            ids = ids.reshape(height, width)
        return cls(kind, height, width, segments, ids=ids)

    def to_api(self) -> dict:
        """The JSON form the editor reads (see :meth:`from_api`)."""
        out: dict = {"segments": [dict(s) for s in self.segments]}
        if self.kind == "instance":
            masks = {}
            for s in self.segments:
                rle = self.rles.get(s["id"])
                crop = None if rle is None else mask_to_crop(M.decode(rle))
                if crop is not None:
                    masks[str(s["id"])] = crop
            out["masks"] = masks
            out["map"] = None
        else:
            values, lengths = runs_encode(self.ids)
            out["map"] = {"values": values.tolist(), "lengths": lengths.tolist()}
            out["masks"] = None
        return out

    # -- storage -----------------------------------------------------------------
    def to_db(self) -> tuple[bytes | None, list[dict]]:
        """``(blob, records)``: PNG id map (or None) and JSON-ready segment records."""
        if self.kind == "instance":
            recs = []
            for s in self.segments:
                rle = self.rles.get(s["id"])
                recs.append({**s, "rle": None if rle is None else M.json_rle(rle)})
            return None, recs
        return encode_id_png(self.ids), [dict(s) for s in self.segments]

    @classmethod
    def from_db(cls, kind: str, height: int, width: int, blob: bytes | None, records: list[dict]) -> "LabelDoc":
        if kind == "instance":
            rles = {r["id"]: r["rle"] for r in records if r.get("rle")}
            return cls(kind, height, width, records, rles=rles)
        ids = decode_id_png(blob) if blob else None
        return cls(kind, height, width, records, ids=ids)

    # -- checks ------------------------------------------------------------------
    def problems(self, taxonomy: Taxonomy, *, image_id=None, file=None) -> list[ValidationError]:
        """Every broken invariant: unknown/duplicate ids, unknown categories, a second segment
        of a stuff class (panoptic) or of any class (semantic), pixels of unlisted segments."""
        where = dict(image_id=image_id, file=file)
        out: list[ValidationError] = []
        seen: set[int] = set()
        single: dict[int, int] = {}
        for s in self.segments:
            sid, cid = s["id"], s["category_id"]
            if sid in seen:
                out.append(ValidationError("duplicate segment id", segment_id=sid, **where))
            seen.add(sid)
            cat = taxonomy.get(cid)
            if cat is None:
                out.append(CategoryError(f"unknown category id {cid}", segment_id=sid, **where))
                continue
            if self.kind == "instance" and not cat.isthing:
                out.append(ValidationError(f"instance projects label things only; {cat.name!r} is stuff",
                                           segment_id=sid, **where))
            one_per_class = self.kind == "semantic" or (self.kind == "panoptic" and not cat.isthing)
            if one_per_class:
                if cid in single:
                    out.append(ValidationError(f"two segments ({single[cid]} and {sid}) of class {cat.name!r}",
                                               segment_id=sid, **where))
                single.setdefault(cid, sid)
        if self.kind == "instance":
            for sid in self.rles:
                if sid not in seen:
                    out.append(ValidationError("mask of a segment that is not listed", segment_id=sid, **where))
        else:
            present = np.unique(self.ids)
            for sid in present.tolist():
                if sid != VOID and sid not in seen:
                    out.append(ValidationError("pixels of a segment that is not listed", segment_id=sid, **where))
        return out

    def validate(self, taxonomy: Taxonomy, **where) -> "LabelDoc":
        problems = self.problems(taxonomy, **where)
        if problems:
            raise problems[0]
        return self

    # -- summaries -----------------------------------------------------------------
    def areas(self) -> dict[int, int]:
        """``{segment_id: pixel count}`` (0 for listed segments without pixels)."""
        if self.kind == "instance":
            return {s["id"]: (M.area(self.rles[s["id"]]) if s["id"] in self.rles else 0) for s in self.segments}
        uniq, counts = np.unique(self.ids, return_counts=True)
        got = dict(zip(uniq.tolist(), counts.tolist()))
        return {s["id"]: int(got.get(s["id"], 0)) for s in self.segments}

    def labeled_fraction(self) -> float:
        """Share of pixels that carry a label."""
        n = self.height * self.width
        if n == 0:
            return 0.0
        if self.kind == "instance":
            rles = [r for r in self.rles.values()]
            return M.area(M.merge(rles)) / n if rles else 0.0
        return float(np.count_nonzero(self.ids)) / n

    # -- bridge to the core types ---------------------------------------------------------
    def _nonempty(self) -> list[dict]:
        areas = self.areas()
        return [s for s in self.segments if areas[s["id"]] > 0]

    def to_panoptic(self) -> PanopticMap:
        """The panoptic map (panoptic and semantic documents; empty segments dropped)."""
        if self.kind == "instance":
            raise ValidationError("an instance document has no single id map; convert it with panoptix.convert")
        segs = self._nonempty()
        return PanopticMap.from_ids(self.ids.copy(), {s["id"]: s["category_id"] for s in segs},
                                    {s["id"]: s["iscrowd"] for s in segs})

    def to_semantic(self, taxonomy: Taxonomy) -> SemanticMap:
        """Class map (semantic documents): unlabeled pixels get the ignore index."""
        if self.kind == "instance":
            raise ValidationError("an instance document has no single class map; convert it with panoptix.convert")
        top = max([s["id"] for s in self.segments], default=0)
        lut = np.full(top + 1, taxonomy.ignore_index, np.int64)
        for s in self.segments:
            lut[s["id"]] = s["category_id"]
        ids = np.where(self.ids <= top, self.ids, 0)
        return SemanticMap(lut[ids], ignore_index=taxonomy.ignore_index)

    def to_instances(self) -> Instances:
        """Object masks (instance documents; empty masks dropped), in list order."""
        if self.kind != "instance":
            raise ValidationError("only instance documents hold overlapping masks")
        segs = [s for s in self._nonempty()]
        return Instances([self.rles[s["id"]] for s in segs], self.height, self.width,
                         [s["category_id"] for s in segs], iscrowd=[s["iscrowd"] for s in segs],
                         ids=[s["id"] for s in segs])

    def to_sample(self, info: ImageInfo, taxonomy: Taxonomy) -> Sample:
        """A :class:`~panoptix.io.dataset.Sample` holding the document's native kind."""
        if self.kind == "panoptic":
            return Sample(info, panoptic=self.to_panoptic())
        if self.kind == "semantic":
            return Sample(info, semantic=self.to_semantic(taxonomy))
        return Sample(info, instances=self.to_instances())

    @classmethod
    def from_sample(cls, sample: Sample, kind: str, taxonomy: Taxonomy) -> "LabelDoc":
        """A document of ``kind`` from a sample holding that kind (see ``panoptix.convert.to_kind``)."""
        h, w = int(sample.image.height), int(sample.image.width)
        if kind == "panoptic":
            pan = sample.panoptic
            if pan is None:
                raise ValidationError("the sample has no panoptic labels", image_id=sample.image.id)
            segs = [{"id": s.id, "category_id": s.category_id, "iscrowd": s.iscrowd} for s in pan.segments]
            return cls(kind, h, w, segs, ids=np.asarray(pan.ids, np.int64))
        if kind == "semantic":
            sem = sample.semantic
            if sem is None:
                raise ValidationError("the sample has no semantic labels", image_id=sample.image.id)
            labels = np.asarray(sem.labels, np.int64)
            classes = [c for c in np.unique(labels).tolist() if c != sem.ignore_index]
            ids = np.zeros(labels.shape, np.int64)
            segs = []
            for k, c in enumerate(classes, start=1):
                ids[labels == c] = k
                segs.append({"id": k, "category_id": int(c)})
            return cls(kind, h, w, segs, ids=ids)
        inst = sample.instances
        if inst is None:
            raise ValidationError("the sample has no instance labels", image_id=sample.image.id)
        rles = inst.rles
        segs, out_rles, used = [], {}, set()
        for i in range(len(inst)):
            sid = int(inst.ids[i])
            if sid <= 0 or sid in used:  # annotation ids are per dataset; keep them when usable
                sid = max(used, default=0) + 1
            used.add(sid)
            segs.append({"id": sid, "category_id": int(inst.category_ids[i]), "iscrowd": bool(inst.iscrowd[i])})
            out_rles[sid] = rles[i]
        return cls(kind, h, w, segs, rles=out_rles)

