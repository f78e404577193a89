"""COCO panoptic: a JSON index (``images``, ``annotations`` with ``segments_info``, ``categories``
with ``isthing``) and one RGB PNG per image whose colour ``R + 256·G + 256²·B`` is the segment id.

The PNG folder is, as in panopticapi, the JSON's path without ``.json``
(``panoptic_val2017.json`` -> ``panoptic_val2017/``); ``png_dir=`` overrides it. PNGs are
decoded only when their sample is reached. A PNG that is missing, unreadable or of another
size than its image record, and a record with a missing or mistyped field, raise an error
naming the file and the image when the sample is loaded. Problems of content (segments in the
PNG but not in the JSON or the reverse, unknown categories, areas that differ) do not stop
reading: ``sample.panoptic.problems(taxonomy)`` and ``panoptix validate`` list them all, and
every writer refuses them. Segment ``area``/``bbox`` are kept as the JSON gives them.

Writing measures ``area`` and ``bbox`` of every segment on the map (segments without pixels
are dropped), writes each PNG atomically, and writes the JSON last, so a crash never leaves a
JSON that points to missing PNGs.
"""

from __future__ import annotations


import numpy as np

from ..core.errors import CategoryError, FormatError, PanoptixError, SizeMismatchError, ValidationError
from ..core.labels import PanopticMap, Segment
from ..core.taxonomy import VOID, Taxonomy
from . import _common as C
from .coco_instances import _dst_json, _json_path
from .dataset import Dataset, ImageInfo, Sample
from .files import as_path, image_size, read_json, read_png, write_json, write_png

__all__ = ["read", "write", "check_segments"]

FORMAT = "coco-panoptic"
KIND = "panoptic"
DEFAULT_NAME = "panoptic.json"
CATEGORIES_FILE = "panoptic_coco_categories.json"


def read(path, *, png_dir=None, images=None, taxonomy=None, _data=None) -> Dataset:
    """Read COCO panoptic ground truth or predictions.

    Parameters
    ----------
    path : path
        The JSON file (or a folder holding exactly one COCO JSON).
    png_dir : path, optional
        The PNG folder (default: the JSON's path without ``.json``).
    images : path, optional
        The folder of the image files (guessed when not given).
    taxonomy : Taxonomy, preset name or JSON path, optional
        Overrides the file's ``categories``; needed when the file has none and there is no
        ``panoptic_coco_categories.json`` beside it.
    """
    path = _json_path(as_path(path))
    data = read_json(path) if _data is None else _data
    if not isinstance(data, dict):
        raise FormatError("expected a COCO panoptic JSON object", file=path)
    png_root = as_path(png_dir) if png_dir is not None else path.with_suffix("")
    if "images" in data:
        infos = C.coco_images(C.coco_list(data, "images", file=path), file=path)
    else:  # prediction files (panopticapi's format) often list annotations only
        infos = _infos_from_pngs(C.coco_list(data, "annotations", file=path), png_root, file=path)
    tax = C.resolve_taxonomy(taxonomy)
    if tax is None:
        if "categories" in data:
            tax = Taxonomy.from_coco(C.coco_list(data, "categories", file=path))
        elif (path.parent / CATEGORIES_FILE).is_file():
            tax = C.read_categories(path.parent / CATEGORIES_FILE)
        else:
            raise FormatError("no 'categories' in the file: pass taxonomy=", file=path)
    known = {i.id for i in infos}
    records: dict = {}
    for k, ann in enumerate(C.coco_list(data, "annotations", file=path)):
        if not isinstance(ann, dict):
            raise FormatError(f"annotations[{k}] must be an object", file=path)
        iid = ann.get("image_id")
        for name, kind in (("image_id", (int, str)), ("file_name", str), ("segments_info", list)):
            if name not in ann:
                raise FormatError(f"annotation has no {name!r} field", file=path, image_id=iid)
            if isinstance(ann[name], bool) or not isinstance(ann[name], kind):
                raise FormatError(f"annotation {name} has the wrong type ({type(ann[name]).__name__})",
                                  file=path, image_id=iid)
        if iid not in known:
            raise FormatError("annotation refers to an image that is not in 'images'", file=path, image_id=iid)
        if iid in records:
            raise FormatError("two annotations for one image", file=path, image_id=iid)
        records[iid] = ann

    def load(info: ImageInfo) -> Sample:
        ann = records.get(info.id)
        if ann is None:  # an image without a panoptic record stays unlabeled
            return Sample(info)
        png = png_root / ann["file_name"]
        segments = [_segment(s, file=path, image_id=info.id) for s in ann["segments_info"]]
        rgb = read_png(png, mode="RGB")
        if rgb.shape[:2] != (info.height, info.width):
            raise SizeMismatchError(f"PNG is {rgb.shape[1]}x{rgb.shape[0]}, the image record says "
                                    f"{info.width}x{info.height}", file=png, image_id=info.id)
        return Sample(info, panoptic=PanopticMap.from_rgb(rgb, segments))

    root = as_path(images) if images is not None else C.guess_image_root(path)
    return Dataset(tax, infos, load, image_root=root, source=str(path), format=FORMAT, meta=C.coco_meta(data))


def _infos_from_pngs(annotations, png_root, *, file) -> list[ImageInfo]:
    """Image records for a file without ``images``: ids and PNG names from the annotations,
    sizes from the PNG headers."""
    infos = []
    for k, ann in enumerate(annotations):
        if not isinstance(ann, dict) or "image_id" not in ann or "file_name" not in ann:
            raise FormatError(f"annotations[{k}] needs 'image_id' and 'file_name'", file=file)
        height, width = image_size(png_root / ann["file_name"])
        infos.append(ImageInfo(ann["image_id"], ann["file_name"], height, width))
    return infos


def _segment(rec, *, file, image_id) -> Segment:
    try:
        return Segment.from_coco(rec, file=file, image_id=image_id)
    except PanoptixError:
        raise
    except (TypeError, ValueError) as exc:  # area or bbox of the wrong type
        raise FormatError(f"segment record is malformed: {exc}", file=file, image_id=image_id,
                          segment_id=rec.get("id") if isinstance(rec, dict) else None) from None


def check_segments(pan: PanopticMap, taxonomy: Taxonomy, *, file=None, image_id=None,
                   present: np.ndarray | None = None) -> None:
    """The checks panopticapi makes, cheaply (one ``np.unique``): every id in the map has a record
    and every record is in the map, no id twice, VOID never a segment, categories known."""
    where = dict(file=file, image_id=image_id)
    seen: set[int] = set()
    for s in pan.segments:
        if s.id in seen:
            raise ValidationError("duplicate segment id in the JSON", segment_id=s.id, **where)
        if s.id == VOID:
            raise ValidationError("segment id 0 is VOID and cannot be a segment", segment_id=0, **where)
        if s.category_id not in taxonomy:
            raise CategoryError(f"unknown category id {s.category_id}", segment_id=s.id, **where)
        seen.add(s.id)
    present = np.unique(pan.ids) if present is None else present
    for sid in present.tolist():
        if sid != VOID and sid not in seen:
            raise ValidationError("segment is in the PNG but not in the JSON", segment_id=sid, **where)
    missing = seen.difference(present.tolist())
    if missing:
        raise ValidationError("segment is in the JSON but not in the PNG", segment_id=min(missing), **where)


def write(dataset: Dataset, dst, *, png_dir=None, progress=None) -> None:
    """Write COCO panoptic: one PNG per image (named after the image, ``.png``) and the JSON.

    ``dst`` is the JSON file, or a folder to write ``panoptic.json`` (and ``panoptic/``) in.
    Samples without panoptic labels are converted (``panoptix.convert``).
    """
    dst = _dst_json(dst, DEFAULT_NAME)
    png_root = C.output_dir(as_path(png_dir) if png_dir is not None else dst.with_suffix(""))
    tax = dataset.taxonomy
    names = C.OutputNames()
    image_ids = C.CocoImageIds()
    images, annotations = [], []
    for sample in C.samples(dataset, progress, f"writing {FORMAT}"):
        info = sample.image
        with C.located(image_id=info.id):
            name = names(info, ".png")
            pan = C.map_of(sample, "panoptic", tax)
            present = np.unique(pan.ids)
            keep = set(present.tolist())
            pan = PanopticMap(pan.ids, [s for s in pan.segments if s.id in keep])
            check_segments(pan, tax, present=present)
            pan = pan.with_stats()
            write_png(png_root / name, pan.to_rgb())
        iid = image_ids(info)
        images.append({**info.to_coco(), "id": iid})
        annotations.append({"image_id": iid, "file_name": name, "segments_info": pan.segments_info()})
    write_json(dst, {**dataset.meta, "images": images, "annotations": annotations, "categories": tax.to_coco()})
