"""``panoptix predict``: run a model over images and write COCO / PNG predictions.

Output layout (``--out OUT``)::

    coco-panoptic   OUT/predictions.json + OUT/predictions/<stem>.png (RGB-encoded segment ids)
    coco-instances  OUT/predictions.json (COCO with scores) + OUT/results.json (detections list)
    semantic-png    OUT/predictions/<stem>.png (class ids) + OUT/predictions/categories.json
    all             OUT/.panoptix-predict/: run settings + one record per finished image

The index (``predictions.json``, ``results.json`` or ``categories.json``) is written last.

Each image's outputs are written atomically, its record last; a second run with the
same settings skips the images that have a record and rebuilds the index from all.
"""

from __future__ import annotations

import contextlib

import warnings
from pathlib import Path
from typing import List, Optional

import typer

from ..core.errors import OutputError, PanoptixError
from .common import console, err_console, handle_errors, track

FORMATS = {"coco-panoptic": "panoptic", "coco-instances": "instance", "semantic-png": "semantic"}
FORMAT_OF_TASK = {v: k for k, v in FORMATS.items()}
STATE_DIR = ".panoptix-predict"


def _gather(images: List[Path]) -> list[tuple[Path, str]]:
    """(path, name relative to its input) for every image, in a stable order."""
    from ..io.files import IMAGE_SUFFIXES

    out: list[tuple[Path, str]] = []
    for arg in images:
        if arg.is_dir():
            found = sorted(p for p in arg.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(arg).parts))
            out += [(p, p.relative_to(arg).as_posix()) for p in found]
        elif arg.is_file():
            out.append((arg, arg.name))
        else:
            raise PanoptixError("no such image file or folder", file=arg)
    if not out:
        raise PanoptixError(f"no images found in {', '.join(str(a) for a in images)} "
                            "(looked for .jpg .jpeg .png .bmp .tif .tiff .webp)")
    stems: dict[str, Path] = {}
    for path, name in out:
        stem = Path(name).with_suffix("").as_posix()
        if stem in stems:
            raise PanoptixError(f"two inputs would write the same prediction {stem}.png ({stems[stem]} and {path})",
                                file=path)
        stems[stem] = path
    return out


def _image_ids(items: list[tuple[Path, str]], ids_from: Optional[Path]) -> list:
    """COCO image ids: from a COCO JSON by file name, else numeric stems, else 1..N."""
    if ids_from is not None:
        from ..io.files import read_json

        data = read_json(ids_from)
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise PanoptixError("no 'images' list to take the image ids from", file=ids_from)
        by_name = {}
        for rec in data["images"]:
            try:
                by_name[Path(rec["file_name"]).name] = rec["id"]
            except (KeyError, TypeError):
                raise PanoptixError(f"image record without id/file_name: {str(rec)[:80]}", file=ids_from) from None
        ids = []
        for path, _ in items:
            if path.name not in by_name:
                raise PanoptixError(f"no image named {path.name} in {ids_from}", file=path)
            ids.append(by_name[path.name])
        return ids
    stems = [Path(name).stem for _, name in items]
    if all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems):
        return [int(s) for s in stems]
    return list(range(1, len(items) + 1))


def _settings(model: str, task: str, fmt: str, categories: Optional[Path], options: dict) -> dict:
    return {"model": model, "task": task, "format": fmt,
            "categories": None if categories is None else str(categories.resolve()),
            "options": {k: v for k, v in sorted(options.items())}}


def _check_resume(out: Path, settings: dict, overwrite: bool) -> None:
    from ..io.files import read_json, write_json

    state = out / STATE_DIR
    run_file = state / "run.json"
    if run_file.exists() and not overwrite:
        before = read_json(run_file)
        if before != settings:
            changed = [k for k in settings if before.get(k) != settings[k]]
            raise OutputError(f"{out} holds predictions made with other settings ({', '.join(changed)} differ): "
                              "use another --out, or --overwrite to redo every image", file=out)
    write_json(run_file, settings, indent=True)


def _write_one(out: Path, fmt: str, pred, kind: str, image_id, name: str, taxonomy) -> dict:
    """Write one image's outputs (atomically) and return its record."""
    from ..core.labels import id_to_rgb
    from ..io.files import write_json, write_png

    info = pred.image
    stem = Path(name).with_suffix("").as_posix()
    image = {"id": image_id, "file_name": name, "height": int(info.height), "width": int(info.width)}
    label = pred.get(kind)
    record: dict = {"image": image}
    if fmt == "coco-panoptic":
        png = f"{stem}.png"
        write_png(out / "predictions" / png, id_to_rgb(label.ids))
        record["annotation"] = {"image_id": image_id, "file_name": png, "segments_info": label.segments_info()}
    elif fmt == "coco-instances":
        anns = label.to_coco(image_id, keep_format=False) if len(label) else []
        for a in anns:
            a.pop("id", None)
            a.setdefault("score", 1.0)  # instances derived from semantic labels have no score: results need one
        record["annotations"] = anns
    else:
        top = max(int(label.labels.max()) if label.labels.size else 0, label.ignore_index)
        palette = taxonomy.color_lut(256) if top <= 255 else None
        write_png(out / "predictions" / f"{stem}.png", label.labels, palette=palette)
        record["png"] = f"{stem}.png"
        record["ignore_index"] = int(label.ignore_index)
    write_json(out / STATE_DIR / "records" / f"{stem}.json", record)
    return record


def _write_index(out: Path, fmt: str, records: list[dict], taxonomy, model: str) -> Path:
    from ..io.files import write_json

    info = {"description": f"panoptix predict --model {model}", "format": fmt}
    images = [r["image"] for r in records]
    categories = taxonomy.to_coco()
    index = out / "predictions.json"
    if fmt == "coco-panoptic":
        write_json(index, {"info": info, "images": images, "annotations": [r["annotation"] for r in records],
                           "categories": categories})
    elif fmt == "coco-instances":
        anns, results = [], []
        for r in records:
            for a in r["annotations"]:
                anns.append({"id": len(anns) + 1, **a})
                results.append({k: a[k] for k in ("image_id", "category_id", "segmentation", "bbox", "area", "score")
                                if k in a})
        write_json(out / "results.json", results)
        write_json(index, {"info": info, "images": images, "annotations": anns, "categories": categories})
    else:  # the semantic-png layout panoptix.io reads: PNGs + categories.json beside them
        index = out / "predictions" / "categories.json"
        write_json(index, categories, indent=True)
    return index


def predict(
    images: List[Path] = typer.Argument(..., help="Image files and/or folders (searched recursively)."),
    model: str = typer.Option(..., "--model", "-m", help="Model folder (with config.json) or hub name."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    task: Optional[str] = typer.Option(None, help="semantic | instance | panoptic (default: from --format, "
                                                  "else the model's)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="coco-panoptic | coco-instances | semantic-png "
                                                             "(default: from the task)."),
    batch_size: int = typer.Option(4, min=1, help="Images per forward pass."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N"),
    categories: Optional[Path] = typer.Option(None, help="COCO categories JSON: label names -> ids, thing/stuff."),
    ids_from: Optional[Path] = typer.Option(None, help="COCO JSON whose images give the image ids (by file name)."),
    classes: Optional[str] = typer.Option(None, help="Text-prompt models (CLIPSeg): class names, comma-separated."),
    threshold: Optional[float] = typer.Option(
        None, help="Minimum score: query score (universal models), probability (CLIPSeg)."),
    mask_threshold: Optional[float] = typer.Option(None, help="Universal models: mask probability threshold."),
    overlap_threshold: Optional[float] = typer.Option(
        None, help="Universal models (panoptic): fraction of a query's mask it must keep."),
    max_side: int = typer.Option(2048, help="Shrink larger images before inference (labels scaled back)."),
    overwrite: bool = typer.Option(False, help="Redo images already written by an earlier run."),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS",
                                       help="Predict on Dask: 'local:N' or a scheduler address (tcp://host:8786); "
                                            "the model is loaded once per worker, GPU workers used when present."),
):
    """Predict labels for images with a model and write them as COCO / PNG files.

    Examples:

      panoptix predict --model facebook/mask2former-swin-tiny-coco-panoptic val2017/ --out preds/

      panoptix predict -m ./my-segformer --task semantic photos/*.jpg --out sem/ --format semantic-png

    Resumable: run it again to finish an interrupted run (finished images are skipped).
    """
    from ..models import load
    from ..models.base import KIND_OF_TASK, ImageResizedWarning, normalize_task

    if fmt is not None and fmt not in FORMATS:
        raise PanoptixError(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if task is not None:
        task = normalize_task(task)
        if task == "all":
            raise PanoptixError("--task all cannot be written to one format; pick one task")
    if fmt is None and task is not None:
        fmt = FORMAT_OF_TASK[task]
    if out.exists() and not out.is_dir():
        raise OutputError("--out must be a folder", file=out)
    if dask:
        return _predict_on_dask(dask, model, images, out, task, fmt, batch_size, overwrite,
                                dict(device=device, categories=categories, max_side=max_side))
    items = _gather(images)
    ids = _image_ids(items, ids_from)
    if len(set(map(str, ids))) != len(ids):
        raise PanoptixError("two images get the same image id", file=ids_from)
    options = {k: v for k, v in dict(threshold=threshold, mask_threshold=mask_threshold,
                                     overlap_mask_area_threshold=overlap_threshold).items() if v is not None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extra = {} if classes is None else {"classes": [c.strip() for c in classes.split(",") if c.strip()]}
        seg = load(model, task=task, device=device, categories=categories, batch_size=batch_size, max_side=max_side,
                   **extra)
    _show(caught)
    ignored = [k for k in options if not hasattr(seg, k)]
    if ignored:
        err_console.print(f"[yellow]note:[/] {', '.join(ignored)} do not apply to {type(seg).__name__}; ignored",
                          highlight=False)
    for k, v in options.items():
        if hasattr(seg, k):
            setattr(seg, k, float(v))
    if fmt is None:
        fmt = FORMAT_OF_TASK[seg.default_task if seg.default_task in FORMAT_OF_TASK else "panoptic"]
    kind = KIND_OF_TASK[FORMATS[fmt]]
    model_task = FORMATS[fmt] if FORMATS[fmt] in seg.tasks else seg.default_task
    if model_task != FORMATS[fmt]:
        err_console.print(f"[yellow]note:[/] the model does {model_task} segmentation; {kind} labels are derived "
                          "from it (panoptix.convert)", highlight=False)
    _check_resume(out, _settings(model, model_task, fmt, categories, {**options, "max_side": max_side, **extra}),
                  overwrite)

    records_dir = out / STATE_DIR / "records"
    pending = []
    for (path, name), image_id in zip(items, ids):
        rec = records_dir / f"{Path(name).with_suffix('').as_posix()}.json"
        if overwrite or not rec.exists():
            pending.append((path, name, image_id))
    skipped = len(items) - len(pending)
    if skipped:
        err_console.print(f"resuming: {skipped} of {len(items)} images already done", highlight=False)

    resized: list[str] = []

    def flush(batch):
        with warnings.catch_warnings(record=True) as caught_:
            warnings.simplefilter("always")
            preds = seg.predict([p for p, _, _ in batch], task=model_task, batch_size=batch_size)
            for pred, (_, name, image_id) in zip(preds, batch):
                _write_one(out, fmt, pred, kind, image_id, name, seg.taxonomy)
                if pred.extra.get("resized_from"):
                    resized.append(name)
        _show([w for w in caught_ if not issubclass(w.category, ImageResizedWarning)])

    batch: list = []
    for item in track(pending, "predicting", total=len(pending)):
        batch.append(item)
        if len(batch) == batch_size:
            flush(batch)
            batch = []
    if batch:
        flush(batch)

    if resized:
        err_console.print(f"[yellow]note:[/] {len(resized)} images (e.g. {resized[0]}) are larger than --max-side "
                          f"{max_side}: predicted smaller, labels scaled back to the image size", highlight=False)

    from ..io.files import read_json

    records = [read_json(records_dir / f"{Path(name).with_suffix('').as_posix()}.json") for _, name in items]
    for rec, image_id in zip(records, ids):  # ids may come from a new --ids-from
        rec["image"]["id"] = image_id
        if "annotation" in rec:
            rec["annotation"]["image_id"] = image_id
        for a in rec.get("annotations", []):
            a["image_id"] = image_id
    index = _write_index(out, fmt, records, seg.taxonomy, model)
    console.print(f"[green]wrote[/] {len(pending)} images ({skipped} already done) as {fmt} to {index}",
                  highlight=False)


def _predict_on_dask(address, model, images, out, task, fmt, batch_size, overwrite, model_options) -> None:
    """The same outputs, written shard by shard by Dask workers (panoptix.distributed)."""
    from ..distributed import predict_distributed

    model_options = {k: v for k, v in model_options.items() if v is not None}
    with _progress_callback("predicting") as progress:
        report = predict_distributed(model, [str(p) for p in images], out, address=address, batch_size=batch_size,
                                     format=fmt, task=task, model_options=model_options, overwrite=overwrite,
                                     progress=progress)
    console.print(f"[green]wrote[/] {report.predicted} images ({report.skipped} already done) "
                  f"in {report.shards} shards to {out}", highlight=False)


@contextlib.contextmanager
def _progress_callback(description: str):
    """A (done, total) callback driving one progress bar."""
    state = {"task": None}
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as progress:
        def update(done: int, total: int) -> None:
            if state["task"] is None:
                state["task"] = progress.add_task(description, total=total)
            progress.update(state["task"], completed=done, total=total)

        yield update


def _show(caught) -> None:
    seen = set()
    for w in caught:
        msg = str(w.message)
        if msg not in seen:
            seen.add(msg)
            err_console.print(f"[yellow]warning:[/] {msg}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(handle_errors(predict))
