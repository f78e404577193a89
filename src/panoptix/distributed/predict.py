"""Prediction on a Dask cluster: the model loaded once per worker, outputs written shard by shard.

:func:`predict_distributed` cuts the image list into shards; each shard is a task that
loads the model on first use in its worker process (a cache keyed by the model's name
or folder and options, so every later shard on that worker reuses it), predicts in
batches and writes every image's output atomically as soon as it is made. A run that
stops half-way (a lost worker, Ctrl-C, a full disk) is resumed by running it again:
images whose record exists are skipped. The index file is written last, by the client.

The output layout is ``panoptix predict``'s, written by the same functions, so a run on a
cluster and a run on one machine give the same files and can resume each other:

==================  ==========================================================================
format              files under ``out``
==================  ==========================================================================
``coco-panoptic``   ``predictions.json`` + ``predictions/<stem>.png`` (RGB-encoded segment ids)
``coco-instances``  ``predictions.json`` (COCO with scores) + ``results.json`` (detections list)
``semantic-png``    ``predictions/<stem>.png`` (class ids) + ``predictions/categories.json``
==================  ==========================================================================

``<stem>`` is the image's path relative to the input folder without its extension; one
record per finished image lives in ``out/.panoptix-predict/records/``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ..cli.predict import FORMATS, STATE_DIR, _check_resume, _settings, _write_index, _write_one
from ..core.errors import FormatError, OutputError, PanoptixError, ValidationError
from ..io.dataset import Dataset
from ..io.files import IMAGE_SUFFIXES, read_json
from .cluster import connect, gpu_resources

__all__ = ["predict_distributed", "PredictReport", "FORMATS", "plan_images"]

_FORMAT_OF_TASK = {v: k for k, v in FORMATS.items()}


@dataclass
class PredictReport:
    """What :func:`predict_distributed` did.

    Attributes
    ----------
    out : Path
        The output folder.
    format : str
    predicted : int
        Images predicted in this run.
    skipped : int
        Images whose outputs already existed (an earlier, interrupted run).
    shards : int
    index : Path or None
        The index file written last.
    """

    out: Path
    format: str
    predicted: int = 0
    skipped: int = 0
    shards: int = 0
    index: Path | None = None


@dataclass(frozen=True)
class _Item:
    image_id: int | str
    path: str
    name: str  # relative file name with extension (posix), as panoptix predict names it

    @property
    def stem(self) -> str:
        return str(PurePosixPath(self.name).with_suffix(""))


# --------------------------------------------------------------------------- planning
def plan_images(images) -> list[_Item]:
    """The images to predict, in a stable order, with their output names and COCO ids.

    ``images`` is a folder (searched recursively for image files), a list of image files
    and/or folders, or a :class:`~panoptix.io.dataset.Dataset` with an ``image_root``. Ids:
    the dataset's when given, the file stem when every stem is a number (COCO
    ``000000139.jpg`` -> 139), else the position in sorted order (from 1) — as
    ``panoptix predict`` numbers them.
    """
    if isinstance(images, Dataset):
        if images.image_root is None:
            raise FormatError("the dataset does not say where its images are (no image_root)",
                              file=images.source or None)
        items = []
        for info in images.images:
            rel = PurePosixPath(str(info.file_name).replace("\\", "/"))
            if rel.is_absolute() or ".." in rel.parts or not rel.name:
                raise OutputError(f"image file name {str(rel)!r} would write outside the output folder",
                                  image_id=info.id)
            items.append(_Item(info.id, str(images.image_root / rel), str(rel)))
        _check_unique(items)
        return items
    args = [images] if isinstance(images, (str, os.PathLike)) else list(images)
    found: list[tuple[Path, str]] = []
    for arg in map(Path, args):
        if arg.is_dir():
            paths = sorted(p for p in arg.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(arg).parts))
            found += [(p, p.relative_to(arg).as_posix()) for p in paths]
        elif arg.is_file():
            found.append((arg, arg.name))
        else:
            raise FormatError("no such image file or folder", file=arg)
    if not found:
        raise FormatError("no images found", file=args[0] if len(args) == 1 else None)
    stems = [PurePosixPath(name).stem for _, name in found]
    numeric = all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems)
    items = [_Item(int(stems[k]) if numeric else k + 1, str(p), name) for k, (p, name) in enumerate(found)]
    _check_unique(items)
    return items


def _check_unique(items: list[_Item]) -> None:
    seen: dict[str, object] = {}
    for it in items:
        if it.stem in seen:
            raise ValidationError(f"images {seen[it.stem]!r} and {it.image_id!r} would both write {it.stem}",
                                  image_id=it.image_id)
        seen[it.stem] = it.image_id


def _record(out: Path, item: _Item) -> Path:
    return out / STATE_DIR / "records" / f"{item.stem}.json"


# Worker-process model cache: one load per (model, options) per process.
_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
_KEEP_MODELS = 2


# --------------------------------------------------------------------------- worker side
@dataclass(frozen=True)
class _ModelRef:
    """How a worker gets the model: by name/path (loaded there) or a factory (called there)."""

    key: str
    spec: Any = None
    factory: Callable | None = None
    options: tuple = ()


def _get_model(ref: _ModelRef, scattered=None):
    if scattered is not None:
        return scattered
    with _MODELS_LOCK:  # one load per process even with several threads
        model = _MODELS.pop(ref.key, None)
        if model is None:
            if ref.factory is not None:
                model = ref.factory()
            else:
                from ..models import load

                model = load(ref.spec, **dict(ref.options))
            while len(_MODELS) >= _KEEP_MODELS:  # a long-lived worker keeps the latest few
                _MODELS.pop(next(iter(_MODELS)))
        _MODELS[ref.key] = model  # most recently used last
        return model


def _model_info(ref: _ModelRef, scattered=None) -> tuple:
    model = _get_model(ref, scattered)
    return tuple(getattr(model, "tasks", ())), getattr(model, "default_task", None), model.taxonomy


def _predict_shard(items: list[_Item], out: str, fmt: str, model_task: str | None, batch_size: int,
                   ref: _ModelRef, scattered=None) -> tuple[int, int]:
    """Predict the images of one shard that have no record yet; returns (done, skipped)."""
    from ..models.base import KIND_OF_TASK

    out_p = Path(out)
    todo = [it for it in items if not _record(out_p, it).is_file()]
    if not todo:
        return 0, len(items)
    model = _get_model(ref, scattered)
    kind = KIND_OF_TASK[FORMATS[fmt]]
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        preds = model.predict([it.path for it in batch], task=model_task)
        for it, pred in zip(batch, preds):
            try:
                _write_one(out_p, fmt, pred, kind, it.image_id, it.name, model.taxonomy)
            except PanoptixError as exc:
                raise exc.at(file=it.path, image_id=it.image_id) from None
    return len(todo), len(items) - len(todo)


# --------------------------------------------------------------------------- entry point
def _model_ref(model, options: dict) -> tuple[_ModelRef, Any]:
    """(reference, object to broadcast or None)."""
    from dask.base import tokenize

    if isinstance(model, (str, os.PathLike)):
        spec = str(model)
        folder = Path(spec)
        # A model folder saved again (new weights) is a new model: its files' times are in the key.
        stamp = max((f.stat().st_mtime_ns for f in folder.iterdir() if f.is_file()), default=0) \
            if folder.is_dir() else 0
        return _ModelRef(f"load:{spec}:{stamp}:{tokenize(sorted(options.items()))}", spec=spec,
                         options=tuple(sorted(options.items()))), None
    if hasattr(model, "predict") and hasattr(model, "taxonomy"):
        return _ModelRef(f"object:{tokenize(id(model))}"), model
    if callable(model):
        return _ModelRef(f"factory:{tokenize(model)}", factory=model), None
    raise ValidationError(f"model must be a name, a folder, a Segmenter or a factory, not {type(model).__name__}")


def predict_distributed(model, images, out, *, address="local:2", batch_size: int = 4, format: str | None = None,
                        task: str | None = None, shard_size: int | None = None, model_options: dict | None = None,
                        overwrite: bool = False, client=None,
                        progress: Callable[[int, int], None] | None = None) -> PredictReport:
    """Predict many images on a Dask cluster, in ``panoptix predict``'s output layout; resumable.

    Parameters
    ----------
    model : str, path, Segmenter or callable
        A model name or folder (``panoptix.models.load`` runs once in each worker process,
        which picks CUDA when it has a GPU), a :class:`~panoptix.models.Segmenter` object
        (sent once to each worker), or a no-argument factory returning one (called once
        per worker).
    images : folder, list of files/folders, or Dataset
        See :func:`plan_images`. Workers must see the same paths (a shared file system).
    out : path
        Output folder (created). Images whose record is there already are skipped.
    address : str
        ``"local:N"`` or a scheduler address, see :func:`~panoptix.distributed.cluster.connect`.
    batch_size : int
        Images per ``predict`` call on a worker.
    format : {"coco-panoptic", "coco-instances", "semantic-png"}, optional
        Default from ``task``, else from the model's default task.
    task : {"semantic", "instance", "panoptic"}, optional
        Default from ``format``. A kind the model does not make is derived from the kind it
        makes (:mod:`panoptix.convert`).
    shard_size : int, optional
        Images per Dask task (default ``4 * batch_size``): the unit of load balance.
    model_options : dict, optional
        Passed to ``panoptix.models.load`` (``device``, ``categories``, ``threshold``...) for a
        model given by name.
    overwrite : bool
        Redo every image, and accept an ``out`` written with other settings.
    client : distributed.Client, optional
        Use this client instead of ``address``.
    progress : callable(done, total), optional
        Called as shards finish, with the number of images done so far.

    Returns
    -------
    PredictReport

    Raises
    ------
    PanoptixError
        No images, an unknown format, a model that cannot be loaded, an ``out`` holding a
        run with other settings (as ``panoptix predict``), a worker's error (typed, naming the
        image).

    Examples
    --------
    A model folder on a running cluster whose workers see ``/data``::

        predict_distributed("/data/models/segformer", "/data/photos", "/data/out",
                            address="tcp://scheduler:8786", format="semantic-png")
    """
    from ..models.base import normalize_task

    if format is not None and format not in FORMATS:
        raise ValidationError(f"unknown prediction format {format!r}; expected one of {', '.join(FORMATS)}")
    if task is not None:
        task = normalize_task(task)
        if task == "all":
            raise ValidationError("task 'all' cannot be written to one format; pick one task")
        if format is not None and FORMATS[format] != task:
            raise ValidationError(f"format {format} holds {FORMATS[format]} labels, not {task}")
        format = format or _FORMAT_OF_TASK[task]
    if int(batch_size) < 1:
        raise ValidationError(f"batch_size must be at least 1, got {batch_size}")
    shard_size = int(shard_size or 4 * int(batch_size))
    if shard_size < 1:
        raise ValidationError(f"shard_size must be at least 1, got {shard_size}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError("the output must be a folder", file=out)
    items = plan_images(images)
    options = dict(model_options or {})
    ref, obj = _model_ref(model, options)
    shards = [items[i:i + shard_size] for i in range(0, len(items), shard_size)]
    report = PredictReport(out, format or "", shards=len(shards))
    with connect(client if client is not None else address) as cl:
        from distributed import as_completed

        resources = gpu_resources(cl)
        scattered = cl.scatter(obj, broadcast=True, hash=False) if obj is not None else None
        # One worker loads the model first: its tasks decide the format and the task it runs.
        tasks, default_task, taxonomy = cl.submit(_model_info, ref, scattered, resources=resources,
                                                  pure=False).result()
        if format is None:
            format = _FORMAT_OF_TASK[default_task if default_task in _FORMAT_OF_TASK else "panoptic"]
            report.format = format
        model_task = FORMATS[format] if FORMATS[format] in tasks else default_task
        if isinstance(model, (str, os.PathLike)):  # the same settings check as panoptix predict
            categories = options.get("categories")
            kept = {k: v for k, v in options.items() if k not in ("categories", "device", "batch_size")}
            _check_resume(out, _settings(str(model), model_task, format,
                                         None if categories is None else Path(categories), kept), overwrite)
        else:
            out.mkdir(parents=True, exist_ok=True)
        if overwrite:
            for it in items:
                _record(out, it).unlink(missing_ok=True)
        futures = [cl.submit(_predict_shard, s, str(out), format, model_task, int(batch_size), ref, scattered,
                             resources=resources, pure=False, key=f"panoptix-predict-{k}-{os.urandom(4).hex()}")
                   for k, s in enumerate(shards)]
        done_images = 0
        try:
            for fut in as_completed(futures):
                done, skipped = fut.result()
                report.predicted += done
                report.skipped += skipped
                done_images += done + skipped
                if progress is not None:
                    progress(done_images, len(items))
        except BaseException:
            cl.cancel(futures)  # shards not started yet stay undone; a rerun picks them up
            raise
    records = []
    for it in items:
        rec = read_json(_record(out, it))
        rec["image"]["id"] = it.image_id  # as panoptix predict: ids may differ from an earlier run's
        if "annotation" in rec:
            rec["annotation"]["image_id"] = it.image_id
        for a in rec.get("annotations", []):
            a["image_id"] = it.image_id
        records.append(rec)
    name = str(model) if isinstance(model, (str, os.PathLike)) else getattr(obj or model, "name", type(obj).__name__)
    report.index = _write_index(out, format, records, taxonomy, name)
    return report
