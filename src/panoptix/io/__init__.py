"""Datasets in the usual formats, read as and written from the three label types.

One module per format, each with ``read(path, **opts) -> Dataset`` and
``write(dataset, dst, **opts)``:

==================  =====================================  ==========
format              module                                 samples
==================  =====================================  ==========
``coco-instances``  :mod:`panoptix.io.coco_instances`      instances
``coco-panoptic``   :mod:`panoptix.io.coco_panoptic`       panoptic
``semantic-png``    :mod:`panoptix.io.semantic_png`        semantic
``cityscapes``      :mod:`panoptix.io.cityscapes`          panoptic
``labelme``         :mod:`panoptix.io.labelme`             instances
``yolo-seg``        :mod:`panoptix.io.yolo`                instances
==================  =====================================  ==========

Readers parse the index (a JSON, a folder listing, image headers) once and decode label
files only when a sample is reached; writers take the samples one at a time and write every
file atomically, the index last. A writer given samples of another kind converts them with
:func:`panoptix.convert.to_kind`. Every path may also be an fsspec URL (``s3://``, ``gs://``,
``memory://``, ``file://``): see :mod:`panoptix.io.files`.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from panoptix.core import Category, PanopticMap, Taxonomy
>>> tax = Taxonomy([Category(1, "person"), Category(2, "sky", isthing=False)])
>>> pan = PanopticMap.from_ids(np.array([[1, 1, 2], [2, 2, 2]]), {1: 1, 2: 2})
>>> ds = Dataset.from_samples(tax, [Sample(ImageInfo(7, "a.jpg", 2, 3), panoptic=pan)])
>>> out = os.path.join(tempfile.mkdtemp(), "panoptic.json")
>>> write_dataset(ds, out, "coco-panoptic")
>>> detect_format(out)
'coco-panoptic'
>>> next(iter(read_dataset(out))).panoptic == pan
True
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
from ..core.errors import PanoptixError
from ._common import label_of
from .coco_instances import read_results, write_results
from .dataset import Dataset, ImageInfo, Sample
from .detect import detect as _detect
from .detect import detect_format
from .files import as_path

__all__ = ["FORMATS", "detect_format", "read_dataset", "write_dataset", "read_results", "write_results",
           "Dataset", "ImageInfo", "Sample"]

FORMATS = ("coco-instances", "coco-panoptic", "semantic-png", "cityscapes", "labelme", "yolo-seg")
_MODULES = {"coco-instances": "coco_instances", "coco-panoptic": "coco_panoptic", "semantic-png": "semantic_png",
            "cityscapes": "cityscapes", "labelme": "labelme", "yolo-seg": "yolo"}


def _module(format: str):
    if format not in _MODULES:
        raise PanoptixError(f"unknown format {format!r} (known: {', '.join(FORMATS)})")
    return importlib.import_module(f"{__name__}.{_MODULES[format]}")


def _call(fn, format: str, *args, **opts):
    """Call a reader/writer, turning an option it does not take into one clear error."""
    params = inspect.signature(fn).parameters
    for name in opts:
        if name not in params or name.startswith("_") and name != "_data":
            raise PanoptixError(f"{format} does not take the option {name!r}")
    return fn(*args, **opts)


def read_dataset(path, format: str | None = None, *, png_dir=None, images=None, taxonomy=None, **opts) -> Dataset:
    """Read a dataset, detecting its format when ``format`` is None.

    Parameters
    ----------
    path : path
        The file (COCO JSON) or folder.
    format : str, optional
        One of :data:`FORMATS`.
    png_dir : path, optional
        COCO panoptic: the PNG folder.
    images : path, optional
        The folder of the image files.
    taxonomy : Taxonomy, preset name or JSON path, optional
        Overrides or supplies the categories.
    **opts
        Format options (see each module).
    """
    data = None
    if format is None:
        format, path, data = _detect(path)
    module = _module(format)
    for name, value in (("png_dir", png_dir), ("images", images), ("taxonomy", taxonomy)):
        if value is not None:
            opts[name] = value
    if data is not None and format.startswith("coco-"):
        opts["_data"] = data
    return _call(module.read, format, as_path(path), **opts)


def write_dataset(dataset: Dataset, dst, format: str, *, progress=None, fuse_opts: dict | None = None,
                  **opts) -> None:
    """Write a dataset in ``format``; samples of another kind are converted.

    Parameters
    ----------
    progress : callable, optional
        ``callable(iterable, description, total) -> iterable`` wrapped around the samples
        (the CLI passes ``cli.common.track``).
    fuse_opts : dict, optional
        Options of :func:`panoptix.convert.to_kind` for the samples that need converting.
    **opts
        Format options (see each module).
    """
    module = _module(format)
    if fuse_opts:
        dataset = dataset.map(functools.partial(_with_kind, kind=module.KIND, taxonomy=dataset.taxonomy,
                                                fuse_opts=fuse_opts))
    _call(module.write, format, dataset, dst, progress=progress, **opts)


def _with_kind(sample: Sample, *, kind: str, taxonomy, fuse_opts: dict) -> Sample:
    return dataclasses.replace(sample, **{kind: label_of(sample, kind, taxonomy, **fuse_opts)})
