"""A one-page HTML overview of a dataset: class frequencies, object sizes, a contact sheet.

The page is a single self-contained file (inline CSS and JS, pictures embedded as
base64 PNG), so it can be mailed or attached to an issue as is.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.taxonomy import VOID
from ..io.dataset import Dataset, Sample
from ..io.files import atomic_write
from . import _html as H
from . import _plots as P
from .draw import draw_instances, draw_panoptic, draw_semantic

__all__ = ["write_overview", "dataset_stats"]

#: COCO's object size bounds (area in pixels): small < 32², medium < 96², large beyond.
SMALL, MEDIUM = 32 ** 2, 96 ** 2


def _label_kind(sample: Sample) -> str | None:
    for kind in ("panoptic", "instances", "semantic"):
        if getattr(sample, kind) is not None:
            return kind
    return None


def dataset_stats(dataset: Dataset, *, progress: Callable | None = None, on_sample: Callable | None = None) -> dict:
    """Counts over the whole dataset, one sample at a time.

    Returns a dict with ``images``, ``kinds`` (``{kind: images}``), ``unlabeled``
    (images without labels), ``objects`` / ``crowd`` / ``images_with`` / ``pixels``
    (each ``{category_id: n}``) and ``areas`` (pixel areas of every object and
    segment, VOID excluded). Objects are panoptic segments when the sample has a
    panoptic map, else instances; a semantic-only sample counts pixels.
    ``on_sample(index, sample)`` is called for each sample (the contact sheet uses it).

    Examples
    --------
    >>> from panoptix.core import Category, PanopticMap, Taxonomy
    >>> from panoptix.io.dataset import ImageInfo
    >>> tax = Taxonomy([Category(1, "cat"), Category(2, "sky", isthing=False)])
    >>> pan = PanopticMap.from_ids(np.array([[1, 1, 2], [0, 2, 2]]), {1: 1, 2: 2})
    >>> st = dataset_stats(Dataset.from_samples(tax, [Sample(ImageInfo(1, "a.png", 2, 3), panoptic=pan)]))
    >>> st["objects"], st["areas"]
    ({1: 1, 2: 1}, [2, 3])
    """
    objects, crowd, images_with, pixels = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    areas: list[int] = []
    unlabeled = 0
    it = iter(dataset) if progress is None else progress(iter(dataset), "reading", total=len(dataset))
    for index, sample in enumerate(it):
        if on_sample is not None:
            on_sample(index, sample)
        for k in sample.kinds:
            kinds[k] += 1
        kind = _label_kind(sample)
        seen: set[int] = set()
        if kind == "panoptic":
            pan = sample.panoptic
            measured = None
            for s in pan.segments:
                if s.id == VOID:
                    continue
                area = s.area
                if not area:  # area not recorded: measure it on the map
                    measured = pan.stats() if measured is None else measured
                    area = measured.get(s.id, (0, None))[0]
                if not area:
                    continue
                objects[s.category_id] += 1
                crowd[s.category_id] += int(s.iscrowd)
                seen.add(s.category_id)
                pixels[s.category_id] += int(area)
                areas.append(int(area))
        elif kind == "instances":
            inst = sample.instances
            for c, a, cr in zip(inst.category_ids.tolist(), inst.areas.tolist(), inst.iscrowd.tolist()):
                objects[c] += 1
                crowd[c] += int(cr)
                seen.add(c)
                pixels[c] += int(round(a))
                areas.append(int(round(a)))
        elif kind == "semantic":
            sem = sample.semantic
            cls, cnt = np.unique(sem.labels, return_counts=True)
            for c, n in zip(cls.tolist(), cnt.tolist()):
                if c != sem.ignore_index:
                    pixels[c] += n
                    seen.add(c)
        else:
            unlabeled += 1
        for c in seen:
            images_with[c] += 1
    return {"images": len(dataset), "kinds": dict(kinds), "unlabeled": unlabeled, "objects": dict(objects),
            "crowd": dict(crowd), "images_with": dict(images_with), "pixels": dict(pixels), "areas": areas}


def _overlay(sample: Sample, taxonomy, photo) -> np.ndarray:
    kind = _label_kind(sample)
    if kind == "panoptic":
        return draw_panoptic(photo, sample.panoptic, taxonomy, legend=False)
    if kind == "instances":
        return draw_instances(photo, sample.instances, taxonomy, labels=False)
    if kind == "semantic":
        return draw_semantic(photo, sample.semantic, taxonomy, legend=False)
    from .annotate import canvas

    return canvas(photo, (sample.image.height, sample.image.width))


def write_overview(dataset: Dataset, out_html, *, images_dir=None, max_samples: int = 12,
                   thumb_width: int = 360, progress: Callable | None = None) -> Path:
    """Write a self-contained HTML overview of ``dataset`` to ``out_html``.

    Parameters
    ----------
    dataset : Dataset
    out_html : path
        The page to write (atomically: a failure leaves no half-written file).
    images_dir : path, optional
        Folder of the photos, when they are not beside the labels; samples without a
        photo are drawn on grey.
    max_samples : int
        How many samples the contact sheet shows (spread evenly over the dataset).
    thumb_width : int
        Width of each contact-sheet picture, in pixels.
    progress : callable, optional
        ``progress(iterable, description, total=)`` wrapper, e.g. :func:`panoptix.cli.common.track`.

    Returns
    -------
    Path of the page.
    """
    from .show import load_image

    out_html = Path(out_html)
    _check_writable(out_html)  # fail before the (long) pass over the dataset
    n = len(dataset)
    picks = set(np.unique(np.linspace(0, n - 1, min(n, max(max_samples, 0))).round().astype(int)).tolist()) if n else set()
    thumbs: list[tuple[str, bytes]] = []
    tax = dataset.taxonomy

    def on_sample(index, sample):
        if index in picks:
            photo = load_image(dataset, sample.image, images_dir)
            pic = H.thumbnail(_overlay(sample, tax, photo), thumb_width)
            thumbs.append((f"{sample.image.file_name} (id {sample.image.id})", H.png_bytes(pic)))

    st = dataset_stats(dataset, progress=progress, on_sample=on_sample)
    html = _render(dataset, st, thumbs)
    with atomic_write(out_html, "wb") as fh:
        fh.write(html.encode("utf-8"))
    return out_html


def _check_writable(path: Path) -> None:
    from ..core.errors import OutputError

    if path.is_dir():
        raise OutputError("is a folder", file=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", file=path) from None


def _render(dataset: Dataset, st: dict, thumbs) -> str:
    tax = dataset.taxonomy
    name = Path(dataset.source).name if dataset.source else "dataset"
    ids = sorted(set(tax.ids) | set(st["objects"]) | set(st["pixels"]))
    n_obj = sum(st["objects"].values())
    cards = [("images", st["images"]), ("categories", len(tax)), ("things", len(tax.thing_ids)),
             ("stuff", len(tax.stuff_ids)), ("objects / segments", n_obj), ("crowd", sum(st["crowd"].values())),
             ("unlabeled images", st["unlabeled"])]
    body = [f"<h1>Dataset overview — {H.esc(name)}</h1>",
            f'<p class="meta">source <code>{H.esc(dataset.source or "in memory")}</code>'
            f'{" · format " + H.esc(dataset.format) if dataset.format else ""} · labels: '
            + (", ".join(f"{H.esc(k)} ({v} images)" for k, v in st["kinds"].items()) or "none") + "</p>",
            '<div class="cards">' + "".join(f'<div class="card"><div class="v">{H.fmt(v)}</div>'
                                            f'<div class="k">{H.esc(k)}</div></div>' for k, v in cards) + "</div>"]

    def cname(c):
        cat = tax.get(c)
        return cat.name if cat is not None else f"class {c}"

    def kind_of(c):
        cat = tax.get(c)
        return "?" if cat is None else ("thing" if cat.isthing else "stuff")

    body.append('<h2>Distributions</h2><div class="plots">')
    present = [c for c in ids if st["images_with"].get(c, 0)]
    if n_obj:
        png = P.bars([cname(c) for c in present], [st["objects"].get(c, 0) for c in present],
                     [tax.color(c) for c in present], title="objects / segments per class", xlabel="count")
    else:
        png = P.bars([cname(c) for c in present], [st["images_with"].get(c, 0) for c in present],
                     [tax.color(c) for c in present], title="images containing each class", xlabel="images")
    body.append(f'<figure><img alt="class frequency" src="{H.data_uri(png)}"><figcaption>Class frequency'
                "</figcaption></figure>")
    if st["areas"]:
        png = P.histogram(st["areas"], title="object / segment sizes", xlabel="area (pixels, log scale)",
                          log_x=True, vlines=[(SMALL, "32²"), (MEDIUM, "96²")])
        body.append(f'<figure><img alt="object sizes" src="{H.data_uri(png)}"><figcaption>Object sizes; '
                    "COCO calls objects below 32² pixels small and above 96² large.</figcaption></figure>")
    else:
        body.append('<p class="note">No objects: semantic labels only, so no object sizes.</p>')
    body.append("</div>")

    body.append("<h2>Samples</h2>")
    if thumbs:
        body.append('<div class="sheet">' + "".join(
            f'<figure><img alt="{H.esc(cap)}" src="{H.data_uri(png)}"><figcaption>{H.esc(cap)}</figcaption></figure>'
            for cap, png in thumbs) + "</div>")
    else:
        body.append('<p class="note">No samples.</p>')

    total_px = sum(st["pixels"].values()) or 1
    rows, cells = [], []
    for c in sorted(ids, key=lambda c: (-st["objects"].get(c, 0), -st["pixels"].get(c, 0), c)):
        obj, img, px_ = st["objects"].get(c, 0), st["images_with"].get(c, 0), st["pixels"].get(c, 0)
        rows.append([c, cname(c), kind_of(c), obj, st["crowd"].get(c, 0), img, px_ / total_px])
        cells.append([str(c), H.swatch(tax.color(c)) + H.esc(cname(c)), kind_of(c), H.fmt(obj),
                      H.fmt(st["crowd"].get(c, 0)), H.fmt(img), f"{100 * px_ / total_px:.2f}"])
    body.append("<h2>Classes</h2>")
    body.append(H.table(["id", "class", "kind", "objects / segments", "crowd", "images", "pixels %"], rows,
                        html_cells=cells, table_id="classes",
                        numeric=[True, False, False, True, True, True, True]))
    return H.page(f"Overview — {name}", "\n".join(body))
