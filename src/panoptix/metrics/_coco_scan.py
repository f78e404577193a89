"""A numba scanner for COCO results files of the usual shape (private).

``[{"image_id": int, "category_id": int, "score": number,
"segmentation": {"size": [h, w], "counts": "..."}, "bbox": [4 numbers], ...}, ...]``
— other keys are skipped whatever their value. The scanner reads the bytes once,
without building Python objects, and returns flat arrays; the compressed RLE
strings stay in the buffer (still JSON-escaped: the decoder reads the escapes).

Anything else (polygon or uncompressed-RLE detections, non-integer ids, missing
fields, invalid JSON, ...) makes it give up (status != 0); the caller then
parses the file with orjson, which also reports errors precisely.

Numbers: integers exactly; decimals with at most 19 significant digits are
converted exactly when the digits fit in 53 bits and the power of ten in
[-22, 22] (one correctly rounded IEEE operation, as ``float()`` gives); other
decimals are left to Python's ``float()`` (their spans are returned).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import register_jitable

OK, GIVE_UP, FULL = 0, 1, 2

# The helpers are ``register_jitable``: compiled inside the kernels that call them rather than as
# libraries of their own, which halves the (one-off) compile time of the scanners.

# exact powers of ten; a tuple, not an array: numba freezes it as a constant (a global array can
# make a function impossible to cache)
_POW10 = tuple(10.0 ** i for i in range(23))

# key ids
K_OTHER, K_IMAGE, K_CAT, K_SCORE, K_SEG, K_BBOX, K_SIZE, K_COUNTS = 0, 1, 2, 3, 4, 5, 6, 7

_KEYS = {
    K_IMAGE: b"image_id", K_CAT: b"category_id", K_SCORE: b"score", K_SEG: b"segmentation",
    K_BBOX: b"bbox", K_SIZE: b"size", K_COUNTS: b"counts",
}


@register_jitable
def _ws(buf, p, n):
    while p < n:
        c = buf[p]
        if c == 32 or c == 10 or c == 13 or c == 9:
            p += 1
        else:
            break
    return p


@register_jitable
def _string_end(buf, p, n):
    """``p`` at the opening quote; returns (index of the closing quote, has_escape) or (-1, False)."""
    p += 1
    esc = False
    while p < n:
        c = buf[p]
        if c == 34:
            return p, esc
        if c == 92:
            esc = True
            p += 2
            continue
        if c < 32:
            return -1, esc
        p += 1
    return -1, esc


@register_jitable
def _key_id(buf, a, b):
    """Which known key ``buf[a:b]`` is (bytes between the quotes)."""
    n = b - a
    if n == 8 and buf[a] == 105:  # image_id
        if (buf[a + 1] == 109 and buf[a + 2] == 97 and buf[a + 3] == 103 and buf[a + 4] == 101
                and buf[a + 5] == 95 and buf[a + 6] == 105 and buf[a + 7] == 100):
            return K_IMAGE
    elif n == 11 and buf[a] == 99:  # category_id
        if (buf[a + 1] == 97 and buf[a + 2] == 116 and buf[a + 3] == 101 and buf[a + 4] == 103
                and buf[a + 5] == 111 and buf[a + 6] == 114 and buf[a + 7] == 121 and buf[a + 8] == 95
                and buf[a + 9] == 105 and buf[a + 10] == 100):
            return K_CAT
    elif n == 5 and buf[a] == 115:  # score
        if buf[a + 1] == 99 and buf[a + 2] == 111 and buf[a + 3] == 114 and buf[a + 4] == 101:
            return K_SCORE
    elif n == 12 and buf[a] == 115:  # segmentation
        if (buf[a + 1] == 101 and buf[a + 2] == 103 and buf[a + 3] == 109 and buf[a + 4] == 101
                and buf[a + 5] == 110 and buf[a + 6] == 116 and buf[a + 7] == 97 and buf[a + 8] == 116
                and buf[a + 9] == 105 and buf[a + 10] == 111 and buf[a + 11] == 110):
            return K_SEG
    elif n == 4 and buf[a] == 98:  # bbox
        if buf[a + 1] == 98 and buf[a + 2] == 111 and buf[a + 3] == 120:
            return K_BBOX
    elif n == 4 and buf[a] == 115:  # size
        if buf[a + 1] == 105 and buf[a + 2] == 122 and buf[a + 3] == 101:
            return K_SIZE
    elif n == 6 and buf[a] == 99:  # counts
        if (buf[a + 1] == 111 and buf[a + 2] == 117 and buf[a + 3] == 110 and buf[a + 4] == 116
                and buf[a + 5] == 115):
            return K_COUNTS
    return K_OTHER


@register_jitable
def _number(buf, p, n):
    """Parse a JSON number at ``p``.

    Returns ``(end, value, is_int, int_value, exact)``; ``end`` = -1 on a syntax error.
    ``exact`` False: the value must be re-read with Python's float().
    """
    start = p
    neg = False
    if p < n and buf[p] == 45:
        neg = True
        p += 1
    if p >= n or buf[p] < 48 or buf[p] > 57:
        return -1, 0.0, False, 0, False
    mant = np.uint64(0)
    ndig = 0
    if buf[p] == 48:
        p += 1
    else:
        while p < n and 48 <= buf[p] <= 57:
            if ndig < 19:
                mant = mant * np.uint64(10) + np.uint64(buf[p] - 48)
            ndig += 1
            p += 1
    is_int = True
    frac = 0
    if p < n and buf[p] == 46:
        is_int = False
        p += 1
        if p >= n or buf[p] < 48 or buf[p] > 57:
            return -1, 0.0, False, 0, False
        while p < n and 48 <= buf[p] <= 57:
            d = buf[p] - 48
            if ndig == 0 and d == 0:
                frac += 1  # leading zeros of 0.000x do not count as digits
            else:
                if ndig < 19:
                    mant = mant * np.uint64(10) + np.uint64(d)
                    frac += 1
                ndig += 1
            p += 1
    e = 0
    if p < n and (buf[p] == 101 or buf[p] == 69):
        is_int = False
        p += 1
        eneg = False
        if p < n and (buf[p] == 43 or buf[p] == 45):
            eneg = buf[p] == 45
            p += 1
        if p >= n or buf[p] < 48 or buf[p] > 57:
            return -1, 0.0, False, 0, False
        while p < n and 48 <= buf[p] <= 57:
            if e < 100000:
                e = e * 10 + (buf[p] - 48)
            p += 1
        if eneg:
            e = -e
    if ndig > 19:
        if is_int:
            return p, 0.0, False, 0, False  # too large an integer: give up via caller
        return p, 0.0, False, 0, False
    ival = np.int64(0)
    if is_int:
        if ndig > 18:
            return p, 0.0, False, 0, False
        ival = np.int64(mant)
        if neg:
            ival = -ival
    e10 = e - frac
    exact = mant <= np.uint64(9007199254740992) and -22 <= e10 <= 22
    val = 0.0
    if exact:
        f = float(mant)
        if e10 >= 0:
            val = f * _POW10[e10]
        else:
            val = f / _POW10[-e10]
        if neg:
            val = -val
    if mant == 0:
        val = -0.0 if neg else 0.0
        exact = True
    return p, val, is_int, ival, exact


@register_jitable
def _skip_value(buf, p, n):
    """Index after the JSON value at ``p`` (any type), -1 on a syntax error."""
    c = buf[p]
    if c == 34:
        q, _ = _string_end(buf, p, n)
        return -1 if q < 0 else q + 1
    if c == 123 or c == 91:
        depth = 0
        while p < n:
            c = buf[p]
            if c == 34:
                q, _ = _string_end(buf, p, n)
                if q < 0:
                    return -1
                p = q + 1
                continue
            if c == 123 or c == 91:
                depth += 1
            elif c == 125 or c == 93:
                depth -= 1
                if depth == 0:
                    return p + 1
            p += 1
        return -1
    if c == 116:  # true
        ok = p + 4 <= n and buf[p + 1] == 114 and buf[p + 2] == 117 and buf[p + 3] == 101
        return p + 4 if ok else -1
    if c == 110:  # null
        ok = p + 4 <= n and buf[p + 1] == 117 and buf[p + 2] == 108 and buf[p + 3] == 108
        return p + 4 if ok else -1
    if c == 102:  # false
        ok = (p + 5 <= n and buf[p + 1] == 97 and buf[p + 2] == 108 and buf[p + 3] == 115
              and buf[p + 4] == 101)
        return p + 5 if ok else -1
    q, _, _, _, _ = _number(buf, p, n)
    return q


class ScanOutput:
    """Flat arrays the scanner fills, one row per detection record (capacity ``cap``)."""

    def __init__(self, cap: int, with_boxes: bool):
        self.img = np.zeros(cap, np.int64)
        self.cat = np.zeros(cap, np.int64)
        self.score = np.zeros(cap)
        self.slow = np.full(cap, -1, np.int64)        # start of a score to re-read, -1 if exact
        self.seg = np.zeros((cap, 2), np.int64)       # counts string: [start, end) in the buffer
        self.size = np.zeros((cap, 2), np.int64)
        self.has = np.zeros(cap, np.uint8)            # 1 image_id, 2 category_id, 4 score, 8 seg, 16 bbox
        nb = cap if with_boxes else 0
        self.bbox = np.zeros((nb, 4))
        self.bbox_slow = np.full((nb, 4), -1, np.int64)
        self.bbox_len = np.zeros(nb, np.int64)

    def run(self, buf):
        """``(status, n)``: OK, GIVE_UP (use the general parser) or FULL (capacity too small)."""
        return scan_results(buf, self.img, self.cat, self.score, self.slow, self.seg, self.size, self.has,
                            self.bbox, self.bbox_slow, self.bbox_len)


@register_jitable
def _scan_segmentation(buf, p, n, r, seg, size):
    """``{"size": [h, w], "counts": "..."}`` at ``p`` (keys in any order, others skipped).
    Returns the index after it, or -1."""
    p = _ws(buf, p + 1, n)
    got = 0
    while True:
        if p >= n or buf[p] != 34:
            return -1
        q, esc = _string_end(buf, p, n)
        if q < 0 or esc:
            return -1
        key = _key_id(buf, p + 1, q)
        p = _ws(buf, q + 1, n)
        if p >= n or buf[p] != 58:
            return -1
        p = _ws(buf, p + 1, n)
        if p >= n:
            return -1
        if key == K_COUNTS:
            if buf[p] != 34:
                return -1
            q, esc = _string_end(buf, p, n)
            if q < 0:
                return -1
            seg[r, 0] = p + 1
            seg[r, 1] = q
            got |= 1
            p = q + 1
        elif key == K_SIZE:
            if buf[p] != 91:
                return -1
            for k in range(2):
                p = _ws(buf, p + 1, n)
                q, v, is_int, iv, ex = _number(buf, p, n)
                if q < 0 or not is_int:
                    return -1
                size[r, k] = iv
                p = _ws(buf, q, n)
                if p >= n or buf[p] != (44 if k == 0 else 93):
                    return -1
            p += 1
            got |= 2
        else:
            p = _skip_value(buf, p, n)
            if p < 0:
                return -1
        p = _ws(buf, p, n)
        if p < n and buf[p] == 44:
            p = _ws(buf, p + 1, n)
        elif p < n and buf[p] == 125:
            return p + 1 if got == 3 else -1
        else:
            return -1


@register_jitable
def _scan_box(buf, p, n, r, bbox, bbox_slow, bbox_len):
    """``[x, y, w, h]`` (or ``[]``) at ``p``; returns the index after it, or -1."""
    p = _ws(buf, p + 1, n)
    k = 0
    if p < n and buf[p] == 93:
        bbox_len[r] = 0
        return p + 1
    while True:
        q, v, is_int, iv, ex = _number(buf, p, n)
        if q < 0 or k >= 4:
            return -1
        bbox[r, k] = v
        bbox_slow[r, k] = -1 if ex else p
        k += 1
        p = _ws(buf, q, n)
        if p < n and buf[p] == 44:
            p = _ws(buf, p + 1, n)
        elif p < n and buf[p] == 93:
            bbox_len[r] = k
            return p + 1
        else:
            return -1


@register_jitable
def _scan_record(buf, p, n, r, img, cat, score, slow, seg, size, has, bbox, bbox_slow, bbox_len):
    """One ``{...}`` detection record at ``p``; returns the index after it, or -1."""
    p = _ws(buf, p + 1, n)
    flags = 0
    if p < n and buf[p] == 125:
        has[r] = 0
        return p + 1
    while True:
        if p >= n or buf[p] != 34:
            return -1
        q, esc = _string_end(buf, p, n)
        if q < 0 or esc:
            return -1
        key = _key_id(buf, p + 1, q)
        p = _ws(buf, q + 1, n)
        if p >= n or buf[p] != 58:
            return -1
        p = _ws(buf, p + 1, n)
        if p >= n:
            return -1
        if key == K_IMAGE or key == K_CAT or key == K_SCORE:
            q, v, is_int, iv, ex = _number(buf, p, n)
            if q < 0:
                return -1
            if key == K_SCORE:
                score[r] = v
                slow[r] = -1 if ex else p
                flags |= 4
            elif not is_int:
                return -1
            elif key == K_IMAGE:
                img[r] = iv
                flags |= 1
            else:
                cat[r] = iv
                flags |= 2
            p = q
        elif key == K_BBOX:
            if buf[p] != 91 or len(bbox_len) <= r:
                return -1
            p = _scan_box(buf, p, n, r, bbox, bbox_slow, bbox_len)
            flags |= 16
        elif key == K_SEG:
            if buf[p] != 123:
                return -1
            p = _scan_segmentation(buf, p, n, r, seg, size)
            flags |= 8
        else:
            p = _skip_value(buf, p, n)
        if p < 0:
            return -1
        p = _ws(buf, p, n)
        if p < n and buf[p] == 44:
            p = _ws(buf, p + 1, n)
        elif p < n and buf[p] == 125:
            has[r] = flags
            return p + 1
        else:
            return -1


@njit(cache=True, nogil=True)
def scan_results(buf, img, cat, score, slow, seg, size, has, bbox, bbox_slow, bbox_len):
    """Scan a results file into the given arrays; returns ``(status, n_records)``."""
    n = len(buf)
    cap = len(img)
    r = 0
    p = _ws(buf, 0, n)
    if p >= n or buf[p] != 91:
        return GIVE_UP, 0
    p = _ws(buf, p + 1, n)
    if p < n and buf[p] == 93:
        return (OK if _ws(buf, p + 1, n) == n else GIVE_UP), 0
    while True:
        if r >= cap:
            return FULL, r
        if p >= n or buf[p] != 123:
            return GIVE_UP, r
        p = _scan_record(buf, p, n, r, img, cat, score, slow, seg, size, has, bbox, bbox_slow, bbox_len)
        if p < 0:
            return GIVE_UP, r
        r += 1
        p = _ws(buf, p, n)
        if p < n and buf[p] == 44:
            p = _ws(buf, p + 1, n)
        elif p < n and buf[p] == 93:
            return (OK if _ws(buf, p + 1, n) == n else GIVE_UP), r
        else:
            return GIVE_UP, r


@njit(cache=True, nogil=True)
def count_byte(buf, value):
    n = 0
    for c in buf:
        if c == value:
            n += 1
    return n
