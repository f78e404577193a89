"""Boundary IoU for Boundary AP (private; see :mod:`panoptix.metrics.instance`).

Definition (Cheng et al., "Boundary IoU", CVPR 2021, and their reference
``boundary-iou-api``):

* the boundary of a mask is the mask minus its erosion; the erosion uses a
  square of side ``2d+1`` with ``d = max(1, round(ratio * sqrt(h² + w²)))`` and
  treats everything outside the image as background, so a mask cut by the image
  border has a boundary there (the reference pads by one zero pixel and erodes
  ``d`` times with a 3×3 square: the same set);
* Boundary IoU = |Bd ∩ Bg| / |Bd ∪ Bg| (0 when they do not meet);
* the IoU used for matching is ``min(mask IoU, Boundary IoU)`` for ordinary
  ground truth and the plain crowd mask IoU (intersection / detection area) for
  crowd regions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import ndimage

from . import _coco_kernels as K

__all__ = ["dilation_pixels", "boundary_mask", "boundary_adjust"]


def dilation_pixels(height: int, width: int, ratio: float) -> int:
    """``d = max(1, round(ratio * image diagonal))`` (Python's round, half to even)."""
    return max(1, int(round(ratio * math.sqrt(height ** 2 + width ** 2))))


def boundary_mask(mask: np.ndarray, ratio: float = 0.02) -> np.ndarray:
    """The inner boundary band of one H×W binary mask.

    Examples
    --------
    >>> m = np.zeros((10, 10), np.uint8); m[2:8, 2:8] = 1
    >>> int(boundary_mask(m, 0.02).sum())   # d = 1 on a 10x10 image: a ring of 20 pixels
    20
    """
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    d = dilation_pixels(mask.shape[0], mask.shape[1], ratio)
    return mask & (1 - _erode(mask, d))


def _erode(mask: np.ndarray, d: int) -> np.ndarray:
    # erosion by a (2d+1)² square with background outside the image: a separable minimum filter
    return ndimage.minimum_filter(mask, size=2 * d + 1, mode="constant", cval=0)


@njit(cache=True, nogil=True)
def _to_dense(off, s, e, idx, total):
    out = np.zeros((len(idx), total), np.uint8)
    for j in range(len(idx)):
        i = idx[j]
        for q in range(off[i], off[i + 1]):
            out[j, s[q]:e[q]] = 1
    return out


@njit(cache=True, nogil=True)
def _to_intervals(dense):
    n, total = dense.shape
    off = np.zeros(n + 1, np.int64)
    cap = 0
    for i in range(n):
        prev = 0
        k = 0
        for p in range(total):
            v = dense[i, p]
            if v and not prev:
                k += 1
            prev = v
        cap += k
        off[i + 1] = cap
    s = np.empty(cap, np.int64)
    e = np.empty(cap, np.int64)
    area = np.zeros(n, np.int64)
    for i in range(n):
        w = off[i]
        prev = 0
        for p in range(total):
            v = dense[i, p]
            if v and not prev:
                s[w] = p
            if prev and not v:
                e[w] = p
                w += 1
            if v:
                area[i] += 1
            prev = v
        if prev:
            e[w] = total
            w += 1
    return off, s, e, area


@njit(cache=True, nogil=True)
def _pair_ious(d_off, d_s, d_e, d_area, g_off, g_s, g_e, g_area):
    D = len(d_off) - 1
    G = len(g_off) - 1
    out = np.zeros((D, G))
    for di in range(D):
        for gi in range(G):
            inter = K._intersection(d_s, d_e, d_off[di], d_off[di + 1], g_s, g_e, g_off[gi], g_off[gi + 1])
            if inter > 0:
                out[di, gi] = inter / (d_area[di] + g_area[gi] - inter)
    return out


def _boundaries(off, s, e, idx, h, w, d):
    dense = _to_dense(off, s, e, idx, h * w)
    out = np.empty_like(dense)
    for j in range(len(idx)):
        # column-major runs: the (w, h) view is the transposed image; a square is symmetric
        m = dense[j].reshape(w, h)
        out[j] = (m & (1 - _erode(m, d))).reshape(-1)
    return _to_intervals(out)


def boundary_adjust(ious, iou_off, grp_gt, grp_dt, g_img, heights, widths, g_off, g_s, g_e, g_crowd,
                    d_off, d_s, d_e, ratio):
    """Replace mask IoU by ``min(mask IoU, Boundary IoU)`` for non-crowd ground truth, in place."""
    for k in range(grp_gt.shape[0]):
        g0, g1 = grp_gt[k]
        d0, d1 = grp_dt[k]
        G, D = g1 - g0, d1 - d0
        if G == 0 or D == 0:
            continue
        mat = ious[iou_off[k]:iou_off[k + 1]].reshape(D, G)
        normal = ~g_crowd[g0:g1]
        # Boundary IoU only matters where the mask IoU is positive
        live = (mat > 0) & normal[None, :]
        if not live.any():
            continue
        gcols = np.flatnonzero(live.any(0))
        drows = np.flatnonzero(live.any(1))
        h, w = int(heights[g_img[k]]), int(widths[g_img[k]])
        d = dilation_pixels(h, w, ratio)
        gb = _boundaries(g_off, g_s, g_e, (g0 + gcols).astype(np.int64), h, w, d)
        db = _boundaries(d_off, d_s, d_e, (d0 + drows).astype(np.int64), h, w, d)
        b = _pair_ious(db[0], db[1], db[2], db[3], gb[0], gb[1], gb[2], gb[3])
        sub = mat[np.ix_(drows, gcols)]
        mat[np.ix_(drows, gcols)] = np.where(live[np.ix_(drows, gcols)], np.minimum(sub, b), sub)
