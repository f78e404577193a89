"""COCO instances: ground truth (``images``, ``annotations``, ``categories``) and results lists.

Reading keeps every annotation as given: polygons stay polygons, uncompressed RLE stays
uncompressed, and ``area``, ``bbox``, ``iscrowd`` and ``id`` are carried verbatim, so
:func:`write` gives the same annotations back. Image records keep all their fields, and
top-level ``info``/``licenses`` travel in :attr:`Dataset.meta`. Fields of an annotation
other than the COCO ones (``attributes``...) are not kept.

A results list (detections with ``score``) is read against its ground truth with
:func:`read_results`, which takes image sizes and the taxonomy from it, and written by
:func:`write_results`. As in pycocotools' ``loadRes``, a result's ``area`` is the area of
its mask, not a field of the file.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from panoptix.core import Category, Instances, Taxonomy
>>> from panoptix.io.dataset import Dataset, ImageInfo, Sample
>>> m = np.zeros((1, 4, 4), bool); m[0, 1:3, 1:3] = True
>>> ds = Dataset.from_samples(Taxonomy([Category(1, "cell")]),
...                           [Sample(ImageInfo(1, "a.jpg", 4, 4), instances=Instances.from_masks(m, [1]))])
>>> path = os.path.join(tempfile.mkdtemp(), "instances.json")
>>> write(ds, path)
>>> back = read(path)
>>> next(iter(back)).instances.areas.tolist()
[4.0]
"""

from __future__ import annotations


from ..core import masks as M
from ..core.errors import FormatError, ValidationError
from ..core.labels import Instances
from ..core.taxonomy import Taxonomy
from . import _common as C
from .dataset import Dataset, ImageInfo, Sample
from .files import as_path, read_json, write_json

__all__ = ["read", "write", "read_results", "write_results"]

FORMAT = "coco-instances"
KIND = "instances"
DEFAULT_NAME = "instances.json"


def read(path, *, images=None, taxonomy=None, _data=None) -> Dataset:
    """Read a COCO instances JSON (annotations are grouped once; masks decode only when used).

    Parameters
    ----------
    path : path
        The JSON file (or a folder holding exactly one COCO JSON).
    images : path, optional
        The folder of the image files; guessed (``val2017/`` beside the JSON...) when not given.
    taxonomy : Taxonomy, preset name or JSON path, optional
        Overrides the file's ``categories``.
    """
    path = _json_path(as_path(path))
    data = read_json(path) if _data is None else _data
    if not isinstance(data, dict):
        raise FormatError("expected a COCO JSON object; a results list is read with read_results()", file=path)
    infos = C.coco_images(C.coco_list(data, "images", file=path), file=path)
    anns = C.coco_list(data, "annotations", file=path)
    tax = C.resolve_taxonomy(taxonomy) or Taxonomy.from_coco(C.coco_list(data, "categories", file=path))
    by_image = _group(anns, {i.id for i in infos}, file=path)
    return _dataset(tax, infos, by_image, path=path, images=images, meta=C.coco_meta(data), results=False)


def read_results(results_json, gt) -> Dataset:
    """Read a COCO results list (detections with ``score``) against its ground truth.

    Parameters
    ----------
    results_json : path or list
        The results file, or the list itself.
    gt : Dataset or path
        The ground truth (a Dataset or its COCO JSON): image sizes, ids and taxonomy.

    Every ground-truth image is a sample; images without detections get empty instances.
    """
    gt_ds = gt if isinstance(gt, Dataset) else read(gt)
    if isinstance(results_json, list):
        dets, file = results_json, None
    else:
        file = as_path(results_json)
        dets = read_json(file)
    if not isinstance(dets, list):
        raise FormatError("a COCO results file must be a list of detections", file=file)
    by_image = _group(dets, {i.id for i in gt_ds.images}, file=file, results=True)
    return _dataset(gt_ds.taxonomy, gt_ds.images, by_image, path=file, images=gt_ds.image_root,
                    meta={}, results=True)


def _group(anns: list, image_ids: set, *, file, results: bool = False) -> dict:
    by_image: dict = {i: [] for i in image_ids}
    for k, a in enumerate(anns):
        if not isinstance(a, dict):
            raise FormatError(f"annotations[{k}] must be an object, got {a!r}"[:120], file=file)
        aid = a.get("id", None if results else k)
        if "image_id" not in a:
            raise FormatError("annotation has no 'image_id' field", file=file, segment_id=aid)
        iid = a["image_id"]
        if not isinstance(iid, (int, str)) or iid not in by_image:
            where = "detection refers to an image that is not in the ground truth" if results else \
                "annotation refers to an image that is not in 'images'"
            raise FormatError(where, file=file, image_id=iid, segment_id=aid)
        if results:
            a = {key: v for key, v in a.items() if key != "area"}  # pycocotools: area of the mask
        by_image[iid].append(a)
    return by_image


def _dataset(tax: Taxonomy, infos: list[ImageInfo], by_image: dict, *, path, images, meta, results) -> Dataset:
    def load(info: ImageInfo) -> Sample:
        anns = by_image.get(info.id, [])
        if not anns:
            return Sample(info, instances=Instances.empty(info.height, info.width, with_scores=results))
        for k, a in enumerate(anns):
            aid = a.get("id", k + 1)
            try:
                M.segmentation_kind(a.get("segmentation"))
            except FormatError as exc:
                raise exc.at(file=path, image_id=info.id, segment_id=aid) from None
        inst = Instances.from_coco(anns, info.height, info.width, results=results, file=path, image_id=info.id)
        return Sample(info, instances=inst)

    root = as_path(images) if images is not None else (C.guess_image_root(path) if path is not None else None)
    return Dataset(tax, infos, load, image_root=root, source=str(path or ""), format=FORMAT, meta=meta)


def _json_path(path):
    if path.is_dir():
        found = [p for p in sorted(path.glob("*.json")) + sorted(path.glob("annotations/*.json"))
                 if p.name != C.CATEGORIES_FILE]
        if len(found) != 1:
            raise FormatError("expected one COCO JSON in the folder, found "
                              + (", ".join(p.name for p in found) or "none"), file=path)
        return found[0]
    return path


def _dst_json(dst, default_name: str):
    dst = as_path(dst)
    if dst.is_dir() or not dst.suffix:
        return C.output_dir(dst) / default_name
    C.output_dir(dst.parent)
    return dst


def write(dataset: Dataset, dst, *, progress=None) -> None:
    """Write COCO instances GT; samples without instances are converted (``panoptix.convert``).

    ``dst`` is the JSON file, or a folder to write ``instances.json`` in. Annotation ids are kept
    unless two images share one (then the later gets a fresh id); image ids that are not integers
    are numbered.
    """
    dst = _dst_json(dst, DEFAULT_NAME)
    tax = dataset.taxonomy
    image_ids = C.CocoImageIds()
    images, annotations = [], []
    used: set[int] = set()
    next_id = 1
    for sample in C.samples(dataset, progress, f"writing {FORMAT}"):
        info = sample.image
        with C.located(image_id=info.id):
            iid = image_ids(info)
            inst = C.label_of(sample, "instances", tax)
            C.check_categories(inst, tax)
            recs = inst.to_coco(iid)
        images.append({**info.to_coco(), "id": iid})
        for rec in recs:
            if rec["id"] in used:
                next_id = max(next_id, max(used) + 1)
                rec["id"] = next_id
            used.add(rec["id"])
            annotations.append(rec)
    write_json(dst, {**dataset.meta, "images": images, "annotations": annotations,
                     "categories": C.coco_categories(tax)})


def write_results(dataset: Dataset, dst, *, progress=None) -> None:
    """Write the COCO results list (``image_id, category_id, segmentation, score, area, bbox``)."""
    dst = _dst_json(dst, "results.json")
    image_ids = C.CocoImageIds()
    out = []
    for sample in C.samples(dataset, progress, "writing coco results"):
        info = sample.image
        with C.located(image_id=info.id):
            iid = image_ids(info)
            inst = C.label_of(sample, "instances", dataset.taxonomy)
            C.check_categories(inst, dataset.taxonomy)
            if inst.scores is None and len(inst):
                raise ValidationError("results need scores: these instances have none")
            out.extend(inst.to_coco(iid, results=True))
    write_json(dst, out)
