"""``panoptix eval instance|panoptic|semantic``: score predictions against ground truth.

Each command prints a summary table and a per-class table on stdout and, with
``--json OUT``, writes the documented JSON contract (fractions in [0, 1], ``null`` where
a value is undefined, per-class keys as strings). Bad input: one red line, exit code 2.
"""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .common import console, err_console, handle_errors, print_table

eval_app = typer.Typer(
    name="eval",
    help="Evaluate predictions: instance (COCO AP/AR), panoptic (PQ/SQ/RQ), semantic (mIoU, Dice...).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class IoUType(str, Enum):
    segm = "segm"
    bbox = "bbox"
    boundary = "boundary"


class Convention(str, Enum):
    mmseg = "mmseg"
    detectron2 = "detectron2"


JSON_HELP = "Write the numbers as JSON to this file (fractions in [0, 1], null where undefined)."
JOBS_HELP = "Parallel workers (default: all cores): processes for instance, threads for panoptic and semantic."
DASK_HELP = ("Run on Dask: 'local:N' (a local cluster of N processes) or a scheduler address such as "
             "tcp://scheduler:8786. Same numbers as a single-process run.")


@eval_app.command("instance")
def instance(
    gt: Path = typer.Argument(..., help="COCO instances ground truth (JSON)."),
    pred: Path = typer.Argument(..., help="COCO results list (JSON: image_id, category_id, score, segmentation/bbox)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help=JSON_HELP),
    iou_type: IoUType = typer.Option(IoUType.segm, "--iou-type", help="Mask IoU, box IoU or Boundary IoU."),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help=JOBS_HELP),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS", help=DASK_HELP),
):
    """COCO mask/box AP and AR, exactly as pycocotools' COCOeval.

    JSON keys: AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl, and per_class
    {category_id: {"AP"}}.

    Example:

      panoptix eval instance instances_val2017.json results.json --json scores.json
    """
    _instance(gt, pred, json_out, iou_type.value, jobs, dask)


@handle_errors
def _instance(gt, pred, json_out, iou_type, jobs, dask):
    from ..metrics.instance import SUMMARY_KEYS, evaluate_coco

    with _progress("instance") as cb:
        if dask:
            res = _distributed("instance", gt, pred, dask, cb, iou_type=iou_type)
        else:
            res = evaluate_coco(gt, pred, iou_type=iou_type, jobs=jobs, progress=cb)
    n = res.extra.get("num_images")
    _finish(res, json_out, SUMMARY_KEYS, f"COCO {iou_type} AP/AR" + (f" ({n} images)" if n is not None else ""),
            ["AP"])


@eval_app.command("panoptic")
def panoptic(
    gt: Path = typer.Argument(..., help="COCO panoptic ground truth (JSON with categories and isthing)."),
    pred: Path = typer.Argument(..., help="COCO panoptic predictions (JSON)."),
    gt_dir: Optional[Path] = typer.Option(None, "--gt-dir", help="Ground-truth PNG folder (default: GT path without .json)."),
    pred_dir: Optional[Path] = typer.Option(None, "--pred-dir", help="Prediction PNG folder (default: PRED path without .json)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help=JSON_HELP),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help=JOBS_HELP),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS", help=DASK_HELP),
):
    """Panoptic quality PQ = SQ x RQ for all, thing and stuff classes, exactly as panopticapi.

    JSON keys: PQ SQ RQ PQ_th SQ_th RQ_th PQ_st SQ_st RQ_st, and per_class
    {category_id: {"PQ", "SQ", "RQ"}} (null for a class neither annotated nor predicted).

    Example:

      panoptix eval panoptic panoptic_val2017.json predictions.json --json pq.json
    """
    _panoptic(gt, pred, gt_dir, pred_dir, json_out, jobs, dask)


@handle_errors
def _panoptic(gt, pred, gt_dir, pred_dir, json_out, jobs, dask):
    from ..metrics.panoptic import SUMMARY_KEYS, evaluate_panoptic_folder

    with _progress("panoptic") as cb:
        if dask:
            folders = {k: v for k, v in (("gt_folder", gt_dir), ("pred_folder", pred_dir)) if v is not None}
            res = _distributed("panoptic", gt, pred, dask, cb, **folders)
        else:
            res = evaluate_panoptic_folder(gt, pred, gt_dir, pred_dir, jobs=jobs, progress=cb)
    names = {k: v["name"] for k, v in res.extra["categories"].items()}
    kinds = {k: ("thing" if v["isthing"] else "stuff") for k, v in res.extra["categories"].items()}
    _finish(res, json_out, SUMMARY_KEYS, f"Panoptic quality ({res.extra['images']} images)", ["PQ", "SQ", "RQ"],
            names=names, kinds=kinds, counts=res.extra["counts"])


@eval_app.command("semantic")
def semantic(
    gt_dir: Path = typer.Argument(..., help="Folder of ground-truth label PNGs (searched recursively)."),
    pred_dir: Path = typer.Argument(..., help="Folder of predicted label PNGs, same relative file names."),
    num_classes: int = typer.Option(..., "--num-classes", min=1, help="Classes are 0 .. N-1."),
    ignore_index: int = typer.Option(255, "--ignore-index", help="Ground-truth value not evaluated; as a prediction: no prediction."),
    reduce_zero_label: bool = typer.Option(False, "--reduce-zero-label", help="mmseg's rule on the ground truth: 0 -> ignore, others -1."),
    convention: Convention = typer.Option(Convention.mmseg, "--convention", help="Which classes the means run over (see docs)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help=JSON_HELP),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help=JOBS_HELP),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS", help=DASK_HELP),
):
    """Semantic segmentation: mIoU, fwIoU, pixel accuracy, mean accuracy, mean Dice.

    mmseg convention: a class absent from both ground truth and prediction is left out of
    the means; detectron2 convention: the means run over the classes in the ground truth.
    JSON keys: mIoU fwIoU pAcc mAcc mDice, and per_class {class_index: {"IoU", "Acc", "Dice"}}.

    Example:

      panoptix eval semantic gtFine/val predictions/ --num-classes 19 --json miou.json
    """
    _semantic(gt_dir, pred_dir, num_classes, ignore_index, reduce_zero_label, convention.value, json_out, jobs,
              dask)


@handle_errors
def _semantic(gt_dir, pred_dir, num_classes, ignore_index, reduce_zero_label, convention, json_out, jobs, dask):
    from ..metrics.semantic import SUMMARY_KEYS, evaluate_semantic_folder

    opts = dict(ignore_index=ignore_index, reduce_zero_label=reduce_zero_label, convention=convention)
    with _progress("semantic") as cb:
        if dask:
            res = _distributed("semantic", gt_dir, pred_dir, dask, cb, num_classes=num_classes, **opts)
        else:
            res = evaluate_semantic_folder(gt_dir, pred_dir, num_classes, jobs=jobs, progress=cb, **opts)
    _finish(res, json_out, SUMMARY_KEYS, f"Semantic segmentation ({res.extra['images']} images, {convention})",
            ["IoU", "Acc", "Dice"])


def _distributed(task, gt, pred, address, progress, **opts):
    """The same evaluation sharded over a Dask cluster (panoptix.distributed)."""
    from ..distributed import evaluate_distributed

    return evaluate_distributed(task, gt, pred, address=address, progress=progress, **opts)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


# --------------------------------------------------------------------------- presentation
@contextlib.contextmanager
def _progress(description: str):
    """A progress bar on stderr (terminals only) fed by a ``(done, total)`` callback."""
    progress = Progress(TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err_console, transient=True,
                        disable=not sys.stderr.isatty())
    with progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _finish(res, json_out, keys, title, per_class_keys, *, names=None, kinds=None, counts=None) -> None:
    if json_out is not None:
        from ..io.files import write_json

        data = res.to_json()
        write_json(json_out, {**{k: data.get(k) for k in keys}, "per_class": data["per_class"]}, indent=True)
    console.print(f"[bold]{title}[/] (%)", highlight=False)
    print_table(list(keys), [[_pct(res.summary.get(k)) for k in keys]], right=keys)
    columns = ["id"] + (["name"] if names else []) + (["kind"] if kinds else []) + list(per_class_keys)
    if counts:
        columns += ["TP", "FP", "FN"]
    rows, hidden = [], 0
    for cid, vals in res.per_class.items():
        if all(vals.get(k) is None for k in per_class_keys):
            hidden += 1  # neither in the ground truth nor predicted: nothing to show
            continue
        row = [cid]
        if names:
            row.append(str(names.get(cid, "")))
        if kinds:
            row.append(kinds.get(cid, ""))
        row += [_pct(vals.get(k)) for k in per_class_keys]
        if counts:
            c = counts.get(cid, {})
            row += [str(c.get("tp", "")), str(c.get("fp", "")), str(c.get("fn", ""))]
        rows.append(row)
    caption = f"{hidden} classes without ground truth or prediction not shown (null in --json)" if hidden else None
    print_table(columns, rows, right=["id", *per_class_keys, "TP", "FP", "FN"], title="Per class (metrics in %)",
                caption=caption)
    if json_out is not None:
        console.print(f"wrote {json_out}", style="dim", highlight=False)


def _pct(v) -> str:
    if v is None:
        return "–"
    v = float(v)
    if v != v:  # NaN
        return "–"
    if v < 0:  # pycocotools' -1: nothing to evaluate
        return "-1"
    return f"{100 * v:.1f}"

