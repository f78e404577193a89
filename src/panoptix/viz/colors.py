"""Colours: class colours from the taxonomy, per-object shades, comparison colours.

A class always gets ``taxonomy.color(id)`` (its ``Category.color``, or
:func:`~panoptix.core.taxonomy.stable_color` of the id), so the same class has the
same colour in every picture, run and machine. Objects of one class are told apart
by *shades* of that colour: object ``k`` of a class (``k`` = rank of its id among the
class's objects in the picture) is the class colour mixed with white or black by an
amount that never repeats, and ``k = 0`` is the class colour itself.
"""

from __future__ import annotations

import numpy as np

from ..core.taxonomy import Taxonomy

__all__ = [
    "shade", "shades", "class_colors", "object_colors", "text_color",
    "TP_COLOR", "FP_COLOR", "FN_COLOR", "IGNORED_COLOR", "VOID_COLOR", "CORRECT_COLOR", "WRONG_COLOR",
]

#: Comparison colours (instances / panoptic): matched prediction, unmatched prediction,
#: missed ground truth, prediction that the metric ignores (on crowd or VOID).
TP_COLOR = (46, 204, 64)
FP_COLOR = (255, 65, 54)
FN_COLOR = (0, 116, 217)
IGNORED_COLOR = (170, 170, 170)
#: Semantic comparison colours: right class, wrong class (ignored pixels are greyed).
CORRECT_COLOR = TP_COLOR
WRONG_COLOR = FP_COLOR
#: Grey of VOID / ignored pixels.
VOID_COLOR = (128, 128, 128)

_GOLDEN = 0.6180339887498949


def _amounts(k: np.ndarray) -> np.ndarray:
    # Golden-ratio sequence centred on 0: k=0 -> 0, then values that never repeat,
    # alternating roughly between darker (<0) and lighter (>0), within ±0.45.
    return (((k * _GOLDEN + 0.5) % 1.0) - 0.5) * 0.9


def shades(color, k) -> np.ndarray:
    """Shades of ``color`` for object ranks ``k`` (array), as a (len(k), 3) uint8 array.

    Parameters
    ----------
    color : (3,) RGB
    k : array of int
        Rank of each object among the objects of its class (0 gives ``color`` itself).

    Examples
    --------
    >>> shades((200, 40, 40), [0, 1, 2]).tolist()[0]
    [200, 40, 40]
    >>> len({tuple(c) for c in shades((200, 40, 40), range(6)).tolist()})
    6
    """
    k = np.asarray(k, dtype=np.float64).reshape(-1)
    base = np.asarray(color, dtype=np.float64).reshape(1, 3)
    t = _amounts(k)[:, None]
    lighter = base + (255.0 - base) * t
    darker = base * (1.0 + t)
    out = np.where(t > 0, lighter, darker)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def shade(color, k: int) -> tuple[int, int, int]:
    """One shade of ``color`` (see :func:`shades`).

    Examples
    --------
    >>> shade((10, 20, 30), 0)
    (10, 20, 30)
    """
    return tuple(int(v) for v in shades(color, [k])[0])


def class_colors(taxonomy: Taxonomy, category_ids) -> np.ndarray:
    """(N, 3) uint8 class colours for a sequence of category ids."""
    return np.array([taxonomy.color(int(c)) for c in np.asarray(category_ids).reshape(-1)],
                    dtype=np.uint8).reshape(-1, 3)


def object_colors(taxonomy: Taxonomy, category_ids, object_ids) -> np.ndarray:
    """(N, 3) uint8: each object a distinct shade of its class colour.

    An object's rank inside its class follows its id, so the same labels always give
    the same colours.

    Examples
    --------
    >>> from panoptix.core import Category, Taxonomy
    >>> tax = Taxonomy([Category(1, "person", color=(220, 20, 60))])
    >>> object_colors(tax, [1, 1], [5, 3]).tolist()[1]
    [220, 20, 60]
    """
    cats = np.asarray(category_ids, dtype=np.int64).reshape(-1)
    ids = np.asarray(object_ids, dtype=np.int64).reshape(-1)
    out = np.zeros((len(cats), 3), np.uint8)
    if not len(cats):
        return out
    order = np.lexsort((ids, cats))
    sorted_cats = cats[order]
    # rank within class: position minus the position where the class run starts
    starts = np.r_[0, np.flatnonzero(sorted_cats[1:] != sorted_cats[:-1]) + 1]
    run_id = np.cumsum(np.r_[0, (sorted_cats[1:] != sorted_cats[:-1]).astype(int)])
    rank = np.arange(len(cats)) - starts[run_id]
    for c in np.unique(cats):
        sel = sorted_cats == c
        out[order[sel]] = shades(taxonomy.color(int(c)), rank[sel])
    return out


def text_color(background) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``background``.

    Examples
    --------
    >>> text_color((250, 250, 250)), text_color((10, 10, 80))
    ((0, 0, 0), (255, 255, 255))
    """
    r, g, b = (float(v) for v in background[:3])
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)
