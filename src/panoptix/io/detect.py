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

from pathlib import Path

from ..core.errors import FormatError
from . import _common as C
from .files import RemotePath, as_path, image_header, read_json, walk_files
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


def detect(path) -> tuple[str, Path | RemotePath, object]:
    """``(format, path to read, parsed JSON or None)``: the JSON parsed for detection is handed on
    so that reading does not parse it twice. ``path`` may be a local path or an fsspec URL."""
    p = as_path(path)
    if p.is_file():
        if p.suffix.lower() != ".json":
            raise FormatError("not a dataset file (expected a JSON file or a folder)", file=p)
        data = read_json(p)
        return _json_format(data, p), p, data
    if not p.is_dir():
        raise FormatError("no such file or folder", file=p)

    files = _Files(p)
    if (p / "gtFine").is_dir() or p.name == "gtFine" or files.first(lambda f: "_gtFine_" in f):
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
        first = files.first(lambda f: f.endswith(".json") and f not in _SIDE_FILES)
        if first is not None and is_labelme(read_json(first)):
            return "labelme", p, None
    if _semantic_layout(p, files):
        return "semantic-png", p, None
    if files.first(lambda f: True) is None:
        raise C.no_data(p)
    raise FormatError("unknown dataset layout (formats: coco-instances, coco-panoptic, semantic-png, "
                      "cityscapes, labelme, yolo-seg)", file=p)


def _json_format(data, path) -> str:
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


def _semantic_layout(p, files: "_Files") -> bool:
    if any((p / d).is_dir() for d in ("SegmentationClass", "masks")):
        return True
    if (p / "annotations").is_dir() and (p / "images").is_dir():
        return True
    if (p / C.CATEGORIES_FILE).is_file() or (p / "dataset_meta.json").is_file():
        return files.first(lambda f: f.endswith(".png")) is not None
    if files.first(lambda f: f.endswith("_seg.png")) is not None:
        return True
    png = files.first(lambda f: f.lower().endswith(".png"))
    if png is None:
        return False
    try:
        with image_header(png) as img:
            return img.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L")
    except FormatError:
        return False


class _Files:
    """The files below a folder, for several first-match look-ups: walked anew each time on a
    local disk (a walk stops at its first match), listed once on a remote store (one listing
    request instead of one per look-up)."""

    def __init__(self, root):
        self.root = root
        self._listing = None

    def first(self, match):
        """The first file (walking in sorted order, hidden files skipped) whose name matches."""
        if isinstance(self.root, RemotePath):
            if self._listing is None:
                self._listing = list(walk_files(self.root))
            found = self._listing
        else:
            found = walk_files(self.root)
        return next((f for f in found if match(f.name)), None)
