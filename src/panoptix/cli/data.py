"""Dataset commands: ``convert``, ``info``, ``validate``."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer

from ..core.errors import PanoptixError
from .common import EXIT_BAD_INPUT, console, err_console, handle_errors, print_table, track


def _open(path: str, fmt: Optional[str], png_dir: Optional[str], images: Optional[str]):
    from ..io import read_dataset

    return read_dataset(path, fmt, png_dir=png_dir, images=images)


def convert(
    paths: List[str] = typer.Argument(..., help="SRC [SRC2] DST: one or two sources, then the destination (paths or fsspec URLs)."),
    to: str = typer.Option(..., "--to", help="coco-instances | coco-panoptic | semantic-png | cityscapes | labelme | yolo-seg"),
    src_format: Optional[str] = typer.Option(None, "--from", help="Source format (detected when omitted)."),
    png_dir: Optional[str] = typer.Option(None, help="COCO panoptic PNG folder of the source (default: JSON path without .json)."),
    images: Optional[str] = typer.Option(None, help="Folder of the image files, when not next to the labels."),
    score_threshold: float = typer.Option(0.5, help="Fusion: instances scoring below are skipped."),
    overlap_threshold: float = typer.Option(0.5, help="Fusion: instances whose pixels are already taken above this fraction are dropped."),
    stuff_area_limit: int = typer.Option(4096, help="Fusion: stuff regions smaller than this (pixels) are dropped."),
):
    """Convert a dataset between formats and between kinds.

    Examples:

      panoptix convert panoptic.json out/semantic --to semantic-png

      panoptix convert panoptic.json out/instances.json --to coco-instances

      panoptix convert instances.json semantic_pngs/ out/panoptic.json --to coco-panoptic
    """
    from ..io import write_dataset

    if len(paths) not in (2, 3):
        raise typer.BadParameter("give SRC DST, or SRC SRC2 DST")
    *sources, dst = paths
    datasets = [_open(src, src_format if i == 0 else None, png_dir if i == 0 else None, images)
                for i, src in enumerate(sources)]
    ds = datasets[0] if len(datasets) == 1 else _combine(*datasets)
    fuse_opts = dict(score_threshold=score_threshold, overlap_threshold=overlap_threshold,
                     stuff_area_limit=stuff_area_limit)
    write_dataset(ds, dst, to, progress=track, fuse_opts=fuse_opts)
    console.print(f"[green]wrote[/] {len(ds)} images as {to} to {dst}")


def _combine(first, second):
    """Pair two datasets image by image (by file name stem): e.g. instances + semantic PNGs."""
    from ..core.taxonomy import Taxonomy
    from ..io.dataset import Dataset

    by_stem = {Path(info.file_name).stem: info for info in second.images}
    missing = [i.file_name for i in first.images if Path(i.file_name).stem not in by_stem]
    if missing:
        raise PanoptixError(f"{len(missing)} images have no labels in {second.source}, e.g. {missing[0]}",
                            file=second.source)
    cats = {c.id: c for c in second.taxonomy}
    cats.update({c.id: c for c in first.taxonomy})  # the first source's records win (e.g. isthing)
    taxonomy = Taxonomy(sorted(cats.values(), key=lambda c: c.id), ignore_index=first.taxonomy.ignore_index)

    def load(info):
        a = first.load(info)
        b = second.load(by_stem[Path(info.file_name).stem])
        for kind in ("semantic", "instances", "panoptic"):
            if getattr(a, kind) is None and getattr(b, kind) is not None:
                setattr(a, kind, getattr(b, kind))
        return a

    return Dataset(taxonomy, first.images, load, image_root=first.image_root, source=first.source,
                   format=first.format)


def _problems(ds, sample) -> list[PanoptixError]:
    info, where = sample.image, dict(image_id=sample.image.id, file=ds.source or None)
    out: list[PanoptixError] = []
    for kind in sample.kinds:
        label = getattr(sample, kind)
        if tuple(label.shape) != (int(info.height), int(info.width)):
            out.append(PanoptixError(f"{kind} labels are {label.shape[0]}x{label.shape[1]}, the image record "
                                     f"says {info.height}x{info.width}", **where))
        out.extend(label.problems(ds.taxonomy, **where))
    return out


def info(
    dataset: str = typer.Argument(..., help="A COCO JSON file or a dataset folder (path or fsspec URL)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Format (detected when omitted)."),
    png_dir: Optional[str] = typer.Option(None, help="COCO panoptic PNG folder."),
    images: Optional[str] = typer.Option(None, help="Folder of the image files."),
    html: Optional[str] = typer.Option(None, help="Also write an HTML overview (histograms, contact sheet)."),
):
    """Images, sizes, classes with counts and areas per kind, thing/stuff, problems found.

    Example:  panoptix info panoptic.json
    """
    ds = _open(dataset, fmt, png_dir, images)
    counts: dict[tuple[str, int], int] = defaultdict(int)
    areas: dict[tuple[str, int], float] = defaultdict(float)
    sizes: dict[tuple[int, int], int] = defaultdict(int)
    problems: list[str] = []
    for info_ in track(ds.images, "reading", total=len(ds)):
        sizes[(int(info_.height), int(info_.width))] += 1
        try:
            sample = ds.load(info_)
        except PanoptixError as exc:
            problems.append(str(exc))
            continue
        problems += [str(p) for p in _problems(ds, sample)]
        if sample.panoptic is not None:
            for s in sample.panoptic.segments:
                counts[("panoptic", s.category_id)] += 1
                areas[("panoptic", s.category_id)] += s.area
        if sample.instances is not None:
            inst = sample.instances
            for c, a in zip(inst.category_ids.tolist(), inst.areas.tolist()):
                counts[("instances", c)] += 1
                areas[("instances", c)] += a
        if sample.semantic is not None:
            vals, n = np.unique(sample.semantic.labels, return_counts=True)
            for v, k in zip(vals.tolist(), n.tolist()):
                if v != sample.semantic.ignore_index:
                    counts[("semantic", v)] += 1
                    areas[("semantic", v)] += k
    kinds = sorted({k for k, _ in counts})
    console.print(f"[bold]{dataset}[/]  format [cyan]{ds.format}[/]  {len(ds)} images  "
                  f"{len(ds.taxonomy)} classes ({len(ds.taxonomy.thing_ids)} things, "
                  f"{len(ds.taxonomy.stuff_ids)} stuff)")
    size_text = ", ".join(f"{h}x{w} ({n})" for (h, w), n in sorted(sizes.items(), key=lambda kv: -kv[1])[:5])
    console.print(f"sizes (h x w): {size_text}{' ...' if len(sizes) > 5 else ''}")
    numbers = [c for k in kinds for c in (f"{k} {'images' if k == 'semantic' else 'objects'}", f"{k} mean area")]
    rows = []
    for cat in ds.taxonomy:
        row = [str(cat.id), cat.name, "thing" if cat.isthing else "stuff"]
        for k in kinds:
            n = counts.get((k, cat.id), 0)
            row += [str(n), f"{areas[(k, cat.id)] / n:,.0f}" if n else "-"]
        rows.append(row)
    print_table(["id", "name", "kind", *numbers], rows, right=["id", *numbers], title="classes")
    if problems:
        err_console.print(f"[yellow]{len(problems)} problems[/] (run `panoptix validate` for the list); first: "
                          f"{problems[0]}", highlight=False)
    else:
        console.print("[green]no problems found[/]")
    if html is not None:
        from ..viz.overview import write_overview

        write_overview(ds, html, images_dir=images)
        console.print(f"[green]wrote[/] {html}")


def validate(
    dataset: str = typer.Argument(..., help="A COCO JSON file or a dataset folder (path or fsspec URL)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Format (detected when omitted)."),
    png_dir: Optional[str] = typer.Option(None, help="COCO panoptic PNG folder."),
):
    """Check every invariant; one line per problem; exit code 2 when there is any.

    Example:  panoptix validate predictions.json --png-dir predictions/
    """
    ds = _open(dataset, fmt, png_dir, None)
    if len(ds) == 0:
        raise PanoptixError("the dataset has no images", file=ds.source or dataset)
    n_problems = 0
    ids_seen: set = set()
    for info_ in track(ds.images, "validating", total=len(ds)):
        found: list[PanoptixError] = []
        if info_.id in ids_seen:
            found.append(PanoptixError("duplicate image id", file=ds.source or None, image_id=info_.id))
        ids_seen.add(info_.id)
        try:
            found += _problems(ds, ds.load(info_))
        except PanoptixError as exc:
            found.append(exc)
        for p in found:
            err_console.print(f"[red]{p}[/]", highlight=False, soft_wrap=True)
        n_problems += len(found)
    if n_problems:
        err_console.print(f"[bold red]{n_problems} problems[/] in {len(ds)} images")
        raise typer.Exit(EXIT_BAD_INPUT)
    console.print(f"[green]valid[/]: {len(ds)} images, {len(ds.taxonomy)} classes, format {ds.format}")


def register(app: typer.Typer) -> None:
    app.command()(handle_errors(convert))
    app.command()(handle_errors(info))
    app.command()(handle_errors(validate))
