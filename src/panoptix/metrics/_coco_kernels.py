"""Numba kernels behind :mod:`panoptix.metrics.instance` (private).

Masks are handled as *intervals*: the foreground runs of a COCO RLE, as
``[start, end)`` offsets in column-major pixel order. Intersections and
unions are counted by walking two sorted interval lists, so no dense mask is
ever built. Every kernel works on flat arrays and is compiled once
(``cache=True``); ``nogil=True`` lets callers run them on several threads.

Status codes of a detection at one (area range, IoU threshold):
``0`` false positive, ``1`` true positive, ``2`` ignored.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

FP, TP, IGNORED = 0, 1, 2

# error codes of the RLE string decoder
ERR_CHAR, ERR_TRUNCATED, ERR_NEGATIVE, ERR_SUM = 1, 2, 3, 4
ERR_MESSAGES = {
    ERR_CHAR: "compressed RLE has a character outside the COCO alphabet ('0'..'o')",
    ERR_TRUNCATED: "compressed RLE string is truncated",
    ERR_NEGATIVE: "compressed RLE decodes to a negative run length",
    ERR_SUM: "RLE run lengths do not add up to height*width (mask of the wrong size?)",
}

_EPS = np.spacing(1)  # pycocotools adds it to tp+fp before dividing


# --------------------------------------------------------------------------- RLE strings
@register_jitable
def _decode_one(buf, lo, hi, total, starts, ends, out_at, write, escaped):
    """Walk one compressed RLE string ``buf[lo:hi]`` (COCO's 6-bit LEB128-like code,
    run lengths after the third stored as differences to the one two places back).

    ``escaped``: the bytes are a JSON string's content, where a doubled backslash stands
    for one backslash (a legal RLE character) and backslash-u-XXXX for an ASCII character.
    Returns ``(area, n_intervals, error)``; with ``write`` the foreground intervals go
    to ``starts/ends[out_at:]``.
    """
    p = lo
    m = 0
    prev2 = np.int64(0)  # count m-2
    prev1 = np.int64(0)  # count m-1
    pos = np.int64(0)
    area = np.int64(0)
    n = 0
    while p < hi:
        x = np.int64(0)
        k = 0
        while True:
            if p >= hi:
                return area, n, ERR_TRUNCATED
            c = np.int64(buf[p]) - 48
            p += 1
            if c == 44 and escaped:  # a backslash: JSON escape
                if p >= hi:
                    return area, n, ERR_TRUNCATED
                e = buf[p]
                if e == 92:
                    p += 1
                elif e == 117 and p + 5 <= hi:
                    v = 0
                    for q in range(1, 5):
                        h = buf[p + q]
                        if 48 <= h <= 57:
                            v = v * 16 + (h - 48)
                        elif 97 <= h <= 102:
                            v = v * 16 + (h - 87)
                        elif 65 <= h <= 70:
                            v = v * 16 + (h - 55)
                        else:
                            return area, n, ERR_CHAR
                    c = np.int64(v) - 48
                    p += 5
                else:
                    return area, n, ERR_CHAR
            if c < 0 or c > 63:
                return area, n, ERR_CHAR
            x |= (c & 0x1F) << (5 * k)
            k += 1
            if (c & 0x20) == 0:
                if (c & 0x10) != 0:
                    x |= np.int64(-1) << (5 * k)
                break
        if m > 2:
            x += prev2
        if x < 0:
            return area, n, ERR_NEGATIVE
        if m & 1:
            if x > 0:
                if write:
                    starts[out_at + n] = pos
                    ends[out_at + n] = pos + x
                n += 1
                area += x
        pos += x
        prev2 = prev1
        prev1 = x
        m += 1
    if pos != total:
        return area, n, ERR_SUM
    return area, n, 0


@njit(cache=True, nogil=True)
def rle_strings_scan(buf, offs, lens, totals, escaped):
    """Area and interval count of every string; ``err[i]`` != 0 marks a corrupt one."""
    n = len(offs)
    area = np.zeros(n, np.int64)
    nint = np.zeros(n, np.int64)
    err = np.zeros(n, np.int64)
    dummy = np.zeros(0, np.int64)
    for i in range(n):
        a, k, e = _decode_one(buf, offs[i], offs[i] + lens[i], totals[i], dummy, dummy, 0, False, escaped)
        area[i] = a
        nint[i] = k
        err[i] = e
    return area, nint, err


@njit(cache=True, nogil=True)
def rle_strings_intervals(buf, offs, lens, totals, nint, escaped):
    """Intervals of the strings (their counts ``nint`` known from :func:`rle_strings_scan`).

    Returns ``(iv_off, starts, ends)`` with ``iv_off`` of length ``len(offs) + 1``.
    """
    ns = len(offs)
    iv_off = np.zeros(ns + 1, np.int64)
    for j in range(ns):
        iv_off[j + 1] = iv_off[j] + nint[j]
    starts = np.empty(iv_off[ns], np.int64)
    ends = np.empty(iv_off[ns], np.int64)
    for j in range(ns):
        _decode_one(buf, offs[j], offs[j] + lens[j], totals[j], starts, ends, iv_off[j], True, escaped)
    return iv_off, starts, ends


@njit(cache=True, nogil=True)
def union_parts(part_off, iv_off, starts, ends):
    """Union of the masks of each object made of several parts (polygon pieces).

    Object ``o`` owns parts ``part_off[o]:part_off[o+1]`` (indices into ``iv_off``).
    Returns ``(iv_off, starts, ends, area)`` of the objects.
    """
    n = len(part_off) - 1
    # upper bound: all intervals of the parts
    out_off = np.zeros(n + 1, np.int64)
    cap = 0
    for o in range(n):
        cap += iv_off[part_off[o + 1]] - iv_off[part_off[o]]
    ostart = np.empty(cap, np.int64)
    oend = np.empty(cap, np.int64)
    area = np.zeros(n, np.int64)
    w = 0
    for o in range(n):
        lo = iv_off[part_off[o]]
        hi = iv_off[part_off[o + 1]]
        if part_off[o + 1] - part_off[o] == 1:
            for j in range(lo, hi):
                ostart[w] = starts[j]
                oend[w] = ends[j]
                area[o] += ends[j] - starts[j]
                w += 1
        elif hi > lo:
            order = np.argsort(starts[lo:hi], kind="mergesort")
            cs = starts[lo + order[0]]
            ce = ends[lo + order[0]]
            for q in range(1, hi - lo):
                s = starts[lo + order[q]]
                e = ends[lo + order[q]]
                if s <= ce:
                    if e > ce:
                        ce = e
                else:
                    ostart[w] = cs
                    oend[w] = ce
                    area[o] += ce - cs
                    w += 1
                    cs = s
                    ce = e
            ostart[w] = cs
            oend[w] = ce
            area[o] += ce - cs
            w += 1
        out_off[o + 1] = w
    return out_off, ostart[:w].copy(), oend[:w].copy(), area


@njit(cache=True, nogil=True)
def rle_bbox(iv_off, starts, ends, heights):
    """COCO ``[x, y, w, h]`` of interval masks, as pycocotools' ``toBbox`` gives it
    (a run that wraps to another column widens the box to the full image height).

    Known difference: ``toBbox`` also counts the ends of *empty* foreground runs, which only a
    hand-made uncompressed RLE can contain (pycocotools' encoders never write them); here they
    are not part of the mask and do not widen the box. Used for ``bbox`` evaluation of results
    without a ``bbox`` field and for ground truth without one."""
    n = len(iv_off) - 1
    out = np.zeros((n, 4))
    for i in range(n):
        lo = iv_off[i]
        hi = iv_off[i + 1]
        if hi == lo:
            continue
        h = heights[i]
        xs = np.int64(1) << 62
        ys = np.int64(1) << 62
        xe = np.int64(0)
        ye = np.int64(0)
        for j in range(lo, hi):
            s = starts[j]
            e = ends[j] - 1
            x0 = s // h
            y0 = s - x0 * h
            x1 = e // h
            y1 = e - x1 * h
            if x1 > x0:
                ys = 0
                ye = h - 1
            xs = min(xs, x0)
            xe = max(xe, x1)
            ys = min(ys, min(y0, y1))
            ye = max(ye, max(y0, y1))
        out[i, 0] = xs
        out[i, 1] = ys
        out[i, 2] = xe - xs + 1
        out[i, 3] = ye - ys + 1
    return out


# --------------------------------------------------------------------------- IoU
@register_jitable
def _intersection(as_, ae, alo, ahi, bs, be, blo, bhi):
    a = alo
    b = blo
    inter = np.int64(0)
    while a < ahi and b < bhi:
        s = max(as_[a], bs[b])
        e = min(ae[a], be[b])
        if e > s:
            inter += e - s
        if ae[a] < be[b]:
            a += 1
        else:
            b += 1
    return inter


@njit(cache=True, nogil=True)
def group_ious(grp_gt, grp_dt, gt_off, gt_s, gt_e, gt_area, gt_crowd, gt_h,
               dt_off, dt_s, dt_e, dt_area):
    """Mask IoU matrices (D×G, row-major, concatenated) of every group.

    ``grp_gt``/``grp_dt`` are ``(n_groups, 2)`` index ranges; intervals of gt ``g`` are
    ``gt_off[g]:gt_off[g+1]`` (same for detections, indexed like the detections).
    IoU is ``inter / union``, or ``inter / detection area`` for crowd ground truth,
    and exactly 0 without overlap (pycocotools' ``rleIou``).
    Returns ``(iou_off, ious)``.
    """
    ng = grp_gt.shape[0]
    iou_off = np.zeros(ng + 1, np.int64)
    for k in range(ng):
        iou_off[k + 1] = iou_off[k] + (grp_gt[k, 1] - grp_gt[k, 0]) * (grp_dt[k, 1] - grp_dt[k, 0])
    ious = np.zeros(iou_off[ng])
    for k in range(ng):
        g0 = grp_gt[k, 0]
        G = grp_gt[k, 1] - g0
        d0 = grp_dt[k, 0]
        D = grp_dt[k, 1] - d0
        if G == 0 or D == 0:
            continue
        base = iou_off[k]
        for gi in range(G):
            g = g0 + gi
            glo = gt_off[g]
            ghi = gt_off[g + 1]
            if ghi == glo:
                continue
            h = gt_h[g]
            # column range, a cheap reject before walking the runs
            gx0 = gt_s[glo] // h
            gx1 = (gt_e[ghi - 1] - 1) // h
            for di in range(D):
                d = d0 + di
                dlo = dt_off[d]
                dhi = dt_off[d + 1]
                if dhi == dlo:
                    continue
                if (dt_e[dhi - 1] - 1) // h < gx0 or dt_s[dlo] // h > gx1:
                    continue
                inter = _intersection(dt_s, dt_e, dlo, dhi, gt_s, gt_e, glo, ghi)
                if inter == 0:
                    continue
                if gt_crowd[g]:
                    u = dt_area[d]
                else:
                    u = dt_area[d] + gt_area[g] - inter
                ious[base + di * G + gi] = inter / u
    return iou_off, ious


@njit(cache=True, nogil=True)
def group_box_ious(grp_gt, grp_dt, gt_box, gt_crowd, dt_box):
    """Box IoU matrices of every group, as pycocotools' ``bbIou`` computes them."""
    ng = grp_gt.shape[0]
    iou_off = np.zeros(ng + 1, np.int64)
    for k in range(ng):
        iou_off[k + 1] = iou_off[k] + (grp_gt[k, 1] - grp_gt[k, 0]) * (grp_dt[k, 1] - grp_dt[k, 0])
    ious = np.zeros(iou_off[ng])
    for k in range(ng):
        g0 = grp_gt[k, 0]
        G = grp_gt[k, 1] - g0
        d0 = grp_dt[k, 0]
        D = grp_dt[k, 1] - d0
        base = iou_off[k]
        for gi in range(G):
            g = g0 + gi
            ga = gt_box[g, 2] * gt_box[g, 3]
            for di in range(D):
                d = d0 + di
                da = dt_box[d, 2] * dt_box[d, 3]
                w = min(dt_box[d, 2] + dt_box[d, 0], gt_box[g, 2] + gt_box[g, 0]) - max(dt_box[d, 0], gt_box[g, 0])
                if w <= 0:
                    continue
                h = min(dt_box[d, 3] + dt_box[d, 1], gt_box[g, 3] + gt_box[g, 1]) - max(dt_box[d, 1], gt_box[g, 1])
                if h <= 0:
                    continue
                i = w * h
                if gt_crowd[g]:
                    u = da
                else:
                    u = da + ga - i
                ious[base + di * G + gi] = i / u
    return iou_off, ious


# --------------------------------------------------------------------------- matching
@njit(cache=True, nogil=True)
def match_groups(grp_gt, grp_dt, iou_off, ious, gt_area, gt_crowd, gt_id, dt_area, iou_thrs, area_rng):
    """pycocotools' ``evaluateImg`` for every group and area range at once.

    Detections of a group must already be sorted (score descending, stable) and cut to
    ``maxDets[-1]``. Returns ``status`` (n_dt, A, T) uint8 and ``npig`` (n_groups, A):
    the number of ground truths that are not ignored.
    """
    ng = grp_gt.shape[0]
    A = area_rng.shape[0]
    T = len(iou_thrs)
    ndt = len(dt_area)
    status = np.zeros((ndt, A, T), np.uint8)
    npig = np.zeros((ng, A), np.int64)
    thr = np.empty(T)
    for t in range(T):
        thr[t] = min(iou_thrs[t], 1 - 1e-10)
    maxg = 0
    for k in range(ng):
        maxg = max(maxg, grp_gt[k, 1] - grp_gt[k, 0])
    order = np.empty(maxg, np.int64)
    ig = np.empty(maxg, np.bool_)
    gtm = np.empty(maxg, np.bool_)
    for k in range(ng):
        g0 = grp_gt[k, 0]
        G = grp_gt[k, 1] - g0
        d0 = grp_dt[k, 0]
        D = grp_dt[k, 1] - d0
        base = iou_off[k]
        for a in range(A):
            lo = area_rng[a, 0]
            hi = area_rng[a, 1]
            # ground truth: crowd or outside the range -> ignored; ignored ones go last (stable)
            w = 0
            for gi in range(G):
                g = g0 + gi
                ignore = gt_crowd[g] or gt_area[g] < lo or gt_area[g] > hi
                if not ignore:
                    order[w] = gi
                    w += 1
            npig[k, a] = w
            for gi in range(G):
                g = g0 + gi
                if gt_crowd[g] or gt_area[g] < lo or gt_area[g] > hi:
                    order[w] = gi
                    w += 1
            for q in range(G):
                ig[q] = q >= npig[k, a]
            for t in range(T):
                for q in range(G):
                    gtm[q] = False
                for di in range(D):
                    d = d0 + di
                    best = thr[t]
                    m = -1
                    for q in range(G):
                        gi = order[q]
                        if gtm[q] and not gt_crowd[g0 + gi]:
                            continue
                        if m > -1 and not ig[m] and ig[q]:
                            break
                        v = ious[base + di * G + gi]
                        if v < best:
                            continue
                        best = v
                        m = q
                    outside = dt_area[d] < lo or dt_area[d] > hi
                    if m == -1:
                        status[d, a, t] = IGNORED if outside else FP
                        continue
                    gtm[m] = True
                    if ig[m]:
                        status[d, a, t] = IGNORED
                    elif gt_id[g0 + order[m]] != 0:
                        status[d, a, t] = TP
                    else:
                        # pycocotools stores the matched gt *id*; id 0 reads as "unmatched"
                        status[d, a, t] = IGNORED if outside else FP
    return status, npig


# --------------------------------------------------------------------------- accumulate
@njit(cache=True, nogil=True)
def accumulate(cat_lo, order, pos, scores, status, npig, max_dets, rec_thrs):
    """pycocotools' ``accumulate``: precision (T,R,K,A,M), recall (T,K,A,M), scores.

    ``order`` lists the detections sorted by (category, score descending, image,
    rank within the image); category ``k`` owns ``order[cat_lo[k]:cat_lo[k+1]]``.
    ``npig`` is (K, A), summed over images.

    Same numbers as pycocotools, with less work: precision ``tp / (fp + tp + eps)`` only
    grows at a true positive, so the right-to-left maximum pycocotools takes over a
    suffix of detections is the maximum over the true positives in it (IEEE addition
    and division are monotone, so this holds bit for bit); and the first detection
    whose recall reaches a threshold > 0 is a true positive. Divisions are done at
    true positives only, with pycocotools' operand order.
    """
    K = len(cat_lo) - 1
    A = status.shape[1]
    T = status.shape[2]
    M = len(max_dets)
    R = len(rec_thrs)
    # (np.full, not -np.ones: a 5-D negation costs seconds of compile time)
    precision = np.full((T, R, K, A, M), -1.0)
    recall = np.full((T, K, A, M), -1.0)
    score_out = np.full((T, R, K, A, M), -1.0)
    nmax = 0
    for k in range(K):
        nmax = max(nmax, cat_lo[k + 1] - cat_lo[k])
    sel = np.empty(nmax, np.int64)
    st = np.empty((nmax, A, T), np.uint8)
    tp_at = np.empty(nmax, np.int64)   # position of the j-th true positive
    pr = np.empty(nmax)                # precision there, then its suffix maximum
    for k in range(K):
        lo = cat_lo[k]
        hi = cat_lo[k + 1]
        prev_nd = -1
        # largest max-dets first: a smaller cap selects a subset, often the same one
        for m in range(M - 1, -1, -1):
            nd = 0
            for j in range(lo, hi):
                d = order[j]
                if pos[d] < max_dets[m]:
                    if prev_nd < 0:
                        sel[nd] = d
                        for a in range(A):  # (a slice copy here costs seconds of compile time)
                            for t in range(T):
                                st[nd, a, t] = status[d, a, t]
                    nd += 1
            if prev_nd >= 0:
                if nd == prev_nd:
                    for t in range(T):
                        for a in range(A):
                            recall[t, k, a, m] = recall[t, k, a, m + 1]
                            for r in range(R):
                                precision[t, r, k, a, m] = precision[t, r, k, a, m + 1]
                                score_out[t, r, k, a, m] = score_out[t, r, k, a, m + 1]
                    continue
                nd = 0
                for j in range(lo, hi):
                    d = order[j]
                    if pos[d] < max_dets[m]:
                        sel[nd] = d
                        for a in range(A):
                            for t in range(T):
                                st[nd, a, t] = status[d, a, t]
                        nd += 1
            prev_nd = nd
            for a in range(A):
                n_pos = npig[k, a]
                if n_pos == 0:
                    continue
                for t in range(T):
                    ntp = 0
                    fp = 0
                    for i in range(nd):
                        s = st[i, a, t]
                        if s == TP:
                            tp_at[ntp] = i
                            tp = ntp + 1.0
                            pr[ntp] = tp / ((fp + tp) + _EPS)
                            ntp += 1
                        elif s == FP:
                            fp += 1
                    recall[t, k, a, m] = (ntp / n_pos) if nd else 0.0
                    for j in range(ntp - 2, -1, -1):
                        if pr[j + 1] > pr[j]:
                            pr[j] = pr[j + 1]
                    j = 0
                    for r in range(R):
                        thr = rec_thrs[r]
                        if thr <= 0.0 and nd > 0:
                            # recall >= 0 from the first detection on
                            precision[t, r, k, a, m] = pr[0] if ntp else 0.0
                            score_out[t, r, k, a, m] = scores[sel[0]]
                            continue
                        while j < ntp and (j + 1.0) / n_pos < thr:
                            j += 1
                        if j >= ntp:
                            for r2 in range(r, R):
                                precision[t, r2, k, a, m] = 0.0
                                score_out[t, r2, k, a, m] = 0.0
                            break
                        precision[t, r, k, a, m] = pr[j]
                        score_out[t, r, k, a, m] = scores[sel[tp_at[j]]]
    return precision, recall, score_out


# --------------------------------------------------------------------------- grouping
@njit(cache=True, nogil=True)
def sort_runs_by_score(order, run_key, score):
    """Within each run of equal ``run_key[order[i]]``, sort ``order`` by score descending,
    stably (ties keep their order) — pycocotools' ``argsort(-score, kind="mergesort")``."""
    n = len(order)
    i = 0
    while i < n:
        key = run_key[order[i]]
        j = i + 1
        while j < n and run_key[order[j]] == key:
            j += 1
        L = j - i
        if L > 1:
            if L <= 24:
                for a in range(i + 1, j):
                    x = order[a]
                    sx = score[x]
                    b = a - 1
                    while b >= i and score[order[b]] < sx:
                        order[b + 1] = order[b]
                        b -= 1
                    order[b + 1] = x
            else:
                seg = order[i:j].copy()
                neg = np.empty(L)
                for q in range(L):
                    neg[q] = -score[seg[q]]
                sub = np.argsort(neg, kind="mergesort")
                for q in range(L):
                    order[i + q] = seg[sub[q]]
        i = j
    return order


@njit(cache=True, nogil=True)
def merge_unique(a, b):
    """Sorted union (no repeats) of two sorted int arrays."""
    out = np.empty(len(a) + len(b), np.int64)
    i = 0
    j = 0
    w = 0
    while i < len(a) or j < len(b):
        if j >= len(b) or (i < len(a) and a[i] <= b[j]):
            v = a[i]
            i += 1
        else:
            v = b[j]
            j += 1
        if w == 0 or out[w - 1] != v:
            out[w] = v
            w += 1
    return out[:w].copy()
