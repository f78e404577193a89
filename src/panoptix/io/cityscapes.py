"""Cityscapes ``gtFine``: ``*_gtFine_instanceIds.png``, ``*_labelIds.png``, ``*_labelTrainIds.png``
and ``*_gtFine_polygons.json``, under ``gtFine/<split>/<city>/``; images in ``leftImg8bit/``.

Samples carry ``panoptic`` labels built the way cityscapesScripts' ``createPanopticImgs`` builds
them, so a segment id *is* the ``instanceIds`` value: ``labelId`` for stuff and for things
without an instance id (those are crowd regions), ``labelId·1000 + k`` for thing instances;
``instanceIds`` 0 (``unlabeled``) is VOID. The taxonomy is the Cityscapes label table
(:data:`~panoptix.io.taxonomies.CITYSCAPES_LABELS`, ids = labelIds, things = ``hasInstances``).
By default all 34 labels are kept (lossless); ``evaluated_only=True`` makes the labels that
Cityscapes ignores in evaluation (ego vehicle, parking, caravan...) VOID and leaves them out of
the taxonomy, as the official panoptic ground truth does.

For each image the richest file present is read: ``instanceIds`` PNG, else polygons JSON
(objects drawn in order, later on top; ``*group`` labels are crowd; ``license plate`` and
deleted objects skipped, as ``json2instanceImg``), else ``labelIds`` PNG, else
``labelTrainIds`` PNG (as semantic labels over the train ids).

Writing gives the three PNGs per image. Segments keep their id when it already is a valid
``instanceIds`` value ``labelId·1000 + k`` for their class; other thing instances are numbered
``labelId·1000 + k`` (k from 0), crowd things and other stuff segments are written as their
``labelId`` (two stuff segments of one class become one). Thing categories must have
ids below 65 (the values are 16-bit). ``labelTrainIds`` uses the Cityscapes trainIds when the
taxonomy is Cityscapes' (matched by id and name), else the category's position in the
taxonomy; unlabeled and ignored pixels are 255. A taxonomy other than Cityscapes' is written to
``categories.json`` beside ``gtFine/`` and read back from there. Images whose file name is not
``<split>/<city>/<name>_leftImg8bit.png`` go to ``gtFine/<split>/<city>/`` with the
``split``/``city`` options (``train``/``default``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..core.errors import CategoryError, FormatError, OutputError, SizeMismatchError, ValidationError
from ..core.labels import PanopticMap, Segment, SemanticMap
from ..core.taxonomy import IGNORE_INDEX, VOID, Taxonomy
from . import _common as C
from .dataset import Dataset, ImageInfo, Sample
from .files import as_path, image_sizes, read_json, read_png, write_png
from .taxonomies import CITYSCAPES_LABELS, preset

__all__ = ["read", "write", "taxonomy", "instance_ids_to_panoptic", "draw_polygons"]

FORMAT = "cityscapes"
KIND = "panoptic"
SOURCES = ("_gtFine_instanceIds.png", "_gtFine_polygons.json", "_gtFine_labelIds.png", "_gtFine_labelTrainIds.png")
_BY_NAME = {lab.name: lab for lab in CITYSCAPES_LABELS}
_IMAGE_RE = re.compile(r"^(?P<split>[^/]+)/(?P<city>[^/]+)/(?P<name>[^/]+)_leftImg8bit\.[A-Za-z]+$")


def taxonomy(evaluated_only: bool = False) -> Taxonomy:
    """The Cityscapes label table as a taxonomy (ids = labelIds)."""
    return preset("cityscapes") if not evaluated_only else _evaluated()


def _evaluated() -> Taxonomy:
    tax = preset("cityscapes")
    return Taxonomy([c for c in tax if not _BY_NAME[c.name].ignore_in_eval])


# --------------------------------------------------------------------------- reading
def read(path, *, images=None, split: str | None = None, evaluated_only: bool = False) -> Dataset:
    """Read Cityscapes ground truth.

    Parameters
    ----------
    path : path
        The dataset root (holding ``gtFine/``), ``gtFine/`` itself, or any folder below it.
    images : path, optional
        The ``leftImg8bit`` folder (default: ``leftImg8bit/`` beside ``gtFine/``).
    split : str, optional
        Only this split (``train``, ``val``, ``test``).
    evaluated_only : bool
        Labels ignored in evaluation become VOID (the official panoptic ground truth).
    """
    root = as_path(path)
    if not root.is_dir():
        raise FormatError("expected the Cityscapes folder (with gtFine/)", file=root)
    gt = root / "gtFine" if (root / "gtFine").is_dir() else root
    if split:
        gt = gt / split
        if not gt.is_dir():
            raise FormatError(f"no split {split!r}", file=gt)
    gt_root = next((p for p in [gt, *gt.parents] if p.name == "gtFine"), gt)
    image_root = as_path(images) if images is not None else gt_root.parent / "leftImg8bit"

    found: dict[str, dict[str, Path]] = {}
    for p in C.list_files(gt, (".png", ".json")):
        for suffix in SOURCES:
            if p.name.endswith(suffix):
                found.setdefault(p.relative_to(gt_root).as_posix()[: -len(suffix)], {})[suffix] = p
                break
    if not found:
        raise C.no_data(root, "Cityscapes gtFine files")
    own = gt_root.parent / C.CATEGORIES_FILE  # written by panoptix for taxonomies other than Cityscapes'
    if own.is_file():
        tax, void = C.read_categories(own), frozenset()
    else:
        tax = _evaluated() if evaluated_only else preset("cityscapes")
        void = frozenset(lab.id for lab in CITYSCAPES_LABELS if lab.ignore_in_eval) if evaluated_only else frozenset()

    infos, sources = [], {}
    chosen = [(rel, next(s for s in SOURCES if s in files), files) for rel, files in sorted(found.items())]
    pngs = [files[suffix] for _, suffix, files in chosen if suffix.endswith(".png")]
    png_size = dict(zip(pngs, image_sizes(pngs)))  # headers fetched together on remote stores
    for rel, suffix, files in chosen:
        src = files[suffix]
        if suffix.endswith(".json"):
            data = read_json(src)
            try:
                h, w = int(data["imgHeight"]), int(data["imgWidth"])
            except (KeyError, TypeError, ValueError):
                raise FormatError("polygons JSON needs integer imgHeight and imgWidth", file=src) from None
        else:
            h, w = png_size[src]
        name = rel.rsplit("/", 1)[-1]
        infos.append(ImageInfo(name, rel + "_leftImg8bit.png", h, w))
        sources[name] = (suffix, src)
    if len(sources) != len(infos):
        raise FormatError("two cities hold an image of the same name", file=root)

    def load(info: ImageInfo) -> Sample:
        suffix, src = sources[info.id]
        if suffix == "_gtFine_labelTrainIds.png":
            labels = read_png(src).astype(np.int64)
            _check_size(labels, info, src)
            return Sample(info, semantic=SemanticMap(_train_to_label_ids(labels), IGNORE_INDEX))
        if suffix == "_gtFine_polygons.json":
            ids = draw_polygons(read_json(src), file=src)
        else:
            ids = read_png(src).astype(np.int64)
        _check_size(ids, info, src)
        return Sample(info, panoptic=instance_ids_to_panoptic(ids, tax, void=void))

    root_images = image_root if image_root.is_dir() else None
    return Dataset(tax, infos, load, image_root=root_images, source=str(root), format=FORMAT)


def _check_size(arr: np.ndarray, info: ImageInfo, file) -> None:
    if arr.shape != (info.height, info.width):
        raise SizeMismatchError(f"{arr.shape[1]}x{arr.shape[0]} where {info.width}x{info.height} was expected",
                                file=file, image_id=info.id)


def _train_to_label_ids(train: np.ndarray) -> np.ndarray:
    lut = np.full(256, IGNORE_INDEX, np.int64)
    for lab in CITYSCAPES_LABELS:
        if lab.train_id != 255:
            lut[lab.train_id] = lab.id
    return lut[np.clip(train, 0, 255)]


def instance_ids_to_panoptic(ids: np.ndarray, tax: Taxonomy, *, void=frozenset()) -> PanopticMap:
    """A Cityscapes ``instanceIds`` (or ``labelIds``) array -> PanopticMap whose segment ids are
    its values; pixels of the label ids in ``void`` become VOID."""
    ids = np.asarray(ids, np.int64)
    segments = []
    void_values = []
    for v in np.unique(ids).tolist():
        if v == VOID:
            continue
        label_id = v if v < 1000 else v // 1000
        if label_id in void:
            void_values.append(v)
            continue
        cat = tax.get(label_id)  # an unknown label id stays, for problems() to report
        segments.append(Segment(v, label_id, iscrowd=v < 1000 and cat is not None and cat.isthing))
    if void_values:
        ids = np.where(np.isin(ids, void_values), VOID, ids)
    return PanopticMap(ids, segments).with_stats()


def draw_polygons(data: dict, *, file=None) -> np.ndarray:
    """A ``*_gtFine_polygons.json`` -> ``instanceIds`` array, drawn as ``json2instanceImg`` does."""
    try:
        h, w = int(data["imgHeight"]), int(data["imgWidth"])
        objects = data["objects"]
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"not a Cityscapes polygons JSON (missing {exc})", file=file) from None
    img = Image.new("I", (w, h), 0)
    draw = ImageDraw.Draw(img)
    counts: dict[int, int] = {}
    for k, obj in enumerate(objects):
        if not isinstance(obj, dict) or "label" not in obj or "polygon" not in obj:
            raise FormatError(f"objects[{k}] needs 'label' and 'polygon'", file=file)
        if obj.get("deleted"):
            continue
        name = obj["label"]
        crowd = name not in _BY_NAME and name.endswith("group")
        lab = _BY_NAME.get(name[: -len("group")] if crowd else name)
        if lab is None:
            if name == "license plate":
                continue
            raise CategoryError(f"unknown Cityscapes label {name!r}", file=file, segment_id=k)
        if lab.has_instances and not crowd:
            value = lab.id * 1000 + counts.get(lab.id, 0)
            counts[lab.id] = counts.get(lab.id, 0) + 1
        else:
            value = lab.id
        try:
            points = [(float(x), float(y)) for x, y in obj["polygon"]]
        except (TypeError, ValueError):
            raise FormatError(f"objects[{k}] has a malformed polygon", file=file, segment_id=k) from None
        if len(points) >= 2:
            draw.polygon(points, fill=value, outline=value)
    return np.asarray(img, dtype=np.int64)


# --------------------------------------------------------------------------- writing
def write(dataset: Dataset, dst, *, split: str = "train", city: str = "default", progress=None) -> None:
    """Write ``gtFine/<split>/<city>/<name>_gtFine_{instanceIds,labelIds,labelTrainIds}.png``."""
    root = C.output_dir(as_path(dst) / "gtFine")
    tax = dataset.taxonomy
    for c in tax:
        if c.isthing and c.id * 1000 + 999 > 65535:
            raise OutputError(f"thing category {c.id} ({c.name}) is too large for Cityscapes instanceIds "
                              "(labelId·1000 + k must fit 16 bits)", file=dst)
    train_lut = _train_lut(tax)
    names = C.OutputNames()
    for sample in C.samples(dataset, progress, f"writing {FORMAT}"):
        info = sample.image
        with C.located(image_id=info.id):
            m = _IMAGE_RE.match(str(info.file_name).replace("\\", "/"))
            base = f"{m['split']}/{m['city']}/{m['name']}" if m else f"{split}/{city}/{Path(info.file_name).stem}"
            names(ImageInfo(info.id, base + ".png", info.height, info.width), "")
            pan = C.map_of(sample, "panoptic", tax)
            inst, label_ids = _encode(pan, tax)
            write_png(root / f"{base}_gtFine_instanceIds.png", inst.astype(np.uint16))
            write_png(root / f"{base}_gtFine_labelIds.png", label_ids.astype(np.uint8))
            write_png(root / f"{base}_gtFine_labelTrainIds.png", train_lut[label_ids].astype(np.uint8))
    if tax != preset("cityscapes"):
        C.write_categories(as_path(dst) / C.CATEGORIES_FILE, tax)


def _encode(pan: PanopticMap, tax: Taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """instanceIds and labelIds arrays of a panoptic map."""
    value_of: dict[int, int] = {}
    label_of: dict[int, int] = {}
    used: set[int] = set()
    pending = []
    for s in pan.segments:
        cat = tax.check(s.category_id, segment_id=s.id)
        if cat.id > 255:
            raise ValidationError(f"category id {cat.id} does not fit labelIds (8 bits)", segment_id=s.id)
        if cat.id == 0 and cat.name != "unlabeled":
            raise ValidationError(f"category 0 ({cat.name}) would read back as Cityscapes' unlabeled",
                                  segment_id=s.id)
        label_of[s.id] = cat.id
        if cat.isthing and s.iscrowd:
            value_of[s.id] = cat.id
        elif s.id >= 1000 and s.id // 1000 == cat.id and s.id not in used:  # already an instanceIds value
            value_of[s.id] = s.id
            used.add(s.id)
        elif cat.isthing:
            pending.append((s.id, cat.id))
        else:
            value_of[s.id] = cat.id
    for sid, cid in pending:
        k = 0
        while cid * 1000 + k in used:
            k += 1
        if k > 999:
            raise ValidationError(f"more than 1000 instances of category {cid}", segment_id=sid)
        value_of[sid] = cid * 1000 + k
        used.add(cid * 1000 + k)
    uniq, inverse = np.unique(pan.ids, return_inverse=True)
    inverse = inverse.reshape(pan.ids.shape)
    inst_lut = np.zeros(len(uniq), np.int64)
    label_lut = np.zeros(len(uniq), np.int64)
    for j, sid in enumerate(uniq.tolist()):
        if sid == VOID:
            continue
        if sid not in value_of:
            raise ValidationError("segment is in the map but has no record", segment_id=sid)
        inst_lut[j], label_lut[j] = value_of[sid], label_of[sid]
    return inst_lut[inverse], label_lut[inverse]


def _train_lut(tax: Taxonomy) -> np.ndarray:
    """labelId -> trainId: Cityscapes' own when the taxonomy is Cityscapes', else the position."""
    lut = np.full(256, 255, np.int64)
    cityscapes = all(c.name in _BY_NAME and _BY_NAME[c.name].id == c.id for c in tax)
    for pos, c in enumerate(tax):
        if c.id < 256:
            lut[c.id] = _BY_NAME[c.name].train_id if cityscapes else (pos if pos < 255 else 255)
    return lut
