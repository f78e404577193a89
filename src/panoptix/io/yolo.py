"""YOLO segmentation (Ultralytics): ``labels/<name>.txt`` beside ``images/<name>.jpg``, one object
per line ``class x1 y1 x2 y2 ...`` with coordinates divided by the image width and height, and
the class names in ``data.yaml`` (``names:``) or ``classes.txt``.

Reading takes each image's size from its file header (the pixels are not decoded), so the
images must be there. Class ``k`` is the ``k``-th category of the taxonomy (``taxonomy=``, else
the ``categories.json`` panoptix writes beside ``data.yaml``, else the names with ids 1..N).
A line of exactly four numbers is a detection box (``cx cy w h``) and reads as a rectangle.
Images without a label file have no objects.

YOLO has one polygon per object and no crowd flag. Writing therefore keeps an object that is
one polygon as it is, and writes any other object (several polygons, RLE) as the outline of
its mask traced along pixel edges, parts and holes joined by zero-width bridges
(:mod:`panoptix.io._polygons`), which pycocotools rasterises back to exactly the same pixels.
Crowd regions are skipped unless ``crowd="object"`` (then they are written as ordinary
objects). The guarantee: every non-crowd object comes back with its category and every pixel
(polygons rasterised as pycocotools does); single polygons come back bit for bit, since
coordinates are written with full float precision and read back rounded to 8 decimals.
``area`` is not a YOLO field: read back, it is the pixel count. Images are copied into
``images/`` when the dataset knows where they are (``copy_images``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core import masks as M
from ..core.errors import CategoryError, FormatError, PanoptixError
from ..core.labels import Instances
from ..core.taxonomy import Taxonomy
from . import _common as C
from ._polygons import bridge, mask_to_polygons
from .dataset import Dataset, ImageInfo, Sample
from .files import as_path, atomic_write, copy_file, image_sizes

__all__ = ["read", "write", "parse_names"]

FORMAT = "yolo-seg"
KIND = "instances"
DECIMALS = 8


def read(path, *, images=None, taxonomy=None) -> Dataset:
    """Read a YOLO segmentation dataset (``images/``, ``labels/``, ``data.yaml`` or ``classes.txt``)."""
    root = as_path(path)
    labels_dir = root / "labels"
    image_dir = as_path(images) if images is not None else root / "images"
    if not labels_dir.is_dir():
        raise FormatError("no labels/ folder", file=root)
    names = _names(root)
    tax = C.resolve_taxonomy(taxonomy)
    if tax is None and (root / C.CATEGORIES_FILE).is_file():
        tax = C.read_categories(root / C.CATEGORIES_FILE)
    if tax is None:
        if names is None:
            raise FormatError("no data.yaml or classes.txt with the class names: pass taxonomy=", file=root)
        tax = C.taxonomy_by_names(names, None)
    if names is not None:
        for k, n in enumerate(names):
            if k >= len(tax) or tax.categories[k].name != n:
                raise FormatError(f"class {k} is {n!r} in the dataset but "
                                  f"{tax.categories[k].name if k < len(tax) else 'missing'!r} in the taxonomy",
                                  file=root)
    class_ids = tax.ids

    by_stem = C.image_index(image_dir)
    label_files = {C.relative_stem(p, labels_dir): p for p in C.list_files(labels_dir, (".txt",))}
    for stem, p in label_files.items():
        if stem not in by_stem:
            raise FormatError("no image for this label file (its size is needed)", file=p)
    if not by_stem:
        raise C.no_data(root, "images")
    ordered = sorted(by_stem.items())
    sizes = image_sizes([image_dir / rel for _, rel in ordered])
    infos = [ImageInfo(stem, rel, h, w) for (stem, rel), (h, w) in zip(ordered, sizes)]

    def load(info: ImageInfo) -> Sample:
        txt = label_files.get(info.id)
        if txt is None:
            return Sample(info, instances=Instances.empty(info.height, info.width))
        return Sample(info, instances=parse_labels(txt, info.height, info.width, class_ids, image_id=info.id))

    return Dataset(tax, infos, load, image_root=image_dir, source=str(root), format=FORMAT)


def parse_labels(txt, height: int, width: int, class_ids: list[int], *, image_id=None) -> Instances:
    """One YOLO label file -> Instances (pixel coordinates, rounded to 8 decimals)."""
    try:
        lines = txt.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read: {exc}", file=txt, image_id=image_id) from None
    segs, cats = [], []
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens:
            continue
        where = dict(file=f"{txt}:{n}", image_id=image_id)
        try:
            k = int(tokens[0])
            xy = np.array(tokens[1:], dtype=np.float64)
        except ValueError:
            raise FormatError(f"not a YOLO label line: {line[:60]!r}", **where) from None
        if not 0 <= k < len(class_ids):
            raise CategoryError(f"class {k} is not in the {len(class_ids)} classes", **where)
        if len(xy) == 4:  # a detection box: cx cy w h
            cx, cy, bw, bh = xy
            xy = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2,
                           cx - bw / 2, cy + bh / 2])
        if len(xy) < 6 or len(xy) % 2:
            raise FormatError(f"a polygon needs an even number (≥ 6) of coordinates, got {len(xy)}", **where)
        xy = xy.reshape(-1, 2) * (width, height)
        segs.append([np.round(xy, DECIMALS).ravel().tolist()])
        cats.append(class_ids[k])
    return Instances(segs, height, width, cats)


def _names(root) -> list[str] | None:
    for name in ("data.yaml", "dataset.yaml", "data.yml"):
        if (root / name).is_file():
            return parse_names((root / name).read_text(), file=root / name)
    if (root / "classes.txt").is_file():
        return [ln.strip() for ln in (root / "classes.txt").read_text().splitlines() if ln.strip()]
    return None


def parse_names(text: str, *, file=None) -> list[str]:
    """The ``names`` of an Ultralytics data YAML (a list, or a ``{index: name}`` mapping).

    >>> parse_names("nc: 2\\nnames: ['cat', dog]")
    ['cat', 'dog']
    >>> parse_names("names:\\n  0: person\\n  1: 'traffic light'\\n")
    ['person', 'traffic light']
    """
    try:
        import yaml
    except ImportError:  # PyYAML is optional: a reader for the two usual shapes of `names`
        data = {"names": _names_without_yaml(text)}
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FormatError(f"invalid YAML: {exc}", file=file) from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        try:
            names = [names[k] for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise FormatError("'names' keys must be class indices", file=file) from None
    if not isinstance(names, list) or not names:
        raise FormatError("no 'names' list", file=file)
    return [str(n) for n in names]


def _names_without_yaml(text: str):
    def scalar(s: str) -> str:
        s = s.strip()
        return s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" else s

    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("names:"):
            continue
        rest = line[len("names:"):].strip()
        if rest.startswith("["):
            return [scalar(s) for s in rest.strip("[]").split(",") if s.strip()]
        out_list, out_map = [], {}
        for item in lines[i + 1:]:
            if not item.strip() or item.lstrip().startswith("#"):
                continue
            if not item.startswith((" ", "\t", "-")):
                break
            item = item.strip()
            if item.startswith("-"):
                out_list.append(scalar(item[1:]))
            elif ":" in item:
                key, _, value = item.partition(":")
                out_map[key.strip()] = scalar(value)
        return out_list or out_map
    return None


def write(dataset: Dataset, dst, *, crowd: str = "skip", copy_images: bool = True, progress=None) -> None:
    """Write ``labels/*.txt``, ``data.yaml`` (last) and ``categories.json``; copy images to ``images/``.

    Parameters
    ----------
    crowd : ``"skip"`` or ``"object"``
        YOLO has no crowd flag: leave crowd regions out (as Ultralytics' COCO converter does) or
        write them as ordinary objects.
    copy_images : bool
        Copy each image file into ``images/`` when the dataset knows where it is.
    """
    if crowd not in ("skip", "object"):
        raise PanoptixError(f"crowd must be 'skip' or 'object', not {crowd!r}")
    root = C.output_dir(dst)
    labels_dir, image_dir = C.output_dir(root / "labels"), C.output_dir(root / "images")
    tax = dataset.taxonomy
    index = {c.id: k for k, c in enumerate(tax)}
    names = C.OutputNames()
    skipped = missing = 0
    for sample in C.samples(dataset, progress, f"writing {FORMAT}"):
        info = sample.image
        with C.located(image_id=info.id):
            name = names(info, ".txt")
            inst = C.label_of(sample, "instances", tax)
            lines = []
            for i in range(len(inst)):
                if inst.iscrowd[i] and crowd == "skip":
                    skipped += 1
                    continue
                cid = int(inst.category_ids[i])
                if cid not in index:
                    raise CategoryError(f"unknown category id {cid}", segment_id=int(inst.ids[i]))
                seg = inst.segmentations[i]
                single = M.segmentation_kind(seg) == "polygon" and len(seg) == 1
                poly = seg[0] if single else bridge(mask_to_polygons(inst.mask(i)))
                if not poly:
                    continue
                xy = np.asarray(poly, np.float64).reshape(-1, 2) / (info.width, info.height)
                lines.append(" ".join([str(index[cid])] + [repr(float(v)) for v in xy.ravel()]))
            with atomic_write(labels_dir / name, "w") as fh:
                fh.write("".join(line + "\n" for line in lines))
        source = dataset.image_path(info)
        if copy_images and source is not None and source.is_file():
            copy_file(source, image_dir / info.file_name)
        else:
            missing += 1
    C.write_categories(root / C.CATEGORIES_FILE, tax)
    with atomic_write(root / "data.yaml", "w") as fh:
        fh.write(_data_yaml(tax))
    if skipped:
        warnings.warn(f"{skipped} crowd regions left out (YOLO has no crowd flag; crowd='object' keeps them)",
                      stacklevel=2)
    if missing and copy_images:
        warnings.warn(f"{missing} images not found to copy into {image_dir}: YOLO readers need them",
                      stacklevel=2)


def _data_yaml(tax: Taxonomy) -> str:
    import json

    lines = ["# YOLO segmentation dataset written by panoptix", "train: images", "val: images",
             f"nc: {len(tax)}", "names:"]
    lines += [f"  {k}: {json.dumps(c.name)}" for k, c in enumerate(tax)]
    return "\n".join(lines) + "\n"
