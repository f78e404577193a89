"""Matplotlib plots rendered off-screen (Agg canvas, no pyplot state), returned as PNG bytes."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np

__all__ = ["bars", "grouped_bars", "pr_curves", "confusion", "histogram"]

DPI = 100


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _rgb(colors) -> list:
    return [tuple(c / 255.0 for c in col[:3]) for col in colors]


def _bar_height(n: int) -> float:
    return float(np.clip(0.24 * n + 1.2, 2.2, 40.0))


def _extremes(order: np.ndarray, limit: int) -> tuple[np.ndarray, bool]:
    """``order`` (best first) cut to its ``limit // 2`` first and last entries when longer."""
    if limit and len(order) > limit:
        half = limit // 2
        return np.r_[order[:half], order[-half:]], True
    return order, False


def bars(names: Sequence[str], values: Sequence[float], colors=None, *, title: str = "", xlabel: str = "",
         percent: bool = False, limit: int = 40) -> bytes:
    """Horizontal bars, largest on top; missing values (None/NaN) are left out. Beyond ``limit``
    bars only the highest and lowest ``limit / 2`` are drawn (a dashed line between them)."""
    vals = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    keep = ~np.isnan(vals)
    names = [n for n, k in zip(names, keep) if k]
    colors = None if colors is None else [c for c, k in zip(colors, keep) if k]
    vals = vals[keep] * (100.0 if percent else 1.0)
    order, cut = _extremes(np.argsort(-vals, kind="stable"), limit)
    if cut:
        title = " — ".join(t for t in (title, f"highest and lowest {limit // 2} of {len(vals)}") if t)
    fig = _figure(8, _bar_height(len(order)))
    ax = fig.add_subplot()
    y = np.arange(len(order))
    ax.barh(y, vals[order], color=None if colors is None else [_rgb(colors)[i] for i in order],
            edgecolor="#555", linewidth=0.4)
    ax.set_yticks(y, [names[i] for i in order], fontsize=8)
    ax.invert_yaxis()
    if cut:
        ax.axhline(limit // 2 - 0.5, color="#888", ls="--", lw=1)
    ax.set_xlabel(xlabel + (" (%)" if percent else ""))
    if percent:
        ax.set_xlim(0, 100)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def grouped_bars(names: Sequence[str], series: dict[str, Sequence[float]], *, title: str = "",
                 sort_by: str | None = None, limit: int = 30) -> bytes:
    """Several values per class side by side (e.g. PQ, SQ, RQ), in percent; beyond ``limit``
    classes only the highest and lowest ``limit / 2`` by ``sort_by`` (classes without values left out)."""
    keys = list(series)
    data = np.array([[np.nan if v is None else float(v) for v in series[k]] for k in keys]).reshape(len(keys), -1)
    data = data * 100.0
    has = ~np.isnan(data).all(0)
    order = np.flatnonzero(has)
    if sort_by is not None:
        ref = data[keys.index(sort_by)][order]
        order = order[np.argsort(-np.nan_to_num(ref, nan=-1.0), kind="stable")]
    n_all = len(order)
    order, cut = _extremes(order, limit)
    if cut:
        title = " — ".join(t for t in (title, f"highest and lowest {limit // 2} of {n_all} by {sort_by}") if t)
    fig = _figure(8, _bar_height(len(order) * 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(order))
    h = 0.8 / max(len(keys), 1)
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    for i, k in enumerate(keys):
        ax.barh(y + (i - (len(keys) - 1) / 2) * h, np.nan_to_num(data[i][order]), height=h, label=k,
                color=palette[i % len(palette)])
    ax.set_yticks(y, [names[i] for i in order], fontsize=8)
    ax.invert_yaxis()
    if cut:
        ax.axhline(limit // 2 - 0.5, color="#888", ls="--", lw=1)
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def pr_curves(precision: np.ndarray, iou_thresholds: Sequence[float], recall_thresholds: Sequence[float], *,
              area: int = 0, max_dets: int = -1, title: str = "precision–recall") -> bytes:
    """One curve per IoU threshold: precision (T×R×K×A×M, pycocotools layout, −1 = no data)
    averaged over the classes that have data, for area range ``area`` and the ``max_dets`` column."""
    p = np.asarray(precision, dtype=float)[:, :, :, area, max_dets]  # T×R×K
    fig = _figure(6.5, 4.8)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    for t, thr in enumerate(iou_thresholds):
        pt = p[t]
        valid = pt > -1
        counts = valid.sum(1)
        mean = np.where(counts > 0, np.where(valid, pt, 0).sum(1) / np.maximum(counts, 1), np.nan)
        if np.isnan(mean).all():
            continue
        ax.plot(recall_thresholds, mean, color=cmap(t / max(len(iou_thresholds) - 1, 1)), lw=1.6,
                label=f"IoU {thr:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision (mean over classes)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return _png(fig)


def confusion(matrix: np.ndarray, names: Sequence[str], *, title: str = "confusion (rows: ground truth)") -> bytes:
    """Row-normalised confusion matrix (each ground-truth class sums to 1)."""
    m = np.asarray(matrix, dtype=float)
    rows = m.sum(1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    n = len(names)
    side = float(np.clip(0.22 * n + 2.5, 4.0, 14.0))
    fig = _figure(side + 1.0, side)
    ax = fig.add_subplot()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    # beyond ~50 classes, name every k-th class only: hundreds of labels are unreadable and slow
    step = max(1, int(np.ceil(n / 50)))
    ticks = np.arange(0, n, step)
    size = 8 if n <= 40 else 5
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=90, fontsize=size)
    ax.set_yticks(ticks, [names[i] for i in ticks], fontsize=size)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if norm[i, j] >= 0.01:
                    ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.6 else "#222")
    ax.set_xlabel("prediction")
    ax.set_ylabel("ground truth")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _png(fig)


def histogram(values: Sequence[float], *, bins=40, title: str = "", xlabel: str = "", log_x: bool = False,
              vlines: Sequence[tuple[float, str]] = ()) -> bytes:
    """A histogram (log-spaced bins with ``log_x``) with optional labelled vertical lines."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    fig = _figure(7, 3.6)
    ax = fig.add_subplot()
    if len(v):
        if log_x:
            # bins even in log10 on a linear axis: a log-scaled axis is many times slower to draw
            v = np.log10(np.clip(v, 1.0, None))
            lo, hi = np.floor(v.min()), max(np.ceil(v.max()), np.floor(v.min()) + 1)
            bins = np.linspace(lo, hi, int(bins) + 1)
            ticks = np.arange(lo, hi + 1)
            ax.set_xticks(ticks, [f"1e{int(t)}" for t in ticks])
            vlines = [(np.log10(x), label) for x, label in vlines]
        ax.hist(v, bins=bins, color="#4c72b0", edgecolor="white", linewidth=0.4)
        for x, label in vlines:
            ax.axvline(x, color="#c44e52", ls="--", lw=1)
            ax.text(x, 1.0, f" {label}", color="#c44e52", fontsize=8, va="top",
                    transform=ax.get_xaxis_transform())
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _png(fig)
