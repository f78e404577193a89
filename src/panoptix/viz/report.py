"""HTML evaluation reports: the numbers, a sortable per-class table, plots and the worst images.

:func:`write_report` evaluates a prediction with :mod:`panoptix.metrics` and writes
``DIR/index.html`` with everything it shows next to it:

* ``index.html`` — inline CSS and JS only (no network resource of any kind);
* ``metrics.json`` — the evaluation's ``--json`` contract;
* ``per_class.png`` and, by kind, ``pr_curves.png`` (instance), ``pq_sq_rq.png``
  (panoptic), ``confusion.png`` (semantic);
* ``gallery/*.png`` — the images with the lowest per-image score, each as ground
  truth | prediction | comparison (TP green, FP red, FN blue; semantic: right
  pixels green, wrong red).

Per-image scores: F1 at IoU 0.5 (instance: 2TP / (2TP + FP + FN), COCO matching),
the image's PQ, Σ IoU(TP) / (TP + FP/2 + FN/2) over all its segments (panoptic), mean
IoU over the classes in either map (semantic) — see :class:`~panoptix.viz.compare.Comparison`.
Instance and panoptic scores come from the evaluator's per-image records
(``extra["per_image"]``); semantic ones are computed with :func:`~panoptix.viz.compare`.

Files are written one by one atomically and ``index.html`` last, so an
``index.html`` never points at a picture that is not there.
"""

from __future__ import annotations

import heapq
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import OutputError, PanoptixError, ValidationError
from ..core.labels import Instances, PanopticMap, SemanticMap
from ..core.taxonomy import Category, Taxonomy
from ..io.dataset import Dataset, ImageInfo, Sample
from ..io.files import atomic_write, write_json
from ..metrics.base import EvalResult
from . import _html as H
from . import _plots as P
from . import annotate as A
from .compare import compare
from .draw import draw_comparison, draw_labels_of

__all__ = ["write_report", "render_report", "REPORT_KINDS"]

REPORT_KINDS = ("semantic", "instance", "panoptic")
_LABEL = {"semantic": "semantic", "instance": "instances", "panoptic": "panoptic"}
#: Summary key shown first and plotted per class, by kind.
_MAIN = {"instance": "AP", "panoptic": "PQ", "semantic": "IoU"}


# =========================================================================== entry point
def write_report(kind: str, gt, pred, out_dir, *, images_dir=None, gt_dir=None, pred_dir=None,
                 num_classes: int | None = None, ignore_index: int = 255, reduce_zero_label: bool = False,
                 convention: str = "mmseg", class_names=None, iou_type: str = "segm", worst: int = 8,
                 min_score: float = 0.3, jobs: int | None = None, progress: Callable | None = None) -> Path:
    """Evaluate ``pred`` against ``gt`` with :mod:`panoptix.metrics` and write an HTML report.

    Parameters
    ----------
    kind : {"semantic", "instance", "panoptic"}
    gt, pred : path
        As ``panoptix eval``: instance — a COCO ground-truth JSON and a COCO results
        JSON (:func:`~panoptix.metrics.evaluate_coco`); panoptic — two COCO panoptic
        JSONs, PNG folders beside them or ``gt_dir`` / ``pred_dir``
        (:func:`~panoptix.metrics.evaluate_panoptic_folder`); semantic — two folders of
        label PNGs paired by relative path (:func:`~panoptix.metrics.evaluate_semantic_folder`).
    out_dir : path
        Created if needed; ``index.html`` and its pictures go there.
    images_dir : path, optional
        The photos for the gallery (else looked for beside the ground truth; without
        photos the labels are drawn on grey).
    num_classes, ignore_index, reduce_zero_label, convention, class_names
        Semantic only, as :class:`~panoptix.metrics.SemanticEvaluator`; ``num_classes``
        is required there.
    iou_type : {"segm", "bbox", "boundary"}
        Instance only.
    worst : int
        How many images the gallery shows.
    min_score : float
        Instance only: detections scored below it are matched and counted but not drawn.
    jobs : int, optional
        Processes for the evaluation (default: all cores).
    progress : callable, optional
        ``progress(iterable, description, total=)`` wrapped around the pass over the images
        (per-image scores, when the evaluation has none), e.g. :func:`panoptix.cli.common.track`.

    Returns
    -------
    Path of ``index.html``.
    """
    if kind not in REPORT_KINDS:
        raise ValidationError(f"unknown kind {kind!r}; expected one of {', '.join(REPORT_KINDS)}")
    _check_out(out_dir)
    t0 = time.perf_counter()
    if kind == "instance":
        from ..io.coco_instances import read, read_results
        from ..metrics import evaluate_coco

        result = evaluate_coco(gt, pred, iou_type=iou_type, jobs=jobs)
        gt_ds = read(gt, images=images_dir)
        pred_ds = read_results(pred, gt_ds)
    elif kind == "panoptic":
        from ..io.coco_panoptic import read
        from ..metrics import evaluate_panoptic_folder

        result = evaluate_panoptic_folder(gt, pred, gt_dir, pred_dir, jobs=jobs)
        gt_ds = read(gt, png_dir=gt_dir, images=images_dir)
        pred_ds = _read_panoptic_predictions(pred, pred_dir, gt_ds)
    else:
        from ..metrics import evaluate_semantic_folder

        if num_classes is None:
            raise ValidationError("semantic reports need the number of classes (num_classes)")
        result = evaluate_semantic_folder(gt, pred, num_classes, ignore_index=ignore_index,
                                          reduce_zero_label=reduce_zero_label, convention=convention,
                                          class_names=class_names, jobs=jobs)
        gt_ds, pred_ds = semantic_folders(gt, pred, num_classes, ignore_index=ignore_index,
                                          reduce_zero_label=reduce_zero_label, class_names=class_names,
                                          images_dir=images_dir)
    sources = {"ground truth": str(gt), "prediction": str(pred)}
    return render_report(result, gt_ds, pred_ds, out_dir, images_dir=images_dir, worst=worst, min_score=min_score,
                         progress=progress, sources=sources, seconds=time.perf_counter() - t0)


def _read_panoptic_predictions(pred, pred_dir, gt_ds: Dataset) -> Dataset:
    """Panoptic predictions often carry only ``annotations`` (panopticapi needs no more):
    their images are then the ground truth's, their categories the ground truth's."""
    from ..io.coco_panoptic import read
    from ..io.files import read_json

    data = read_json(pred)
    if isinstance(data, dict) and "images" not in data and isinstance(data.get("annotations"), list):
        data = {**data, "images": [info.to_coco() for info in gt_ds.images]}
    return read(pred, png_dir=pred_dir, taxonomy=gt_ds.taxonomy, _data=data)


def semantic_folders(gt_dir, pred_dir, num_classes: int, *, ignore_index: int = 255,
                     reduce_zero_label: bool = False, class_names=None, images_dir=None
                     ) -> tuple[Dataset, Dataset]:
    """Two folders of label PNGs as datasets, read the way the semantic evaluator reads them:
    pixel values are class indices ``0 .. num_classes - 1`` (names from ``class_names``)."""
    from ..io.files import image_size, read_png
    from ..metrics.semantic import list_pairs

    names = list(class_names) if class_names is not None else [f"class {i}" for i in range(num_classes)]
    tax = Taxonomy([Category(i, n, isthing=False) for i, n in enumerate(names)], ignore_index=ignore_index)
    pairs = list_pairs(gt_dir, pred_dir)
    infos = []
    for name, g, _ in pairs:
        h, w = image_size(g)
        infos.append(ImageInfo(name, name, h, w))
    files = {name: (g, p) for name, g, p in pairs}

    def loader(which: int, reduce: bool):
        def load(info: ImageInfo) -> Sample:
            path = files[info.id][which]
            labels = read_png(path).astype(np.int64)
            if reduce:  # mmseg: 0 -> ignore, others -1
                labels = np.where(labels == 0, 255, np.where(labels == 255, 255, labels - 1))
            return Sample(info, semantic=SemanticMap(labels, ignore_index=ignore_index))
        return load

    kw = dict(image_root=images_dir, format="semantic-png")
    return (Dataset(tax, infos, loader(0, reduce_zero_label), source=str(gt_dir), **kw),
            Dataset(tax, infos, loader(1, False), source=str(pred_dir), **kw))


# =========================================================================== pairing
def _label(sample: Sample, kind: str, taxonomy: Taxonomy):
    attr = _LABEL[kind]
    if getattr(sample, attr) is None and sample.kinds:
        from ..convert import to_kind

        sample = to_kind(sample, attr, taxonomy)
    return getattr(sample, attr)


def _empty(kind: str, info: ImageInfo, like):
    h, w = like.shape if like is not None else (info.height, info.width)
    if kind == "instance":
        return Instances.empty(h, w, with_scores=True)
    if kind == "panoptic":
        return PanopticMap(np.zeros((h, w), np.int64), [])
    return SemanticMap(np.full((h, w), like.ignore_index if like is not None else 255, np.int64))


def _pred_info(pred_ds: Dataset, info: ImageInfo) -> ImageInfo | None:
    for key in (info.id, info.file_name, info.stem):
        try:
            return pred_ds.find(key)
        except PanoptixError:
            continue
    return None


def _pair(kind, gt_ds: Dataset, pred_ds: Dataset, info: ImageInfo):
    g = _label(gt_ds.load(info), kind, gt_ds.taxonomy)
    pinfo = _pred_info(pred_ds, info)
    p = _label(pred_ds.load(pinfo), kind, gt_ds.taxonomy) if pinfo is not None else None
    return g, (p if p is not None else _empty(kind, info, g))


def _image_scores(kind, result: EvalResult, gt_ds, pred_ds, progress) -> dict:
    """``{image_id: score}`` (NaN: nothing to score on that image).

    Taken from the evaluation's per-image records when it has them (instance: TP/FP/FN
    at IoU 0.5; panoptic: the image's PQ), else computed with :func:`compare`.
    """
    per_image = result.extra.get("per_image") if isinstance(result.extra, dict) else None
    if kind == "instance" and isinstance(per_image, dict) and {"image_id", "tp", "fp", "fn"} <= set(per_image):
        tp, fp, fn = (np.asarray(per_image[k], float) for k in ("tp", "fp", "fn"))
        denom = 2 * tp + fp + fn
        score = np.divide(2 * tp, denom, out=np.full(len(tp), np.nan), where=denom > 0)
        return dict(zip(per_image["image_id"], score.tolist()))
    if kind == "panoptic" and isinstance(per_image, list) and all("PQ" in r for r in per_image):
        return {r["image_id"]: (math.nan if r["PQ"] is None else float(r["PQ"])) for r in per_image}
    infos = gt_ds.images if progress is None else progress(gt_ds.images, "scoring images", total=len(gt_ds))
    scores = {}
    for info in infos:
        g, p = _pair(kind, gt_ds, pred_ds, info)
        scores[info.id] = compare(g, p, gt_ds.taxonomy).score
    return scores


# =========================================================================== rendering
def render_report(result: EvalResult, gt_ds: Dataset, pred_ds: Dataset, out_dir, *, images_dir=None,
                  worst: int = 8, min_score: float = 0.3, progress: Callable | None = None,
                  sources: dict | None = None, seconds: float | None = None) -> Path:
    """Write the report of an evaluation already computed (``result``) into ``out_dir``.

    ``gt_ds`` and ``pred_ds`` give the labels drawn in the gallery (images paired by
    id, then file name). Detections scored below ``min_score`` are matched and counted
    but not drawn, so that a model's 100 low-confidence guesses per image do not hide
    the picture. Returns the path of ``index.html``.
    """
    from .show import load_image

    kind = result.task
    if kind not in REPORT_KINDS:
        raise ValidationError(f"cannot report on task {kind!r}")
    out = _check_out(out_dir)
    tax = gt_ds.taxonomy
    write_json(out / "metrics.json", result.to_json(), indent=True)

    scores = _image_scores(kind, result, gt_ds, pred_ds, progress)
    ranked = [(s, str(i), i) for i, s in scores.items() if s is not None and not math.isnan(s)]
    chosen = heapq.nsmallest(max(int(worst), 0), ranked)
    gallery = []
    by_id = {info.id: info for info in gt_ds.images}
    for n, (score, _, image_id) in enumerate(chosen):
        info = by_id[image_id]
        g, p = _pair(kind, gt_ds, pred_ds, info)
        photo = load_image(gt_ds, info, images_dir)
        comp = compare(g, p, tax)
        shown = p
        if kind == "instance" and p.scores is not None and min_score is not None:
            shown = p[p.scores >= min_score]
        panels = [A.add_title(H.thumbnail(draw_labels_of(photo, g, tax), 480), "ground truth"),
                  A.add_title(H.thumbnail(draw_labels_of(photo, shown, tax), 480), "prediction"),
                  A.add_title(H.thumbnail(draw_comparison(photo, g, p, tax, comparison=comp, min_score=min_score),
                                          480), "comparison")]
        name = f"gallery/{n + 1:02d}_{_safe(info.stem)}.png"
        _write_png(out / name, A.hstack(panels))
        gallery.append((info, score, comp, name))

    # a previous report in the same folder may have had a longer gallery: drop its leftovers
    keep = {out / name for *_, name in gallery}
    for old in (out / "gallery").glob("[0-9][0-9]_*.png") if (out / "gallery").is_dir() else ():
        if old not in keep:
            old.unlink(missing_ok=True)
    plots = _plots(kind, result, tax)
    for name, _, png in plots:
        with atomic_write(out / name, "wb") as fh:
            fh.write(png)
    html = _page(kind, result, tax, plots, gallery, scores, sources or {}, seconds,
                 min_score if kind == "instance" else None)
    index = out / "index.html"
    with atomic_write(index, "wb") as fh:
        fh.write(html.encode("utf-8"))
    return index


def _check_out(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError("exists and is not a folder", file=out)
    return out


def _safe(stem: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
    return keep[-60:] or "image"


def _write_png(path: Path, image: np.ndarray) -> None:
    data = H.png_bytes(image)
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def _cname(tax: Taxonomy, cid) -> str:
    cat = tax.get(int(cid)) if str(cid).lstrip("-").isdigit() else None
    return cat.name if cat is not None else f"class {cid}"


def _per_class(result: EvalResult) -> dict[str, dict]:
    """The evaluation's per-class numbers, plus what ``extra`` adds per class: instance AP50,
    AP75 and AR100 from the precision / recall arrays; panoptic TP, FP, FN counts."""
    table = {str(c): dict(d) for c, d in result.per_class.items()}
    ex = result.extra if isinstance(result.extra, dict) else {}
    if result.task == "instance" and ex.get("precision") is not None and ex.get("category_ids") is not None:
        prec, rec = np.asarray(ex["precision"]), np.asarray(ex.get("recall"))
        thr = np.asarray(ex.get("iou_thresholds", []), float)

        def mean(a):
            a = a[a > -1]
            return float(a.mean()) if a.size else None

        for k, cid in enumerate(ex["category_ids"]):
            row = table.setdefault(str(cid), {})
            for name, t in (("AP50", 0.5), ("AP75", 0.75)):
                hit = np.flatnonzero(np.isclose(thr, t))
                if prec.ndim == 5 and hit.size:
                    row[name] = mean(prec[hit[0], :, k, 0, -1])
            if rec.ndim == 4:
                row["AR100"] = mean(rec[:, k, 0, -1])
    if result.task == "panoptic" and isinstance(ex.get("counts"), dict):
        for cid, cnt in ex["counts"].items():
            if str(cid) in table and isinstance(cnt, dict):
                for name in ("tp", "fp", "fn"):
                    if name in cnt:
                        table[str(cid)][name.upper()] = int(cnt[name])
    return table


def _class_rows(result: EvalResult, tax: Taxonomy):
    table = _per_class(result)
    metrics: list[str] = []
    for d in table.values():
        for k in d:
            if k not in metrics:
                metrics.append(k)
    return table, metrics


def _is_fraction_column(values) -> bool:
    vals = [v for v in values if v is not None]
    if not vals:
        return True
    return all(isinstance(v, (float, np.floating)) and -1.0 <= float(v) <= 1.0 for v in vals)


def _plots(kind: str, result: EvalResult, tax: Taxonomy) -> list[tuple[str, str, bytes]]:
    """``(file name, caption, png)`` for every plot of this kind."""
    out = []
    table, metrics = _class_rows(result, tax)
    ids = list(table)
    main = _MAIN[kind] if _MAIN[kind] in metrics else (metrics[0] if metrics else None)
    if main is not None and ids:
        vals = [table[c].get(main) for c in ids]
        out.append(("per_class.png", f"{main} per class",
                    P.bars([_cname(tax, c) for c in ids], vals, [tax.color(int(c)) for c in ids],
                           title=f"{main} per class", xlabel=main, percent=True)))
    ex = result.extra if isinstance(result.extra, dict) else {}
    if kind == "instance" and ex.get("precision") is not None:
        prec = np.asarray(ex["precision"])
        if prec.ndim == 5 and prec.size:
            thr = ex.get("iou_thresholds", np.linspace(0.5, 0.95, prec.shape[0]))
            rec = ex.get("recall_thresholds", np.linspace(0, 1, prec.shape[1]))
            out.append(("pr_curves.png", "precision–recall per IoU threshold (all areas, 100 detections), "
                        "mean over classes", P.pr_curves(prec, list(thr), list(rec))))
    if kind == "panoptic" and ids and {"PQ", "SQ", "RQ"} <= set(metrics):
        series = {k: [table[c].get(k) for c in ids] for k in ("PQ", "SQ", "RQ")}
        out.append(("pq_sq_rq.png", "PQ = SQ × RQ per class",
                    P.grouped_bars([_cname(tax, c) for c in ids], series, title="PQ, SQ, RQ per class",
                                   sort_by="PQ")))
    conf = ex.get("confusion")
    if kind == "semantic" and conf is not None:
        conf = np.asarray(conf)
        cids = ex.get("class_ids") or ex.get("category_ids") or [int(c) for c in ids]
        if conf.ndim == 2 and conf.shape[0] == conf.shape[1] == len(cids):
            out.append(("confusion.png", "confusion matrix, each ground-truth row normalised to 1",
                        P.confusion(conf, [_cname(tax, c) for c in cids])))
    return out


def _summary_cards(kind: str, result: EvalResult) -> str:
    items = list(result.summary.items())
    main = _MAIN[kind]
    items.sort(key=lambda kv: kv[0] != ("mIoU" if kind == "semantic" else main))
    cards = []
    for k, v in items:
        f = None if v is None else float(v)
        shown = "–" if f is None or math.isnan(f) or f < 0 else (f"{100 * f:.1f}" if abs(f) <= 1 else H.fmt(f))
        cards.append(f'<div class="card"><div class="v">{shown}</div><div class="k">{H.esc(k)}</div></div>')
    return '<div class="cards" id="summary">' + "".join(cards) + "</div>"


def _page(kind, result: EvalResult, tax: Taxonomy, plots, gallery, scores: dict, sources: dict, seconds,
          min_score=None) -> str:
    n_scored = sum(1 for s in scores.values() if s is not None and not math.isnan(s))
    meta = " · ".join(f"{H.esc(k)} <code>{H.esc(v)}</code>" for k, v in sources.items())
    body = [f"<h1>panoptix report — {H.esc(kind)} segmentation</h1>",
            f'<p class="meta">{meta}{" · " if meta else ""}{len(scores)} images'
            + (f" · {seconds:.1f} s" if seconds is not None else "") + "</p>",
            "<h2>Summary</h2>", _summary_cards(kind, result),
            '<p class="note">Numbers in percent.</p>']

    table, metrics = _class_rows(result, tax)
    ids = list(table)
    if ids:
        cols = {m: [table[c].get(m) for c in ids] for m in metrics}
        frac = {m: _is_fraction_column(cols[m]) for m in metrics}
        rows, cells = [], []
        main = _MAIN[kind] if _MAIN[kind] in metrics else (metrics[0] if metrics else None)
        order = sorted(range(len(ids)), key=lambda i: _sort_desc(table[ids[i]].get(main)))
        for i in order:
            c = ids[i]
            cat = tax.get(int(c)) if str(c).lstrip("-").isdigit() else None
            kind_txt = "?" if cat is None else ("thing" if cat.isthing else "stuff")
            vals = [table[c].get(m) for m in metrics]
            rows.append([_num(c), _cname(tax, c), kind_txt] + [None if v is None else float(v) for v in vals])
            color = tax.color(int(c)) if str(c).lstrip("-").isdigit() else (128, 128, 128)
            cells.append([H.esc(c), H.swatch(color) + H.esc(_cname(tax, c)), kind_txt]
                         + [H.fmt(v, percent=frac[m]) for m, v in zip(metrics, vals)])
        headers = ["id", "class", "kind"] + [m + (" %" if frac[m] else "") for m in metrics]
        body.append("<h2>Per class</h2><p class=\"note\">Click a column header to sort.</p>")
        body.append(H.table(headers, rows, html_cells=cells, table_id="per-class",
                            numeric=[True, False, False] + [True] * len(metrics)))

    if plots:
        body.append('<h2>Plots</h2><div class="plots">')
        for name, caption, _ in plots:
            body.append(f'<figure><img alt="{H.esc(caption)}" src="{H.esc(name)}">'
                        f"<figcaption>{H.esc(caption)}</figcaption></figure>")
        body.append("</div>")

    body.append(f"<h2>Worst images</h2><p class=\"note\">The {len(gallery)} lowest of {n_scored} per-image "
                f"scores ({_SCORE_NAME[kind]}). Left to right: ground truth, prediction, comparison "
                f"({_COMPARISON_NAME[kind]})."
                + (f" Detections scored below {min_score:g} are counted but not drawn." if min_score else "")
                + "</p>")
    if gallery:
        body.append('<div class="gallery">')
        for info, score, comp, name in gallery:
            counts = ", ".join(f"{k} {v}" for k, v in comp.counts.items())
            cap = f"{info.file_name} (id {info.id}) — score {100 * score:.1f} — {counts}"
            body.append(f'<figure><img alt="{H.esc(info.file_name)}" src="{H.esc(name)}">'
                        f"<figcaption>{H.esc(cap)}</figcaption></figure>")
        body.append("</div>")
    else:
        body.append('<p class="note">No image has anything to score.</p>')
    return H.page(f"panoptix report — {kind}", "\n".join(body))


_SCORE_NAME = {"instance": "F1 at IoU 0.5 with COCO matching", "panoptic": "the image's PQ over all its segments",
               "semantic": "mean IoU over the classes in either map"}
_COMPARISON_NAME = {"instance": "TP green, FP red, FN blue, ignored grey",
                    "panoptic": "TP green, FP red, FN blue, ignored grey",
                    "semantic": "right class green, wrong class red, not evaluated grey"}


def _sort_desc(v):
    return (1, 0.0) if v is None or (isinstance(v, float) and math.isnan(v)) else (0, -float(v))


def _num(c):
    try:
        return int(c)
    except (TypeError, ValueError):
        return c
