"""Pieces every format module shares: taxonomy lookup, kind conversion on write, output names,
COCO image records and ids, folder scans. Private to :mod:`panoptix.io`."""

from __future__ import annotations

import contextlib
import os
from pathlib import PurePosixPath
from typing import Callable, Iterable, Iterator

import numpy as np

from ..core.errors import FormatError, OutputError, PanoptixError, SizeMismatchError, ValidationError
from ..core.labels import Instances, PanopticMap, SemanticMap
from ..core.taxonomy import Category, Taxonomy, stable_color
from .dataset import Dataset, ImageInfo, Sample
from .files import IMAGE_SUFFIXES, RemotePath, as_path, read_json, walk_files, write_json

Progress = Callable[[Iterable, str, "int | None"], Iterable]

CATEGORIES_FILE = "categories.json"


# --------------------------------------------------------------------------- taxonomy
def resolve_taxonomy(taxonomy) -> Taxonomy | None:
    """``taxonomy=`` as users give it: a Taxonomy, a preset name, or a categories JSON file."""
    if taxonomy is None or isinstance(taxonomy, Taxonomy):
        return taxonomy
    from .taxonomies import PRESETS, preset

    if isinstance(taxonomy, str) and taxonomy in PRESETS:
        return preset(taxonomy)
    if isinstance(taxonomy, (str, os.PathLike, RemotePath)):
        return read_categories(taxonomy)
    raise TypeError(f"taxonomy must be a Taxonomy, a preset name or a JSON path, not {type(taxonomy).__name__}")


def read_categories(path) -> Taxonomy:
    """A COCO ``categories`` list, or any JSON object holding one under ``categories``."""
    data = read_json(path)
    if isinstance(data, dict):
        data = data.get("categories")
    try:
        return Taxonomy.from_coco(data)
    except PanoptixError as exc:
        raise exc.at(file=path) from None


def write_categories(path, taxonomy: Taxonomy) -> None:
    write_json(path, taxonomy.to_coco(), indent=True)


def coco_categories(taxonomy: Taxonomy) -> list[dict]:
    """COCO instances ``categories``: id, name, supercategory, plus ``isthing``/``color`` only where
    they differ from what a reader assumes (thing; the stable colour), so COCO files stay COCO."""
    out = []
    for c in taxonomy:
        rec = {"id": c.id, "name": c.name, "supercategory": c.supercategory}
        if not c.isthing:
            rec["isthing"] = 0
        if c.color != stable_color(c.id):
            rec["color"] = list(c.color)
        out.append(rec)
    return out


def taxonomy_by_names(names: Iterable[str], given: Taxonomy | None, *, file=None) -> Taxonomy:
    """The taxonomy for label names: ``given`` when it knows every name, else ids 1..N in order."""
    names = list(dict.fromkeys(names))
    if given is None:
        return Taxonomy([Category(i + 1, n) for i, n in enumerate(names)])
    for n in names:
        if n not in given:
            raise FormatError(f"label {n!r} is not in the taxonomy", file=file)
    return given


# --------------------------------------------------------------------------- kinds on write
def label_of(sample: Sample, kind: str, taxonomy: Taxonomy, **fuse_opts):
    """The sample's label of ``kind``, converted from the kind it has when it lacks that one
    (:func:`panoptix.convert.to_kind`, ``fuse_opts`` passed on); empty for an unlabeled image."""
    label = getattr(sample, kind)
    if label is not None:
        return label
    info = sample.image
    if not sample.kinds:  # an unlabeled image: empty labels of any kind
        if kind == "semantic":
            return SemanticMap(np.full((info.height, info.width), taxonomy.ignore_index, np.int64),
                               ignore_index=taxonomy.ignore_index)
        if kind == "instances":
            return Instances.empty(info.height, info.width)
        return PanopticMap(np.zeros((info.height, info.width), np.int64), [])
    try:
        from ..convert import to_kind
    except ImportError:
        raise PanoptixError(f"cannot make {kind} labels from {'/'.join(sample.kinds)}: "
                            "panoptix.convert is not available") from None
    return getattr(to_kind(sample, kind, taxonomy, **fuse_opts), kind)


def map_of(sample: Sample, kind: str, taxonomy: Taxonomy):
    """:func:`label_of` for the map kinds (``semantic``, ``panoptic``): SizeMismatchError when
    the map is not the image's size."""
    label = label_of(sample, kind, taxonomy)
    info = sample.image
    if label.shape != (info.height, info.width):
        raise SizeMismatchError(f"{kind} map is {label.shape[1]}x{label.shape[0]}, the image is "
                                f"{info.width}x{info.height}")
    return label


def check_categories(inst: Instances, taxonomy: Taxonomy) -> None:
    """CategoryError naming the annotation when an object's category is not in the taxonomy."""
    for cid, aid in zip(inst.category_ids.tolist(), inst.ids.tolist()):
        taxonomy.check(cid, segment_id=aid)


@contextlib.contextmanager
def located(*, file=None, image_id=None):
    """Fill in the file and image of any PanoptixError raised inside."""
    try:
        yield
    except PanoptixError as exc:
        raise exc.at(file=file, image_id=image_id) from None


def samples(dataset: Dataset, progress: Progress | None, description: str) -> Iterator[Sample]:
    """The dataset's samples one at a time, through the caller's progress bar."""
    if len(dataset) == 0:
        raise ValidationError("the dataset has no images: nothing to write", file=dataset.source or None)
    it: Iterable[Sample] = iter(dataset)
    if progress is not None:
        it = progress(it, description, len(dataset))
    yield from it


# --------------------------------------------------------------------------- output paths
def output_dir(path):
    """Create an output folder (and parents); OutputError naming it when that fails.

    On object stores (URLs) folders do not exist apart from their files: this only checks
    that the store answers (and makes the bucket when it is missing and may be made)."""
    path = as_path(path)
    if isinstance(path, RemotePath):
        try:
            path.mkdir(parents=True, exist_ok=True)  # OutputError naming the URL when refused
        except FileNotFoundError:
            raise OutputError("cannot write: no such bucket", file=path) from None
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", file=path) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("cannot write: the folder is not writable", file=path)
    return path


class OutputNames:
    """Relative output file names derived from image file names, checked to stay inside the output
    folder and to be unique (``a.jpg`` and ``a.png`` would both write ``a.png``)."""

    def __init__(self):
        self._seen: dict[str, object] = {}

    def __call__(self, info: ImageInfo, suffix: str, *, strip: str = "") -> str:
        rel = PurePosixPath(str(info.file_name).replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts or not rel.name:
            raise OutputError(f"image file name {info.file_name!r} would write outside the output folder",
                              image_id=info.id)
        stem = rel.stem[: -len(strip)] if strip and rel.stem.endswith(strip) else rel.stem
        name = str(rel.with_name(stem + suffix))
        if name in self._seen:
            raise ValidationError(f"images {self._seen[name]!r} and {info.id!r} would both write {name}",
                                  image_id=info.id)
        self._seen[name] = info.id
        return name


# --------------------------------------------------------------------------- COCO records
def coco_images(records, *, file) -> list[ImageInfo]:
    """COCO ``images`` -> ImageInfo list, every field checked (FormatError naming file and image)."""
    if not isinstance(records, list):
        raise FormatError("'images' must be a list", file=file)
    out, seen = [], set()
    for k, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise FormatError(f"images[{k}] must be an object, got {rec!r}"[:120], file=file)
        iid = rec.get("id")
        where = dict(file=file, image_id=iid)
        for name in ("id", "file_name", "height", "width"):
            if name not in rec:
                raise FormatError(f"image record has no {name!r} field", **where)
        if isinstance(iid, bool) or not isinstance(iid, (int, str)):
            raise FormatError(f"image id must be an integer or a string, got {iid!r}", **where)
        if iid in seen:
            raise FormatError("duplicate image id", **where)
        seen.add(iid)
        if not isinstance(rec["file_name"], str) or not rec["file_name"]:
            raise FormatError(f"image file_name must be a non-empty string, got {rec['file_name']!r}", **where)
        size = []
        for name in ("height", "width"):
            v = rec[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v <= 0:
                raise FormatError(f"image {name} must be a positive integer, got {v!r}", **where)
            size.append(int(v))
        extra = {key: v for key, v in rec.items() if key not in ("id", "file_name", "height", "width")}
        out.append(ImageInfo(iid, rec["file_name"], size[0], size[1], extra))
    return out


def coco_list(data: dict, key: str, *, file, required: bool = True) -> list:
    if key not in data:
        if required:
            raise FormatError(f"COCO JSON has no {key!r} field", file=file)
        return []
    value = data[key]
    if not isinstance(value, list):
        raise FormatError(f"{key!r} must be a list, got {type(value).__name__}", file=file)
    return value


class CocoImageIds:
    """Integer COCO image ids for a stream of images: integer ids kept, digit strings
    (``"000000142238"``) read as numbers, anything else or a repeated id numbered afresh."""

    def __init__(self):
        self._used: set[int] = set()
        self._next = 1

    def __call__(self, info: ImageInfo) -> int:
        iid = info.id
        if isinstance(iid, str) and iid.isdigit():
            iid = int(iid)
        if isinstance(iid, bool) or not isinstance(iid, (int, np.integer)) or int(iid) in self._used:
            while self._next in self._used:
                self._next += 1
            iid = self._next
        iid = int(iid)
        self._used.add(iid)
        return iid


def coco_meta(data: dict) -> dict:
    """Top-level COCO records other than the three lists (``info``, ``licenses``...)."""
    return {k: v for k, v in data.items() if k not in ("images", "annotations", "categories")}


def guess_image_root(json_path):
    """Where a COCO JSON's images usually are: ``val2017/`` beside it or one level up
    (``annotations/instances_val2017.json``), or ``images/<split>/``."""
    parent = json_path.parent
    split = json_path.stem.split("_", 1)[1] if "_" in json_path.stem else json_path.stem
    for cand in (parent / split, parent.parent / split, parent.parent / "images" / split, parent / "images",
                 parent.parent / "images"):
        if cand.is_dir():
            return cand
    return None


# --------------------------------------------------------------------------- folder scans
def list_files(root, suffixes: tuple[str, ...], *, endswith: str = "") -> list:
    """Files under ``root`` (recursive, sorted, hidden files skipped) with one of ``suffixes``
    (a local folder or a URL: :func:`panoptix.io.files.walk_files`)."""
    return [p for p in walk_files(root) if p.name.lower().endswith(suffixes) and p.name.endswith(endswith)]


def image_index(root) -> dict[str, str]:
    """``{relative stem: relative file name}`` of the images under ``root``."""
    if root is None or not root.is_dir():
        return {}
    out = {}
    for p in list_files(root, IMAGE_SUFFIXES):
        rel = p.relative_to(root).as_posix()
        out.setdefault(rel.rsplit(".", 1)[0], rel)
    return out


def relative_stem(path, root, strip: str = "") -> str:
    """``root/a/b_x.png`` -> ``a/b`` (with ``strip="_x"``)."""
    stem = path.relative_to(root).with_suffix("").as_posix()
    return stem[: -len(strip)] if strip and stem.endswith(strip) else stem


def no_data(path, what: str = "images/labels") -> FormatError:
    return FormatError(f"no {what} found", file=path)
