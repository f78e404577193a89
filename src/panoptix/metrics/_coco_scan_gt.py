"""A numba scanner for the ``annotations`` of COCO ground-truth files (private).

The top-level object is walked once; the values of ``images`` and ``categories``
are only located (their byte spans are parsed with orjson: they are small), the
``annotations`` array is read into flat arrays without Python objects: ids,
category, ``iscrowd``, ``area``, ``bbox`` and the segmentation — polygon
coordinates into one float array (parts as ``[start, start+len)`` ranges),
compressed RLE as a byte span of the buffer, uncompressed RLE counts into one int
array. An annotation of any other shape is marked *odd* and its byte span is
re-parsed with orjson by the caller. Numbers are read as in
:mod:`panoptix.metrics._coco_scan` (exactly, or their position is returned for
Python's ``float()``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ._coco_scan import GIVE_UP, OK, _number, _skip_value, _string_end, _ws

GROW = -2  # a growable array is full: grow and scan the record again

SEG_NONE, SEG_POLY, SEG_RLE, SEG_COUNTS, SEG_ODD = 0, 1, 2, 3, 9
H_ID, H_IMG, H_CAT, H_AREA, H_BBOX, H_SEG, H_CROWD = 1, 2, 4, 8, 16, 32, 64

# top-level keys
T_OTHER, T_IMAGES, T_ANNS, T_CATS = 0, 1, 2, 3
# annotation keys
A_OTHER, A_ID, A_IMG, A_CAT, A_CROWD, A_AREA, A_BBOX, A_SEG, A_SIZE, A_COUNTS = range(10)


@register_jitable
def _eq(buf, a, b, word):
    if b - a != len(word):
        return False
    for i in range(len(word)):
        if buf[a + i] != word[i]:
            return False
    return True


# key names as tuples of bytes: numba freezes global tuples as constants (a global array can make a
# function impossible to cache)
_W = {name: tuple(name.encode()) for name in (
    "images", "annotations", "categories", "id", "image_id", "category_id", "iscrowd", "area", "bbox",
    "segmentation", "size", "counts")}
W_IMAGES, W_ANNS, W_CATS = _W["images"], _W["annotations"], _W["categories"]
W_ID, W_IMG, W_CAT, W_CROWD = _W["id"], _W["image_id"], _W["category_id"], _W["iscrowd"]
W_AREA, W_BBOX, W_SEG, W_SIZE, W_COUNTS = _W["area"], _W["bbox"], _W["segmentation"], _W["size"], _W["counts"]


@register_jitable
def _ann_key(buf, a, b):
    if _eq(buf, a, b, W_ID):
        return A_ID
    if _eq(buf, a, b, W_IMG):
        return A_IMG
    if _eq(buf, a, b, W_CAT):
        return A_CAT
    if _eq(buf, a, b, W_CROWD):
        return A_CROWD
    if _eq(buf, a, b, W_AREA):
        return A_AREA
    if _eq(buf, a, b, W_BBOX):
        return A_BBOX
    if _eq(buf, a, b, W_SEG):
        return A_SEG
    if _eq(buf, a, b, W_SIZE):
        return A_SIZE
    if _eq(buf, a, b, W_COUNTS):
        return A_COUNTS
    return A_OTHER


class GtScan:
    """Arrays the annotation scanner fills (``cap`` records; growable pools)."""

    def __init__(self, cap: int, pool: int):
        self.ints = np.zeros((cap, 4), np.int64)      # id, image_id, category_id, iscrowd
        self.area = np.zeros(cap)
        self.box = np.zeros((cap, 4))
        self.slow = np.full((cap, 5), -1, np.int64)   # area, bbox x4: start of a number to re-read
        self.info = np.zeros((cap, 8), np.int64)      # has, seg kind, box len, part_lo, part_n, a, b, (h,w) idx
        self.size = np.zeros((cap, 2), np.int64)
        self.span = np.zeros((cap, 2), np.int64)      # the record's bytes
        self.coords = np.zeros(pool)
        self.parts = np.zeros((max(pool // 8, 16), 2), np.int64)   # [start, len) in coords
        self.counts = np.zeros(max(pool // 8, 16), np.int64)
        self.cslow = np.zeros((max(pool // 64, 16), 2), np.int64)  # (coord index, buffer position)
        self.top = np.full((3, 2), -1, np.int64)      # spans of images, annotations, categories values

    def run(self, buf) -> tuple[int, int]:
        while True:
            st, n, nc, npart, ncount, nslow = scan_gt(buf, self.ints, self.area, self.box, self.slow, self.info,
                                                      self.size, self.span, self.coords, self.parts,
                                                      self.counts, self.cslow, self.top)
            if st != GROW:
                self.n, self.nc, self.npart, self.ncount, self.nslow = n, nc, npart, ncount, nslow
                return st, n
            if n >= len(self.ints):  # more records than the estimate: grow the record arrays
                for name in ("ints", "area", "box", "slow", "info", "size", "span"):
                    a = getattr(self, name)
                    b = np.zeros((2 * len(a),) + a.shape[1:], a.dtype)
                    setattr(self, name, b)
                self.slow[:] = -1
            for name in ("coords", "parts", "counts", "cslow"):
                a = getattr(self, name)
                b = np.zeros((2 * len(a),) + a.shape[1:], a.dtype)
                b[:len(a)] = a
                setattr(self, name, b)


@register_jitable
def _int_value(buf, p, n):
    """An integer (or true/false for iscrowd) at ``p``: (end, value, ok)."""
    if buf[p] == 116 and p + 4 <= n:  # true
        return p + 4, 1, buf[p + 1] == 114 and buf[p + 2] == 117 and buf[p + 3] == 101
    if buf[p] == 102 and p + 5 <= n:  # false
        return p + 5, 0, buf[p + 1] == 97 and buf[p + 2] == 108 and buf[p + 3] == 115 and buf[p + 4] == 101
    q, v, is_int, iv, ex = _number(buf, p, n)
    return q, iv, q >= 0 and is_int


@register_jitable
def _scan_ann(buf, p, n, r, ints, area, box, slow, info, size, coords, nc, parts, npart, counts, ncount,
              cslow, nslow):
    """One annotation at ``p`` (``{``). Returns (end, nc, npart, ncount, nslow); end -1 odd, GROW full."""
    p = _ws(buf, p + 1, n)
    has = 0
    if p < n and buf[p] == 125:
        info[r, 0] = 0
        return p + 1, nc, npart, ncount, nslow
    while True:
        if p >= n or buf[p] != 34:
            return -1, nc, npart, ncount, nslow
        q, esc = _string_end(buf, p, n)
        if q < 0 or esc:
            return -1, nc, npart, ncount, nslow
        key = _ann_key(buf, p + 1, q)
        p = _ws(buf, q + 1, n)
        if p >= n or buf[p] != 58:
            return -1, nc, npart, ncount, nslow
        p = _ws(buf, p + 1, n)
        if p >= n:
            return -1, nc, npart, ncount, nslow
        if key == A_ID or key == A_IMG or key == A_CAT or key == A_CROWD:
            q, v, ok = _int_value(buf, p, n)
            if not ok:
                return -1, nc, npart, ncount, nslow
            j = 0 if key == A_ID else (1 if key == A_IMG else (2 if key == A_CAT else 3))
            ints[r, j] = v
            has |= H_ID if key == A_ID else (H_IMG if key == A_IMG else (H_CAT if key == A_CAT else H_CROWD))
            p = q
        elif key == A_AREA:
            q, v, is_int, iv, ex = _number(buf, p, n)
            if q < 0:
                return -1, nc, npart, ncount, nslow
            area[r] = v
            slow[r, 0] = -1 if ex else p
            has |= H_AREA
            p = q
        elif key == A_BBOX:
            if buf[p] != 91:
                return -1, nc, npart, ncount, nslow
            p = _ws(buf, p + 1, n)
            k = 0
            if p < n and buf[p] == 93:
                p += 1
            else:
                while True:
                    q, v, is_int, iv, ex = _number(buf, p, n)
                    if q < 0 or k >= 4:
                        return -1, nc, npart, ncount, nslow
                    box[r, k] = v
                    slow[r, 1 + k] = -1 if ex else p
                    k += 1
                    p = _ws(buf, q, n)
                    if p < n and buf[p] == 44:
                        p = _ws(buf, p + 1, n)
                    elif p < n and buf[p] == 93:
                        p += 1
                        break
                    else:
                        return -1, nc, npart, ncount, nslow
            info[r, 2] = k
            has |= H_BBOX
        elif key == A_SEG:
            has |= H_SEG
            if buf[p] == 91:  # polygons: [[x, y, ...], ...]
                info[r, 1] = SEG_POLY
                info[r, 3] = npart
                p = _ws(buf, p + 1, n)
                np0 = npart
                if p < n and buf[p] == 93:
                    p += 1
                else:
                    while True:
                        if p >= n or buf[p] != 91:
                            return -1, nc, npart, ncount, nslow
                        if npart >= len(parts):
                            return GROW, nc, npart, ncount, nslow
                        parts[npart, 0] = nc
                        p = _ws(buf, p + 1, n)
                        if p < n and buf[p] == 93:
                            p += 1
                        else:
                            while True:
                                if nc >= len(coords) or nslow >= len(cslow):
                                    return GROW, nc, npart, ncount, nslow
                                q, v, is_int, iv, ex = _number(buf, p, n)
                                if q < 0:
                                    return -1, nc, npart, ncount, nslow
                                coords[nc] = v
                                if not ex:
                                    cslow[nslow, 0] = nc
                                    cslow[nslow, 1] = p
                                    nslow += 1
                                nc += 1
                                p = _ws(buf, q, n)
                                if p < n and buf[p] == 44:
                                    p = _ws(buf, p + 1, n)
                                elif p < n and buf[p] == 93:
                                    p += 1
                                    break
                                else:
                                    return -1, nc, npart, ncount, nslow
                        parts[npart, 1] = nc - parts[npart, 0]
                        npart += 1
                        p = _ws(buf, p, n)
                        if p < n and buf[p] == 44:
                            p = _ws(buf, p + 1, n)
                        elif p < n and buf[p] == 93:
                            p += 1
                            break
                        else:
                            return -1, nc, npart, ncount, nslow
                info[r, 4] = npart - np0
            elif buf[p] == 123:  # RLE: {"size": [h, w], "counts": "..." or [...]}
                p = _ws(buf, p + 1, n)
                got = 0
                while True:
                    if p >= n or buf[p] != 34:
                        return -1, nc, npart, ncount, nslow
                    q, esc = _string_end(buf, p, n)
                    if q < 0 or esc:
                        return -1, nc, npart, ncount, nslow
                    k2 = _ann_key(buf, p + 1, q)
                    p = _ws(buf, q + 1, n)
                    if p >= n or buf[p] != 58:
                        return -1, nc, npart, ncount, nslow
                    p = _ws(buf, p + 1, n)
                    if p >= n:
                        return -1, nc, npart, ncount, nslow
                    if k2 == A_COUNTS and buf[p] == 34:
                        q, esc = _string_end(buf, p, n)
                        if q < 0:
                            return -1, nc, npart, ncount, nslow
                        info[r, 1] = SEG_RLE
                        info[r, 5] = p + 1
                        info[r, 6] = q
                        p = q + 1
                        got |= 1
                    elif k2 == A_COUNTS and buf[p] == 91:
                        info[r, 1] = SEG_COUNTS
                        info[r, 5] = ncount
                        p = _ws(buf, p + 1, n)
                        if p < n and buf[p] == 93:
                            p += 1
                        else:
                            while True:
                                if ncount >= len(counts):
                                    return GROW, nc, npart, ncount, nslow
                                q, v, ok = _int_value(buf, p, n)
                                if not ok or buf[p] == 116 or buf[p] == 102:
                                    return -1, nc, npart, ncount, nslow
                                counts[ncount] = v
                                ncount += 1
                                p = _ws(buf, q, n)
                                if p < n and buf[p] == 44:
                                    p = _ws(buf, p + 1, n)
                                elif p < n and buf[p] == 93:
                                    p += 1
                                    break
                                else:
                                    return -1, nc, npart, ncount, nslow
                        info[r, 6] = ncount
                        got |= 1
                    elif k2 == A_SIZE and buf[p] == 91:
                        for k in range(2):
                            p = _ws(buf, p + 1, n)
                            q, v, ok = _int_value(buf, p, n)
                            if not ok or buf[p] == 116 or buf[p] == 102:
                                return -1, nc, npart, ncount, nslow
                            size[r, k] = v
                            p = _ws(buf, q, n)
                            if p >= n or buf[p] != (44 if k == 0 else 93):
                                return -1, nc, npart, ncount, nslow
                        p += 1
                        got |= 2
                    elif k2 == A_COUNTS or k2 == A_SIZE:
                        return -1, nc, npart, ncount, nslow
                    else:
                        p = _skip_value(buf, p, n)
                        if p < 0:
                            return -1, nc, npart, ncount, nslow
                    p = _ws(buf, p, n)
                    if p < n and buf[p] == 44:
                        p = _ws(buf, p + 1, n)
                    elif p < n and buf[p] == 125:
                        p += 1
                        break
                    else:
                        return -1, nc, npart, ncount, nslow
                if got != 3:
                    return -1, nc, npart, ncount, nslow
            else:
                return -1, nc, npart, ncount, nslow
        else:
            p = _skip_value(buf, p, n)
            if p < 0:
                return -1, nc, npart, ncount, nslow
        p = _ws(buf, p, n)
        if p < n and buf[p] == 44:
            p = _ws(buf, p + 1, n)
        elif p < n and buf[p] == 125:
            info[r, 0] = has
            return p + 1, nc, npart, ncount, nslow
        else:
            return -1, nc, npart, ncount, nslow


@njit(cache=True, nogil=True)
def scan_gt(buf, ints, area, box, slow, info, size, span, coords, parts, counts, cslow, top):
    """Scan a ground-truth file. Returns ``(status, n_annotations, n_coords, n_parts, n_counts,
    n_slow_coords)``; status OK, GIVE_UP, or GROW (grow the arrays and call again)."""
    n = len(buf)
    cap = len(ints)
    nc = 0
    npart = 0
    ncount = 0
    nslow = 0
    r = 0
    p = _ws(buf, 0, n)
    if p >= n or buf[p] != 123:
        return GIVE_UP, 0, 0, 0, 0, 0
    p = _ws(buf, p + 1, n)
    if p < n and buf[p] == 125:
        return (OK if _ws(buf, p + 1, n) == n else GIVE_UP), 0, 0, 0, 0, 0
    for j in range(3):
        top[j, 0] = -1
    while True:
        if p >= n or buf[p] != 34:
            return GIVE_UP, r, nc, npart, ncount, nslow
        q, esc = _string_end(buf, p, n)
        if q < 0 or esc:
            return GIVE_UP, r, nc, npart, ncount, nslow
        which = -1
        if _eq(buf, p + 1, q, W_IMAGES):
            which = 0
        elif _eq(buf, p + 1, q, W_ANNS):
            which = 1
        elif _eq(buf, p + 1, q, W_CATS):
            which = 2
        p = _ws(buf, q + 1, n)
        if p >= n or buf[p] != 58:
            return GIVE_UP, r, nc, npart, ncount, nslow
        p = _ws(buf, p + 1, n)
        if p >= n:
            return GIVE_UP, r, nc, npart, ncount, nslow
        if which >= 0 and top[which, 0] >= 0:
            return GIVE_UP, r, nc, npart, ncount, nslow  # a repeated key: leave it to orjson
        if which == 1 and buf[p] == 91:
            top[1, 0] = p
            p = _ws(buf, p + 1, n)
            if p < n and buf[p] == 93:
                p += 1
            else:
                while True:
                    if p >= n or buf[p] != 123:
                        return GIVE_UP, r, nc, npart, ncount, nslow
                    if r >= cap:
                        return GROW, r, nc, npart, ncount, nslow
                    q, nc2, np2, ncnt2, ns2 = _scan_ann(buf, p, n, r, ints, area, box, slow, info, size, coords,
                                                        nc, parts, npart, counts, ncount, cslow, nslow)
                    if q == GROW:
                        return GROW, r, nc, npart, ncount, nslow
                    if q < 0:
                        # an annotation of another shape: its bytes go to orjson
                        q = _skip_value(buf, p, n)
                        if q < 0:
                            return GIVE_UP, r, nc, npart, ncount, nslow
                        info[r, 1] = SEG_ODD
                    else:
                        nc, npart, ncount, nslow = nc2, np2, ncnt2, ns2
                    span[r, 0] = p
                    span[r, 1] = q
                    r += 1
                    p = _ws(buf, q, n)
                    if p < n and buf[p] == 44:
                        p = _ws(buf, p + 1, n)
                    elif p < n and buf[p] == 93:
                        p += 1
                        break
                    else:
                        return GIVE_UP, r, nc, npart, ncount, nslow
            top[1, 1] = p
        else:
            q = _skip_value(buf, p, n)
            if q < 0:
                return GIVE_UP, r, nc, npart, ncount, nslow
            if which >= 0:
                top[which, 0] = p
                top[which, 1] = q
            p = q
        p = _ws(buf, p, n)
        if p < n and buf[p] == 44:
            p = _ws(buf, p + 1, n)
        elif p < n and buf[p] == 125:
            return (OK if _ws(buf, p + 1, n) == n else GIVE_UP), r, nc, npart, ncount, nslow
        else:
            return GIVE_UP, r, nc, npart, ncount, nslow
