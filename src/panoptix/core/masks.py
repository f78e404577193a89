"""Masks as COCO run-length encoding (RLE), the compact form panoptix keeps them in.

The codec is pycocotools' own C implementation, so polygons are rasterised and
RLE strings produced bit for bit as pycocotools does. A segmentation may come in
any of COCO's three forms; :func:`to_rle` follows ``COCO.annToRLE`` exactly:

* polygons ``[[x1, y1, x2, y2, ...], ...]`` -> rasterised and merged (union);
* uncompressed RLE ``{"size": [h, w], "counts": [int, ...]}`` -> compressed;
* compressed RLE ``{"size": [h, w], "counts": "..."}`` -> kept as is.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as _coco

from .errors import FormatError, PanoptixError, SizeMismatchError

__all__ = [
    "encode",
    "decode",
    "to_rle",
    "area",
    "bbox",
    "iou",
    "merge",
    "segmentation_kind",
    "json_rle",
]


def segmentation_kind(seg) -> str:
    """``"polygon"``, ``"rle"`` (uncompressed) or ``"compressed"``; FormatError otherwise."""
    if isinstance(seg, list):
        return "polygon"
    if isinstance(seg, dict) and "counts" in seg and "size" in seg:
        return "rle" if isinstance(seg["counts"], list) else "compressed"
    raise FormatError(f"segmentation is neither polygons nor RLE: {str(seg)[:60]!r}")


def json_rle(rle: dict) -> dict:
    """A compressed RLE with ``counts`` as str, ready for JSON."""
    counts = rle["counts"]
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def encode(mask: np.ndarray) -> dict:
    """Encode one H×W binary mask as compressed RLE (``counts`` as str).

    Examples
    --------
    >>> m = np.zeros((4, 5), bool); m[1:3, 2:4] = True
    >>> rle = encode(m)
    >>> rle["size"], area(rle)
    ([4, 5], 4)
    >>> bool((decode(rle) == m).all())
    True
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise SizeMismatchError(f"a mask must be 2-D, got shape {mask.shape}")
    return json_rle(_coco.encode(np.asfortranarray(mask, dtype=np.uint8)))


def _c_rle(rle: dict) -> dict:
    counts = rle["counts"]
    if isinstance(counts, str):
        return {"size": rle["size"], "counts": counts.encode("ascii")}
    return rle


def to_rle(segmentation, height: int, width: int) -> dict:
    """Any COCO segmentation -> compressed RLE, exactly as ``COCO.annToRLE``.

    Examples
    --------
    >>> rle = to_rle([[0, 0, 4, 0, 4, 4, 0, 4]], 6, 6)
    >>> area(rle)
    16
    """
    kind = segmentation_kind(segmentation)
    try:
        if kind == "polygon":
            if not segmentation:
                return encode(np.zeros((height, width), np.uint8))
            # Passed to pycocotools untouched so that its quirks hold too (a first
            # polygon of 4 numbers makes it read the list as boxes).
            rles = _coco.frPyObjects(segmentation, int(height), int(width))
            return json_rle(_coco.merge(rles))
        if kind == "rle":
            h, w = (int(v) for v in segmentation["size"])
            if (h, w) != (int(height), int(width)):
                raise SizeMismatchError(f"RLE size {h}x{w} differs from image size {height}x{width}")
            if sum(segmentation["counts"]) != h * w:
                raise FormatError(f"uncompressed RLE counts sum to {sum(segmentation['counts'])}, not {h}*{w}")
            return json_rle(_coco.frPyObjects(segmentation, h, w))
        h, w = (int(v) for v in segmentation["size"])
        if (h, w) != (int(height), int(width)):
            raise SizeMismatchError(f"RLE size {h}x{w} differs from image size {height}x{width}")
        return json_rle(segmentation)
    except PanoptixError:
        raise
    except Exception as exc:  # pycocotools raises bare Exception/TypeError/ValueError
        raise FormatError(f"bad segmentation: {exc}") from None


def decode(rle: dict) -> np.ndarray:
    """Compressed RLE -> H×W bool array."""
    return _coco.decode(_c_rle(rle)).astype(bool)


def decode_many(rles: list[dict], height: int, width: int) -> np.ndarray:
    """List of compressed RLEs -> N×H×W bool array."""
    if not rles:
        return np.zeros((0, height, width), bool)
    return np.moveaxis(_coco.decode([_c_rle(r) for r in rles]), -1, 0).astype(bool)


def area(rle) -> int | np.ndarray:
    """Pixel count of one RLE (int) or of a list of RLEs (array)."""
    if isinstance(rle, list):
        return _coco.area([_c_rle(r) for r in rle]) if rle else np.zeros(0, np.uint32)
    return int(_coco.area(_c_rle(rle)))


def bbox(rle) -> list[float] | np.ndarray:
    """COCO ``[x, y, w, h]`` of one RLE (list) or of a list of RLEs (N×4 array)."""
    if isinstance(rle, list):
        return _coco.toBbox([_c_rle(r) for r in rle]) if rle else np.zeros((0, 4))
    return [float(v) for v in _coco.toBbox(_c_rle(rle))]


def merge(rles: list[dict], intersect: bool = False) -> dict:
    """Union (or intersection) of RLEs."""
    return json_rle(_coco.merge([_c_rle(r) for r in rles], int(intersect)))


def iou(dt: list[dict], gt: list[dict], iscrowd) -> np.ndarray:
    """COCO IoU matrix (D×G); for crowd ground truth, intersection / detection area."""
    if not dt or not gt:
        return np.zeros((len(dt), len(gt)))
    return _coco.iou([_c_rle(r) for r in dt], [_c_rle(r) for r in gt], [int(c) for c in iscrowd])
