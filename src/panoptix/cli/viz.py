"""Picture commands: ``show``, ``report``, ``advise``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..core.errors import PanoptixError
from .common import console, fail, handle_errors, track

KINDS = ("semantic", "instance", "panoptic")


def show(
    dataset: Path = typer.Argument(..., help="Dataset file or folder (any format `panoptix convert` reads)."),
    image: str = typer.Option(..., "--image", help="Image id or file name (with or without folder/extension)."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    images: Optional[Path] = typer.Option(None, "--images", help="Folder of the photos, when not beside the labels."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Dataset format (detected when omitted)."),
    png_dir: Optional[Path] = typer.Option(None, "--png-dir", help="COCO panoptic PNG folder (default: JSON path without .json)."),
):
    """Draw one image with its semantic, instance and panoptic views side by side.

    Kinds the dataset does not have are derived from the ones it has (titles say
    "derived"). Without a photo the labels are drawn on grey.

    Example:

      panoptix show panoptic_examples.json --image 000000142238 --out view.png
    """
    _show(dataset, image, out, images, fmt, png_dir)


@handle_errors
def _show(dataset, image, out, images, fmt, png_dir):
    from ..io import read_dataset
    from ..io.files import write_png
    from ..viz.show import draw_sample, load_image

    ds = read_dataset(dataset, fmt, png_dir=png_dir, images=images)
    info = ds.find(image)
    sample = ds.load(info)
    photo = load_image(ds, info, images)
    try:
        pic = draw_sample(sample, ds.taxonomy, photo)
    except PanoptixError as exc:
        raise exc.at(file=str(dataset), image_id=info.id) from None
    write_png(out, pic)
    where = "" if photo is not None else " (no photo found: drawn on grey)"
    console.print(f"[green]wrote[/] {out}{where}", soft_wrap=True, highlight=False)


def report(
    kind: str = typer.Argument(..., help="semantic | instance | panoptic"),
    gt: Path = typer.Argument(..., help="Ground truth: COCO JSON (instance), COCO panoptic JSON, or a folder of label PNGs."),
    pred: Path = typer.Argument(..., help="Predictions: COCO results JSON, COCO panoptic JSON, or a folder of label PNGs."),
    out: Path = typer.Option(..., "--out", help="Folder to write index.html and its PNGs into."),
    images: Optional[Path] = typer.Option(None, "--images", help="Folder of the photos for the gallery."),
    gt_dir: Optional[Path] = typer.Option(None, "--gt-dir", help="Panoptic: ground-truth PNG folder (default: JSON path without .json)."),
    pred_dir: Optional[Path] = typer.Option(None, "--pred-dir", help="Panoptic: prediction PNG folder (default: JSON path without .json)."),
    num_classes: Optional[int] = typer.Option(None, "--num-classes", help="Semantic: classes are 0 .. N-1."),
    ignore_index: int = typer.Option(255, "--ignore-index", help="Semantic: ground-truth value not evaluated."),
    reduce_zero_label: bool = typer.Option(False, "--reduce-zero-label", help="Semantic: mmseg's rule, 0 -> ignore, others -1."),
    convention: str = typer.Option("mmseg", "--convention", help="Semantic: mmseg | detectron2 (which classes the means run over)."),
    class_names: Optional[str] = typer.Option(None, "--class-names", help="Semantic: comma-separated names of classes 0 .. N-1."),
    iou_type: str = typer.Option("segm", "--iou-type", help="Instance: segm | bbox | boundary."),
    worst: int = typer.Option(8, "--worst", help="How many of the worst images the gallery shows."),
    min_score: float = typer.Option(0.3, "--min-score", help="Instance: detections scored below are counted but not drawn."),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help="Processes for the evaluation (default: all cores)."),
):
    """Write an HTML report of an evaluation: numbers, sortable per-class table, plots, worst images.

    Examples:

      panoptix report instance gt.json pred.json --images val2017 --out report/

      panoptix report panoptic panoptic_val2017.json pred.json --out report/

      panoptix report semantic gt_pngs/ pred_pngs/ --num-classes 19 --out report/
    """
    _report(kind, gt, pred, out, images, gt_dir, pred_dir, num_classes, ignore_index, reduce_zero_label, convention,
            class_names, iou_type, worst, min_score, jobs)


@handle_errors
def _report(kind, gt, pred, out, images, gt_dir, pred_dir, num_classes, ignore_index, reduce_zero_label,
            convention, class_names, iou_type, worst, min_score, jobs):
    from ..viz.report import write_report

    if kind not in KINDS:
        fail(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "semantic" and num_classes is None:
        fail("semantic reports need --num-classes")
    names = None if class_names is None else [n.strip() for n in class_names.split(",")]
    try:
        index = write_report(kind, gt, pred, out, images_dir=images, gt_dir=gt_dir, pred_dir=pred_dir,
                             num_classes=num_classes, ignore_index=ignore_index,
                             reduce_zero_label=reduce_zero_label, convention=convention, class_names=names,
                             iou_type=iou_type, worst=worst, min_score=min_score, jobs=jobs, progress=track)
    except ValueError as exc:  # bad option values the evaluators refuse (num_classes, convention...)
        if isinstance(exc, PanoptixError):
            raise
        fail(str(exc))
    console.print(f"[green]wrote[/] {index}", soft_wrap=True, highlight=False)


def advise(
    every_pixel: Optional[bool] = typer.Option(None, "--every-pixel/--no-every-pixel",
                                               help="Every pixel needs a label (background included)."),
    separate_objects: Optional[bool] = typer.Option(None, "--separate-objects/--no-separate-objects",
                                                    help="Objects of one class must be told apart."),
    overlaps: Optional[bool] = typer.Option(None, "--overlaps/--no-overlaps",
                                            help="Objects may overlap, each with its whole shape."),
    scores: Optional[bool] = typer.Option(None, "--scores/--no-scores", help="Each object needs a confidence."),
    countable_and_background: Optional[bool] = typer.Option(
        None, "--countable-and-background/--no-countable-and-background",
        help="Classes mix countable things and amorphous background."),
    as_json: bool = typer.Option(False, "--json", help="Print the advice as JSON."),
):
    """Which technique? Recommends semantic, instance or panoptic segmentation.

    Asks the questions you did not answer with flags. Example:

      panoptix advise --every-pixel --separate-objects --no-overlaps --no-scores --countable-and-background
    """
    from ..viz.advise import QUESTIONS, advise as _advise

    answers = dict(every_pixel=every_pixel, separate_objects=separate_objects, overlaps=overlaps,
                   scores=scores, countable_and_background=countable_and_background)
    try:
        for name, question in QUESTIONS:
            if answers[name] is not None:
                continue
            if _moot(name, answers):
                answers[name] = False  # moot when objects are not told apart
                continue
            answers[name] = typer.confirm(question, default=False)
    except typer.Abort:
        flags = ", ".join(f"--{f}/--no-{f}" for f in (n.replace("_", "-") for n, v in answers.items()
                                                                          if v is None and not _moot(n, answers)))
        fail(f"no answer given; answer the questions or pass {flags}")
    adv = _advise(**answers)
    if as_json:
        typer.echo(json.dumps({"answers": answers, **adv.to_dict()}, indent=2))
        return
    console.print(f"\n[bold]Use {adv.kind} segmentation[/] — {adv.reason}.", highlight=False)
    console.print(f"[bold]Annotation:[/] {adv.annotation}", highlight=False)
    console.print(f"[bold]Metric:[/] {adv.metric}", highlight=False)
    for note in adv.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _moot(name: str, answers: dict) -> bool:
    """Overlaps and scores do not matter when objects are not told apart."""
    return name in ("overlaps", "scores") and answers["separate_objects"] is False


def register(app: typer.Typer) -> None:
    app.command("show")(show)
    app.command("report")(report)
    app.command("advise")(advise)
