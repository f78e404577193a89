"""Which format a file or folder is in, from its content and layout.

=====================  ===================================================================
format                 recognised by
=====================  ===================================================================
``coco-panoptic``      a COCO JSON whose annotations have ``segments_info`` (or a PNG ``file_name``)
``coco-instances``     a COCO JSON (``images``/``annotations``/``categories``) otherwise
``labelme``            JSON files with a ``shapes`` list
``cityscapes``         ``gtFine/`` or ``*_gtFine_*`` files
``yolo-seg``           ``labels/`` with ``images/``, ``data.yaml`` or ``classes.txt``
``semantic-png``       VOC / ADE20K / Datumaro layouts, ``categories.json`` beside PNGs, or
                       single-channel (grayscale, palette) PNGs
=====================  ===================================================================

A folder with one COCO JSON (directly or in ``annotations/``) is that JSON's format.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from ..core.errors import FormatError
from . import _common as C
from .files import read_json
from .labelme import is_labelme

__all__ = ["detect_format", "detect"]

_SIDE_FILES = (C.CATEGORIES_FILE, "dataset_meta.json", "panoptic_coco_categories.json")


def detect_format(path) -> str:
    """The format name of a dataset file or folder; FormatError when it is none of them.

    >>> import tempfile, json, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "x.json")
    >>> _ = open(p, "w").write(json.dumps({"images": [], "annotations": [], "categories": []}))
    >>> detect_format(p)
    'coco-instances'
    """
    return detect(path)[0]


def detect(path) -> tuple[str, Path, object]:
    """``(format, path to read, parsed JSON or None)``: the JSON parsed for detection is handed on
    so that reading does not parse it twice."""
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() != ".json":
            raise FormatError("not a dataset file (expected a JSON file or a folder)", file=p)
        data = read_json(p)
        return _json_format(data, p), p, data
    if not p.is_dir():
        raise FormatError("no such file or folder", file=p)

    if (p / "gtFine").is_dir() or p.name == "gtFine" or _first(p, lambda f: "_gtFine_" in f):
        return "cityscapes", p, None
    if (p / "labels").is_dir() and any((p / n).exists() for n in ("images", "data.yaml", "dataset.yaml",
                                                                  "classes.txt")):
        return "yolo-seg", p, None
    jsons = [f for f in sorted(p.glob("*.json")) + sorted(p.glob("annotations/*.json")) if f.name not in _SIDE_FILES]
    coco = []
    for f in jsons:
        data = read_json(f)
        if is_labelme(data):
            return "labelme", p, None
        if isinstance(data, dict) and "annotations" in data and "images" in data:
            coco.append((_json_format(data, f), f, data))
    if len(coco) == 1:
        return coco[0]
    if len(coco) > 1:
        raise FormatError("several COCO JSONs (" + ", ".join(f.name for _, f, _ in coco) + "): pick one", file=p)
    if not jsons:
        first = _first(p, lambda f: f.endswith(".json") and f not in _SIDE_FILES)
        if first is not None and is_labelme(read_json(first)):
            return "labelme", p, None
    if _semantic_layout(p):
        return "semantic-png", p, None
    if _first(p, lambda f: True) is None:
        raise C.no_data(p)
    raise FormatError("unknown dataset layout (formats: coco-instances, coco-panoptic, semantic-png, "
                      "cityscapes, labelme, yolo-seg)", file=p)


def _json_format(data, path: Path) -> str:
    if isinstance(data, list):
        raise FormatError("a COCO results list: read it with read_results() against its ground truth", file=path)
    if is_labelme(data):
        return "labelme"
    if not isinstance(data, dict) or "annotations" not in data or "images" not in data:
        raise FormatError("not a COCO or LabelMe JSON", file=path)
    anns = data["annotations"]
    first = anns[0] if isinstance(anns, list) and anns else None
    if isinstance(first, dict) and ("segments_info" in first or ("file_name" in first and "segmentation" not in first)):
        return "coco-panoptic"
    return "coco-instances"


def _semantic_layout(p: Path) -> bool:
    if any((p / d).is_dir() for d in ("SegmentationClass", "masks")):
        return True
    if (p / "annotations").is_dir() and (p / "images").is_dir():
        return True
    if (p / C.CATEGORIES_FILE).is_file() or (p / "dataset_meta.json").is_file():
        return _first(p, lambda f: f.endswith(".png")) is not None
    if _first(p, lambda f: f.endswith("_seg.png")) is not None:
        return True
    png = _first(p, lambda f: f.lower().endswith(".png"))
    if png is None:
        return False
    try:
        with Image.open(png) as img:
            return img.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L")
    except OSError:
        return False


def _first(root: Path, match) -> Path | None:
    """The first file (walking in sorted order, hidden files skipped) whose name matches."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if not f.startswith(".") and match(f):
                return Path(dirpath) / f
    return None
