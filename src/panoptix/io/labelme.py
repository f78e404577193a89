"""LabelMe JSON (wkentaro/labelme): one JSON per image with ``shapes`` (``label``, ``points``,
``shape_type``, ``group_id``, ``flags``), ``imagePath``, ``imageHeight``, ``imageWidth``.

Reading gives ``instances``: shapes with the same ``label`` and ``group_id`` are one object
(shapes without ``group_id`` are one object each). ``polygon`` and ``rectangle`` shapes become
COCO polygons (rasterised as pycocotools does), ``circle`` and ``mask`` shapes masks;
``line``, ``linestrip`` and ``point`` shapes have no area and are skipped. A shape whose
``flags`` has ``"iscrowd": true`` makes its object a crowd region.

Writing keeps polygons that are polygons already (a dataset read from LabelMe or COCO gives
its polygons back exactly) and traces other masks (RLE) along pixel edges
(:mod:`panoptix.io._polygons`): one shape per 8-connected part, its holes joined in by
zero-width bridges, the shapes of one object sharing a ``group_id``. Rasterised as pycocotools
does, these polygons give back every pixel of the mask, holes included (LabelMe's own
rasteriser, PIL, also draws the outline pixels, so it may add a pixel along the border).
``mask_shapes=True`` writes LabelMe ``mask`` shapes instead. Categories and crowd flags always
survive; ``categories.json`` (written beside the JSONs, read back when present) keeps category
ids, thing/stuff and colours. ``area`` is not a LabelMe field: read back, it is the mask's
pixel count.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..core import masks as M
from ..core.errors import CategoryError, FormatError
from ..core.labels import Instances
from . import _common as C
from ._polygons import mask_to_polygons
from .dataset import Dataset, ImageInfo, Sample
from .files import as_path, image_size, is_url, read_json, relpath, write_json

__all__ = ["read", "write"]

FORMAT = "labelme"
KIND = "instances"
LABELME_VERSION = "5.5.0"
REGION_SHAPES = ("polygon", "rectangle", "circle", "mask")


def is_labelme(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("shapes"), list)


def read(path, *, images=None, taxonomy=None) -> Dataset:
    """Read a folder of LabelMe JSONs (or one JSON file).

    Parameters
    ----------
    images : path, optional
        The folder of the image files (default: the LabelMe folder; ``imagePath`` is relative
        to each JSON).
    taxonomy : Taxonomy, preset name or JSON path, optional
        Default: ``categories.json`` in the folder, else the labels met, ids 1..N in order.
    """
    root = as_path(path)
    files = [root] if root.is_file() else [p for p in C.list_files(root, (".json",))
                                           if p.name not in (C.CATEGORIES_FILE, "dataset_meta.json")]
    base = root.parent if root.is_file() else root
    infos, sources, names = [], {}, []
    for js in files:
        data = read_json(js)
        if not is_labelme(data):
            if root.is_file():
                raise FormatError("not a LabelMe JSON (no 'shapes' list)", file=js)
            continue
        rel = js.relative_to(base).with_suffix("").as_posix()
        h, w = _size(data, js)
        image_path = data.get("imagePath") if isinstance(data.get("imagePath"), str) else ""
        file_name = os.path.normpath(os.path.join(os.path.dirname(rel), image_path.replace("\\", "/")))
        if not image_path or file_name.startswith(".."):
            file_name = rel + (Path(image_path).suffix or ".jpg")
        infos.append(ImageInfo(rel, Path(file_name).as_posix(), h, w))
        sources[rel] = js
        names.extend(s.get("label") for s in data["shapes"] if isinstance(s, dict) and isinstance(s.get("label"), str))
    if not infos:
        raise C.no_data(root, "LabelMe JSONs")
    tax = C.resolve_taxonomy(taxonomy)
    if tax is None and (base / C.CATEGORIES_FILE).is_file():
        tax = C.read_categories(base / C.CATEGORIES_FILE)
    tax = C.taxonomy_by_names(names, tax, file=root)

    def load(info: ImageInfo) -> Sample:
        js = sources[info.id]
        return Sample(info, instances=shapes_to_instances(read_json(js)["shapes"], info.height, info.width, tax,
                                                          file=js, image_id=info.id))

    return Dataset(tax, infos, load, image_root=as_path(images) if images is not None else base, source=str(root),
                   format=FORMAT)


def _size(data: dict, js) -> tuple[int, int]:
    h, w = data.get("imageHeight"), data.get("imageWidth")
    if isinstance(h, int) and isinstance(w, int) and not isinstance(h, bool) and h > 0 and w > 0:
        return h, w
    if h is not None or w is not None:
        raise FormatError(f"imageHeight/imageWidth must be positive integers, got {h!r}/{w!r}", file=js)
    image = js.parent / str(data.get("imagePath") or "")
    if data.get("imagePath") and image.is_file():
        return image_size(image)
    raise FormatError("no imageHeight/imageWidth and no image to measure", file=js)


def shapes_to_instances(shapes: list, height: int, width: int, tax, *, file=None, image_id=None) -> Instances:
    """LabelMe shapes -> Instances (same label and group_id: one object)."""
    groups: dict = {}
    for k, sh in enumerate(shapes):
        where = dict(file=file, image_id=image_id, segment_id=k)
        if not isinstance(sh, dict) or not isinstance(sh.get("label"), str) or not isinstance(sh.get("points"), list):
            raise FormatError("shape needs a string 'label' and a 'points' list", **where)
        kind = sh.get("shape_type") or "polygon"
        if kind not in REGION_SHAPES:
            continue
        cat = tax.get(sh["label"])
        if cat is None:
            raise CategoryError(f"unknown label {sh['label']!r}", **where)
        try:
            seg = _segmentation(sh, kind, height, width)
        except (TypeError, ValueError, OSError) as exc:
            raise FormatError(f"malformed {kind} shape: {exc}", **where) from None
        gid = sh.get("group_id")
        key = (sh["label"], gid) if gid is not None else ("", k)
        g = groups.setdefault(key, {"category": cat.id, "segs": [], "crowd": False})
        g["segs"].append(seg)
        g["crowd"] |= bool((sh.get("flags") or {}).get("iscrowd"))
    segs = []
    for g in groups.values():
        if all(isinstance(s, list) for s in g["segs"]):
            segs.append([s for s in g["segs"]])
        else:
            segs.append(M.merge([M.to_rle([s] if isinstance(s, list) else s, height, width) for s in g["segs"]]))
    return Instances(segs, height, width, [g["category"] for g in groups.values()],
                     iscrowd=[g["crowd"] for g in groups.values()])


def _segmentation(sh: dict, kind: str, height: int, width: int):
    """A polygon ``[x1, y1, ...]`` or an RLE."""
    pts = np.asarray(sh["points"], dtype=np.float64).reshape(-1, 2)
    if kind == "polygon":
        if len(pts) < 3:
            raise ValueError(f"a polygon needs 3 points, got {len(pts)}")
        return pts.ravel().tolist()
    if kind == "rectangle":
        (x1, y1), (x2, y2) = pts.min(0), pts.max(0)
        return [x1, y1, x2, y1, x2, y2, x1, y2]
    img = Image.new("1", (width, height), 0)
    if kind == "circle":  # as labelme's shape_to_mask
        (cx, cy), (px, py) = pts[:2]
        d = float(np.hypot(cx - px, cy - py))
        ImageDraw.Draw(img).ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
        return M.encode(np.asarray(img, bool))
    # mask: a PNG of the box [x1, y1]-[x2, y2] (inclusive), base64
    crop = np.asarray(Image.open(io.BytesIO(base64.b64decode(sh["mask"]))), bool)
    x1, y1 = (int(v) for v in pts[0])
    full = np.zeros((height, width), bool)
    hh, ww = min(crop.shape[0], height - y1), min(crop.shape[1], width - x1)
    full[y1:y1 + hh, x1:x1 + ww] = crop[:hh, :ww]
    return M.encode(full)


def write(dataset: Dataset, dst, *, mask_shapes: bool = False, progress=None) -> None:
    """Write one LabelMe JSON per image (named like the image, ``.json``) and ``categories.json``.

    ``mask_shapes=True`` writes masks that are not polygons as exact LabelMe ``mask`` shapes
    instead of traced polygons.
    """
    root = C.output_dir(dst)
    tax = dataset.taxonomy
    names = C.OutputNames()
    for sample in C.samples(dataset, progress, f"writing {FORMAT}"):
        info = sample.image
        with C.located(image_id=info.id):
            name = names(info, ".json")
            inst = C.label_of(sample, "instances", tax)
            shapes = instances_to_shapes(inst, tax, mask_shapes=mask_shapes)
        out = root / name
        image = dataset.image_path(info)
        image_path = relpath(image, out.parent) if image is not None and image.is_file() else ""
        if not image_path or is_url(image_path):  # no image, or on another store than the JSON
            image_path = Path(info.file_name).name
        write_json(out, {"version": LABELME_VERSION, "flags": {}, "shapes": shapes,
                         "imagePath": Path(image_path).as_posix(), "imageData": None,
                         "imageHeight": int(info.height), "imageWidth": int(info.width)}, indent=True)
    C.write_categories(root / C.CATEGORIES_FILE, tax)


def instances_to_shapes(inst: Instances, tax, *, mask_shapes: bool = False) -> list[dict]:
    shapes = []
    group = 0
    for i in range(len(inst)):
        label = tax.check(int(inst.category_ids[i]), segment_id=int(inst.ids[i])).name
        flags = {"iscrowd": True} if inst.iscrowd[i] else {}
        seg = inst.segmentations[i]
        parts: list[tuple[str, list, dict]] = []
        if M.segmentation_kind(seg) == "polygon" and seg:
            parts = [("polygon", np.asarray(p, np.float64).reshape(-1, 2).tolist(), {}) for p in seg]
        elif mask_shapes:
            mask = inst.mask(i)
            if mask.any():
                ys, xs = np.nonzero(mask)
                x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
                buf = io.BytesIO()
                Image.fromarray(mask[y1:y2 + 1, x1:x2 + 1]).save(buf, format="PNG")
                parts = [("mask", [[x1, y1], [x2, y2]], {"mask": base64.b64encode(buf.getvalue()).decode()})]
        else:
            parts = [("polygon", np.asarray(p).reshape(-1, 2).tolist(), {}) for p in mask_to_polygons(inst.mask(i))]
        if len(parts) > 1:
            group += 1
        for kind, points, extra in parts:
            shapes.append({"label": label, "points": points, "group_id": group if len(parts) > 1 else None,
                           "description": "", "shape_type": kind, "flags": dict(flags), **extra})
    return shapes
