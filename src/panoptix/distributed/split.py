"""Streaming split of huge COCO JSON files by image id, one shard file per group of images.

A results file of millions of detections does not fit one process as Python objects
(pycocotools needs ~30x the file size). :func:`split_by_image` reads it in a single
streaming pass of fixed-size chunks: a small numba scanner finds where each element
of the top-level array (or of an array under a top-level key, such as COCO's
``annotations``) starts and ends, only the chunk at hand is parsed, and each element's
raw bytes are appended, unchanged, to the file of the shard its ``image_id`` belongs to.
Memory stays at a chunk plus the write buffers, whatever the file size.

Shards are consecutive runs of the ground truth's image ids in sorted order (the order
pycocotools evaluates in), ``shard_size`` images each. Every shard gets a ground-truth
file (``{"images": [...], "annotations": [...], "categories": [...]}``) and a
prediction file (a results list, or ``{"annotations": [...]}`` for COCO panoptic), so a
worker reads its own images' labels and nothing else.

Examples
--------
>>> import json, os, tempfile
>>> d = tempfile.mkdtemp()
>>> p = os.path.join(d, "res.json")
>>> with open(p, "w") as fh:
...     json.dump([{"image_id": 1, "score": 0.5}, {"image_id": 2, "score": 0.25}], fh)
>>> [r["score"] for r in iter_json_array(p)]
[0.5, 0.25]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import orjson
from numba import njit

from ..core.errors import FormatError, OutputError, ValidationError

__all__ = ["iter_json_array", "split_by_image", "split_panoptic", "shard_ids", "Shard", "ShardPlan", "PanopticShards",
           "DEFAULT_CHUNK", "is_url", "local_copy"]

#: Bytes read per step of the streaming scanner.
DEFAULT_CHUNK = 8 << 20
# Events the scanner reports per call before handing back to Python.
_EVENT_CAP = 1 << 16
# Shard writers flush their buffers to disk beyond this many bytes in total.
_FLUSH_BYTES = 32 << 20

# Scanner state slots (one int64 array carried across chunks).
(_DEPTH, _INSTR, _ESC, _CUR, _SCALAR, _CURSTR, _KEY, _EXPECTKEY, _DONE, _ERR,
 _EXPECTKEY2, _KEY2, _WANT, _VAL, _VSCALAR, _VSTR) = range(16)
_N_STATE = 16
# Event kinds: a value at the target depth, a key of the object around it, the value of
# the wanted key ("image_id") inside an object at the target depth.
_ELEMENT, _MEMBER, _FIELD = 0, 1, 2


@njit(cache=True)
def _is_delim(c):
    return c == 44 or c == 93 or c == 125 or c == 58 or c == 32 or c == 9 or c == 10 or c == 13


@njit(cache=True)
def _scan(buf, pos, end, st, target, field, kinds, starts, ends):
    """Scan ``buf[pos:end]``; report as byte spans the values at depth ``target`` (kind 0),
    the keys of the object at depth ``target - 1`` (kind 1), and, inside each object at depth
    ``target``, the value of the key ``field`` (the key's bytes with its quotes; kind 2).
    Resumable: all state is in ``st``. Returns (position reached, number of events)."""
    cap = kinds.shape[0]
    nf = field.shape[0]
    depth = st[0]
    in_str = st[1]
    esc = st[2]
    cur = st[3]
    scalar = st[4]
    cur_str = st[5]
    kstart = st[6]
    expect_key = st[7]
    done = st[8]
    expect_key2 = st[10]
    k2start = st[11]
    want = st[12]
    vstart = st[13]
    vscalar = st[14]
    vstr = st[15]
    n = 0
    i = pos
    while i < end and n < cap - 3:
        if in_str and not esc:
            # Inside a string only a quote or a backslash matters: skip to the next one
            # (RLE strings are most of a COCO results file).
            while i < end:
                c = buf[i]
                if c == 34:
                    break
                if c == 92:  # an escape: skip it and the character it escapes
                    if i + 1 >= end:
                        break
                    i += 2
                    continue
                i += 1
            if i >= end:
                break
        c = buf[i]
        if in_str:
            if esc:
                esc = 0
            elif c == 92:  # backslash
                esc = 1
            elif c == 34:  # closing quote
                in_str = 0
                if cur_str:
                    kinds[n] = 0
                    starts[n] = cur
                    ends[n] = i + 1
                    n += 1
                    cur = -1
                    cur_str = 0
                elif kstart >= 0:
                    kinds[n] = 1
                    starts[n] = kstart
                    ends[n] = i + 1
                    n += 1
                    kstart = -1
                elif k2start >= 0:
                    if i + 1 - k2start == nf:
                        same = 1
                        for j in range(nf):
                            if buf[k2start + j] != field[j]:
                                same = 0
                                break
                        want = same
                    k2start = -1
                elif vstr:
                    kinds[n] = 2
                    starts[n] = vstart
                    ends[n] = i + 1
                    n += 1
                    vstart = -1
                    vstr = 0
                    want = 0
            i += 1
            continue
        if scalar:
            if _is_delim(c):
                kinds[n] = 0
                starts[n] = cur
                ends[n] = i
                n += 1
                cur = -1
                scalar = 0
            else:
                i += 1
                continue
        if vscalar:
            if _is_delim(c):
                kinds[n] = 2
                starts[n] = vstart
                ends[n] = i
                n += 1
                vstart = -1
                vscalar = 0
                want = 0
            else:
                i += 1
                continue
        if c == 32 or c == 9 or c == 10 or c == 13:
            pass
        elif done:
            st[9] = i + 1  # content after the end of the document
            break
        elif c == 34:
            in_str = 1
            if depth == target and cur < 0:
                cur = i
                cur_str = 1
            elif depth == target - 1 and expect_key:
                kstart = i
                expect_key = 0
            elif depth == target + 1 and cur >= 0:
                if expect_key2:
                    k2start = i
                    expect_key2 = 0
                elif want:
                    vstart = i
                    vstr = 1
        elif c == 123 or c == 91:  # { [
            if depth == target and cur < 0:
                cur = i
            if depth == target + 1:
                want = 0  # a container is no image id: the element reports none
            depth += 1
            if depth == target - 1 and c == 123:
                expect_key = 1
            if depth == target + 1 and c == 123:
                expect_key2 = 1
        elif c == 125 or c == 93:  # } ]
            depth -= 1
            if depth < 0:
                st[9] = i + 1
                break
            if depth == target and cur >= 0:
                kinds[n] = 0
                starts[n] = cur
                ends[n] = i + 1
                n += 1
                cur = -1
                want = 0
            if depth == 0:
                done = 1
        elif c == 44:  # ,
            if depth == target - 1:
                expect_key = 1
            elif depth == target + 1:
                expect_key2 = 1
        elif c == 58:  # :
            pass
        else:
            if depth == 0:
                done = 1  # a top-level scalar; the caller refuses it
            elif depth == target and cur < 0:
                cur = i
                scalar = 1
            elif depth == target + 1 and want:
                vstart = i
                vscalar = 1
        i += 1
    st[0] = depth
    st[1] = in_str
    st[2] = esc
    st[3] = cur
    st[4] = scalar
    st[5] = cur_str
    st[6] = kstart
    st[7] = expect_key
    st[8] = done
    st[10] = expect_key2
    st[11] = k2start
    st[12] = want
    st[13] = vstart
    st[14] = vscalar
    st[15] = vstr
    return i, n


@njit(cache=True)
def _parse_ints(buf, starts, ends, out):
    """Decimal integers at the given spans; ``ok[k]`` is False where a span is anything else."""
    ok = np.ones(starts.shape[0], np.bool_)
    for k in range(starts.shape[0]):
        s, e = starts[k], ends[k]
        if s < 0 or e - s > 18 or e <= s:
            ok[k] = False
            continue
        neg = buf[s] == 45
        j = s + 1 if neg else s
        if j >= e:
            ok[k] = False
            continue
        v = 0
        for q in range(j, e):
            c = buf[q]
            if c < 48 or c > 57:
                ok[k] = False
                break
            v = v * 10 + (c - 48)
        out[k] = -v if neg else v
    return ok


def is_url(path) -> bool:
    """True for an fsspec URL (``s3://bucket/key``, ``gs://...``, ``file://...``)."""
    return isinstance(path, str) and "://" in path


def _source(path):
    """A local path as Path, an fsspec URL kept as a string."""
    return path if is_url(path) else Path(path)


def _open(path):
    """Open a local file or an fsspec URL for reading bytes (streamed, never read whole)."""
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open(path, "rb")


def _first_byte(path) -> int:
    """The first non-whitespace byte of a file (-1 when empty)."""
    try:
        with _open(path) as fh:
            while True:
                block = fh.read(4096)
                if not block:
                    return -1
                stripped = block.lstrip(b" \t\r\n\xef\xbb\xbf")
                if stripped:
                    return stripped[0]
    except FileNotFoundError:
        raise FormatError("file not found", file=path) from None
    except IsADirectoryError:
        raise FormatError("is a folder, expected a JSON file", file=path) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None


_NO_FIELD = np.frombuffer(b"\x00", np.uint8)  # matches no key


def _events(path, target: int, chunk_size: int, field: bytes | None = None
            ) -> Iterator[tuple[bytes, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(buffer, kinds, starts, ends)`` batches of spans, chunk by chunk."""
    st = np.zeros(_N_STATE, np.int64)
    for slot in (_CUR, _KEY, _KEY2, _VAL):
        st[slot] = -1
    fld = np.frombuffer(b'"' + field.encode() + b'"', np.uint8) if field else _NO_FIELD
    kinds = np.empty(_EVENT_CAP, np.int8)
    starts = np.empty(_EVENT_CAP, np.int64)
    ends = np.empty(_EVENT_CAP, np.int64)
    buf = b""
    scan_from = 0
    offset = 0  # file offset of buf[0], for error messages
    # Field values of an element whose end is not reported yet wait for it (with their element).
    held = (np.zeros(0, np.int8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    with _open(path) as fh:
        while True:
            data = fh.read(chunk_size)
            if not data:
                break
            buf = buf + data if buf else data
            arr = np.frombuffer(buf, np.uint8)
            pos = scan_from
            while pos < len(buf):
                pos, n = _scan(arr, pos, len(buf), st, target, fld, kinds, starts, ends)
                if st[_ERR]:
                    raise FormatError(f"invalid JSON near byte {offset + int(st[_ERR]) - 1}", file=path)
                k = np.concatenate([held[0], kinds[:n]])
                a = np.concatenate([held[1], starts[:n]])
                b = np.concatenate([held[2], ends[:n]])
                closed = np.flatnonzero(k != _FIELD)
                cut = int(closed[-1]) + 1 if len(closed) else 0
                held = (k[cut:], a[cut:], b[cut:])
                if cut:
                    yield buf, k[:cut], a[:cut], b[:cut]
            # Keep only the bytes of the element or key still open.
            keep = len(buf)
            for slot in (_CUR, _KEY):
                if st[slot] >= 0:
                    keep = min(keep, int(st[slot]))
            for slot in (_CUR, _KEY, _KEY2, _VAL):
                if st[slot] >= 0:
                    st[slot] -= keep
            held = (held[0], held[1] - keep, held[2] - keep)
            buf = buf[keep:]
            offset += keep
            scan_from = len(buf)
    if st[_DEPTH] != 0 or st[_INSTR] or not st[_DONE]:
        raise FormatError("truncated JSON (the file ends inside a value)", file=path)


def _parse_run(buf: bytes, s: int, e: int, path):
    """Parse a run of comma-separated elements ``buf[s:e]`` in one call."""
    try:
        return orjson.loads(b"[" + buf[s:e] + b"]")
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON: {exc}", file=path) from None


def _member_batches(path, key: str | None, chunk_size: int, *, keys: Sequence[str] | None = None,
                    field: str | None = None):
    """Yield ``(member_key, buf, starts, ends, field_starts, field_ends)`` for runs of elements of
    the array at ``key`` (``None``: the top-level array), or of every member in ``keys``. With
    ``field``, ``field_starts/ends`` give each element's span of that key's value (-1: none)."""
    first = _first_byte(path)
    if key is None and keys is None:
        if first != ord("["):
            raise FormatError("expected a JSON array" + ("" if first >= 0 else " (the file is empty)"), file=path)
        target = 1
    else:
        if first != ord("{"):
            raise FormatError("expected a JSON object" + ("" if first >= 0 else " (the file is empty)"), file=path)
        target = 2
    wanted = set(keys) if keys is not None else {key}
    current = None
    for buf, kinds, starts, ends in _events(path, target, chunk_size, field):
        members = np.flatnonzero(kinds == _MEMBER)
        cuts = np.concatenate([[-1], members, [len(kinds)]])
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            if a >= 0:
                current = orjson.loads(buf[starts[a]:ends[a]])
            if (target != 1 and current not in wanted) or b - a <= 1:
                continue
            k, s, e = kinds[a + 1:b], starts[a + 1:b], ends[a + 1:b]
            el = np.flatnonzero(k == _ELEMENT)
            if not len(el):
                continue
            fs = np.full(len(el), -1, np.int64)
            fe = np.full(len(el), -1, np.int64)
            fv = np.flatnonzero(k == _FIELD)
            if len(fv):
                owner = np.searchsorted(el, fv)  # the element each value lies in
                fs[owner] = s[fv]
                fe[owner] = e[fv]
            yield current, buf, s[el], e[el], fs, fe


def iter_json_array(path, *, key: str | None = None, chunk_size: int = DEFAULT_CHUNK) -> Iterator:
    """Stream the elements of a JSON array without loading the file.

    Parameters
    ----------
    path : path
        A file holding a JSON array (a COCO results list), or a JSON object when ``key`` is given.
    key : str, optional
        Stream the array under this top-level key (``"annotations"``) instead.
    chunk_size : int
        Bytes read at a time; memory stays near this, whatever the file size.

    Yields
    ------
    object
        Each element, parsed (orjson).

    Raises
    ------
    FormatError
        Naming the file: not an array/object, invalid or truncated JSON.
    """
    for _, buf, starts, ends, _, _ in _member_batches(path, key, chunk_size):
        yield from _parse_run(buf, int(starts[0]), int(ends[-1]), path)


# --------------------------------------------------------------------------- shards
def _sort_key(image_id):
    return (isinstance(image_id, str), image_id)


def shard_ids(image_ids: Sequence, shard_size: int) -> list[list]:
    """Image ids in sorted order (as pycocotools evaluates them), cut into runs of ``shard_size``.

    Examples
    --------
    >>> shard_ids([5, 1, 3, 2, 4], 2)
    [[1, 2], [3, 4], [5]]
    """
    if int(shard_size) < 1:
        raise FormatError(f"shard_size must be at least 1, got {shard_size}")
    ids = sorted(image_ids, key=_sort_key)
    return [ids[i:i + shard_size] for i in range(0, len(ids), shard_size)]


@dataclass
class Shard:
    """One group of images and the files holding their labels.

    Attributes
    ----------
    index : int
    image_ids : list
        In sorted order.
    gt : str
        The shard's ground-truth JSON (images, annotations, categories).
    pred : str or None
        The shard's predictions JSON.
    n_gt, n_pred : int
        Annotations and predictions written to the shard files.
    pred_index : str or None
        A ``.npy`` file: for each prediction of the shard, its 0-based position in the
        original file (so that errors can name it as the whole file counts).
    """

    index: int
    image_ids: list
    gt: str
    pred: str | None = None
    n_gt: int = 0
    n_pred: int = 0
    pred_index: str | None = None


@dataclass
class ShardPlan:
    """The result of :func:`split_by_image`: the shards and the folder that holds them."""

    root: str
    shards: list[Shard] = field(default_factory=list)
    owned: bool = False
    gt_dropped: int = 0

    def cleanup(self) -> None:
        """Remove the shard folder (only when :func:`split_by_image` created it)."""
        if not self.owned:
            return
        if is_url(self.root):
            import fsspec

            fs, folder = fsspec.core.url_to_fs(self.root)
            with contextlib.suppress(FileNotFoundError):
                fs.rm(folder, recursive=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ShardPlan":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def __len__(self) -> int:
        return len(self.shards)


class _ShardFiles:
    """Per-shard output files written as JSON arrays, from raw element bytes, with bounded buffers."""

    def __init__(self, paths: list[Path], *, head: bytes = b"[", tail: bytes = b"]"):
        self.paths = paths
        self.head, self.tail = head, tail
        self.pending: list[list[bytes]] = [[] for _ in paths]
        self.started = [False] * len(paths)
        self.count = [0] * len(paths)
        self.size = 0

    def grow(self, paths: list[Path]) -> None:
        """Add shards (their files are created on first write)."""
        self.paths = list(self.paths) + list(paths)
        self.pending += [[] for _ in paths]
        self.started += [False] * len(paths)
        self.count += [0] * len(paths)

    def add(self, shard: int, raw: bytes, n: int) -> None:
        self.pending[shard].append(raw)
        self.count[shard] += n
        self.size += len(raw)
        if self.size > _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        for k, parts in enumerate(self.pending):
            if not parts:
                continue
            with open(self.paths[k], "ab") as fh:
                for raw in parts:
                    fh.write(b"," if self.started[k] else self.head)
                    self.started[k] = True
                    fh.write(raw)
            parts.clear()
        self.size = 0

    def close(self, extra: bytes = b"") -> None:
        self.flush()
        for k, path in enumerate(self.paths):
            with open(path, "ab") as fh:
                fh.write((b"" if self.started[k] else self.head) + self.tail + extra)


def _image_ids(buf: bytes, starts, ends, fs, fe, seen: int, path, what: str) -> list:
    """The ``image_id`` of each element from its value span (integers parsed in numba, anything
    else by orjson); FormatError for an element that is not an object or has none."""
    arr = np.frombuffer(buf, np.uint8)
    not_obj = arr[starts] != 123  # "{"
    if not_obj.any():
        k = int(np.flatnonzero(not_obj)[0])
        raise FormatError(f"{what} #{seen + k + 1} is not an object: {buf[starts[k]:ends[k]][:40]!r}", file=path)
    missing = fs < 0
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        raise FormatError(f"{what} #{seen + k + 1} has no 'image_id' field", file=path)
    vals = np.empty(len(fs), np.int64)
    ok = _parse_ints(arr, fs, fe, vals)
    if ok.all():
        return vals
    ids = vals.tolist()
    for k in np.flatnonzero(~ok).tolist():
        try:
            ids[k] = orjson.loads(buf[fs[k]:fe[k]])
        except orjson.JSONDecodeError:
            raise FormatError(f"{what} #{seen + k + 1}: invalid JSON", file=path) from None
    return ids


class ShardLookup(dict):
    """``{image_id: shard}`` with a vectorised path for integer ids (sorted id array + the shard
    of each)."""

    def __init__(self, groups: list[list]):
        super().__init__((iid, k) for k, g in enumerate(groups) for iid in g)
        ints = [i for g in groups for i in g if type(i) is int]
        self.sorted_ids = None
        if ints and len(ints) == len(self) and max(map(abs, ints)) < 2 ** 62:
            order = np.argsort(np.array(ints, np.int64), kind="stable")
            self.sorted_ids = np.array(ints, np.int64)[order]
            self.shard_of_sorted = np.array([self[i] for i in ints], np.int64)[order]


def _lookup(ids, shard_of: dict) -> np.ndarray:
    """The shard of each id (-1: not in the ground truth)."""
    table = getattr(shard_of, "sorted_ids", None)
    if table is not None and isinstance(ids, np.ndarray):
        if not len(table):
            return np.full(len(ids), -1, np.int64)
        pos = np.minimum(np.searchsorted(table, ids), len(table) - 1)
        return np.where(table[pos] == ids, shard_of.shard_of_sorted[pos], -1)
    out = np.empty(len(ids), np.int64)
    for k, iid in enumerate(ids):
        try:
            out[k] = shard_of.get(iid, -1)
        except TypeError:  # unhashable: a list or an object
            out[k] = -1
    return out


def _route(path, key, shard_of: dict, files: _ShardFiles, *, what: str, chunk_size: int,
           unknown: str = "error", index_of: list | None = None, coco_results: bool = False) -> tuple[int, int]:
    """Append each element of the array at ``key`` to its shard's file, unparsed.

    Only each element's ``image_id`` is read (the scanner reports where its value is).
    ``unknown="drop"`` leaves out elements whose image is not in the ground truth (as pycocotools
    does for ground-truth annotations); ``"error"`` raises. ``index_of`` (one list per shard)
    collects each written element's 0-based position in the file. ``coco_results`` applies
    pycocotools' first-record rule per shard (see :func:`split_by_image`).
    Returns (elements read, elements dropped).
    """
    seen = dropped = 0
    box_branch = None
    for _, buf, starts, ends, fs, fe in _member_batches(path, key, chunk_size, field="image_id"):
        ids = _image_ids(buf, starts, ends, fs, fe, seen, path, what)
        shards = _lookup(ids, shard_of)
        if unknown == "error" and (shards < 0).any():
            k = int(np.flatnonzero(shards < 0)[0])
            iid = ids[k].item() if isinstance(ids, np.ndarray) else ids[k]
            raise FormatError(f"{what} #{seen + k + 1} is for an image that is not in the ground truth",
                              file=path, image_id=iid if isinstance(iid, (int, str)) else None)
        if coco_results and box_branch is None:
            # pycocotools' loadRes takes areas from boxes when the file's first record has a
            # non-empty "bbox", from masks otherwise; shard files must follow the whole file.
            first = _parse_run(buf, int(starts[0]), int(ends[0]), path)[0]
            box_branch = "bbox" in first and first["bbox"] != []
        # Elements of one image (or shard) usually come together: write each run as one slice.
        cut = np.flatnonzero(np.diff(shards)) + 1
        bounds = np.concatenate([[0], cut, [len(shards)]])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            sh = int(shards[a])
            if sh < 0:
                dropped += b - a
                continue
            if index_of is not None:
                index_of[sh].append(np.arange(seen + a, seen + b, dtype=np.int64))
            if coco_results and not box_branch and not files.started[sh] and not files.pending[sh]:
                first = _parse_run(buf, int(starts[a]), int(ends[a]), path)[0]
                if "bbox" in first and first["bbox"] != []:
                    # This shard's first record would switch it to the box rule: its "bbox"
                    # (unused by the mask rule) is left out of the shard file.
                    files.add(sh, orjson.dumps({k: v for k, v in first.items() if k != "bbox"}), 1)
                    a += 1
                    if a == b:
                        continue
            files.add(sh, buf[int(starts[a]):int(ends[b - 1])], b - a)
        seen += len(ids)
    return seen, dropped


def _read_gt_images(gt_path, chunk_size: int) -> tuple[list[dict], list[bytes], bytes | None]:
    """The ``images`` records (parsed) with their raw bytes, and the raw ``categories`` array."""
    images: list[dict] = []
    raws: list[bytes] = []
    cat_parts: list[bytes] = []
    have_images = False
    for member, buf, starts, ends, _, _ in _member_batches(gt_path, None, chunk_size, keys=("images", "categories")):
        if member == "images":
            have_images = True
            recs = _parse_run(buf, int(starts[0]), int(ends[-1]), gt_path)
            images.extend(recs)
            raws.extend(buf[int(s):int(e)] for s, e in zip(starts.tolist(), ends.tolist()))
        else:
            _parse_run(buf, int(starts[0]), int(ends[-1]), gt_path)  # validates
            cat_parts.append(buf[int(starts[0]):int(ends[-1])])
    if not have_images:
        # An empty "images" list has no elements to report; look for the key itself.
        have_images = _has_key(gt_path, "images", chunk_size)
        if not have_images:
            raise FormatError("COCO JSON has no 'images' field", file=gt_path)
    return images, raws, (b",".join(cat_parts) if cat_parts else None)


def _has_key(path, key: str, chunk_size: int) -> bool:
    for buf, kinds, starts, ends in _events(path, 2, chunk_size):
        for k in np.flatnonzero(kinds == 1).tolist():
            if orjson.loads(buf[starts[k]:ends[k]]) == key:
                return True
    return False


def split_by_image(gt, pred, out_dir=None, *, shard_size: int = 1000, pred_key: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK) -> ShardPlan:
    """Split a COCO ground truth and its predictions into per-shard files, streaming.

    Parameters
    ----------
    gt : path or fsspec URL (``s3://...``)
        COCO JSON (instances or panoptic) with ``images``, ``annotations``, ``categories``;
        read as a stream, never whole.
    pred : path, fsspec URL or None
        The predictions: a COCO results list (``pred_key=None``) or a JSON object whose
        ``pred_key`` array holds per-image records.
    out_dir : path or fsspec URL, optional
        Folder for the shard files (created; must be empty or absent). Default: a new
        temporary folder, removed by :meth:`ShardPlan.cleanup`. A URL (``s3://bucket/tmp``):
        the shards are written here and uploaded into a new folder under it (removed by
        ``cleanup``), so workers need no shared file system.
    shard_size : int
        Images per shard.
    pred_key : str, optional
        See ``pred``.
    chunk_size : int
        Bytes read at a time.

    Returns
    -------
    ShardPlan

    Raises
    ------
    FormatError
        Naming the file, image id and annotation id: invalid or truncated JSON, an element
        that is not an object or has no ``image_id``, a prediction for an image that is not
        in the ground truth, image ids of mixed types.

    Notes
    -----
    The rules of pycocotools hold across shards: ground-truth annotations of images that
    are not in ``images`` are left out (counted in :attr:`ShardPlan.gt_dropped`); a
    repeated image record goes to the shard of its id (the last one wins when read);
    ``loadRes`` decides from the results file's *first* record whether detection areas
    come from boxes, so when that record has no box, a shard whose first record has one
    gets it without its (then unused) ``bbox``. Element bytes are otherwise copied
    unchanged and in file order, so ties between equal scores break as in the whole file.
    Nothing is half-written: on error the shard folder is removed.
    """
    url = out_dir if is_url(out_dir) else None
    owned = out_dir is None or url is not None
    root = _make_root(None if url else out_dir)
    try:
        plan = _split(_source(gt), None if pred is None else _source(pred), root, shard_size, pred_key, chunk_size)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    plan.owned = owned
    return _upload(plan, url) if url else plan


def _split(gt: Path, pred: Path | None, root: Path, shard_size: int, pred_key, chunk_size: int) -> ShardPlan:
    images, raws, cats = _read_gt_images(gt, chunk_size)
    ids = []
    for k, rec in enumerate(images):
        if type(rec) is not dict or "id" not in rec:
            raise FormatError(f"image record #{k + 1} has no 'id'", file=gt)
        ids.append(rec["id"])
    try:
        unique = sorted(set(ids))  # a repeated image record: the last one wins, as in pycocotools
    except TypeError:
        raise FormatError("image ids must all be numbers or all be strings", file=gt) from None
    groups = shard_ids(unique, shard_size)
    shard_of = ShardLookup(groups)
    raw_of: dict = {}
    for iid, raw in zip(ids, raws):
        raw_of.setdefault(iid, []).append(raw)
    gt_paths = [root / f"gt-{k:05d}.json" for k in range(len(groups))]
    pred_paths = [root / f"pred-{k:05d}.json" for k in range(len(groups))]
    # Ground truth shard: {"images": [...], "categories": [...], "annotations": [...]}.
    for k, g in enumerate(groups):
        head = (b'{"images":[' + b",".join(r for i in g for r in raw_of[i]) + b'],"categories":['
                + (cats or b"") + b"],")
        gt_paths[k].write_bytes(head)
    gt_files = _ShardFiles(gt_paths, head=b'"annotations":[', tail=b"]")
    n_gt, dropped = _route(gt, "annotations", shard_of, gt_files, what="annotation", chunk_size=chunk_size,
                           unknown="drop")
    gt_files.close(extra=b"}")
    if n_gt == 0 and not _has_key(gt, "annotations", chunk_size):
        raise FormatError("COCO JSON has no 'annotations' field", file=gt)
    plan = ShardPlan(str(root), gt_dropped=dropped)
    pred_counts = [0] * len(groups)
    index_of: list[list] = [[] for _ in groups]
    if pred is not None:
        if pred_key is None:
            pred_files = _ShardFiles(pred_paths)
            _route(pred, None, shard_of, pred_files, what="detection", chunk_size=chunk_size, index_of=index_of,
                   coco_results=True)
            pred_files.close()
        else:
            pred_files = _ShardFiles(pred_paths, head=b'{"' + pred_key.encode() + b'":[', tail=b"]")
            n, _ = _route(pred, pred_key, shard_of, pred_files, what="prediction", chunk_size=chunk_size,
                          index_of=index_of)
            pred_files.close(extra=b"}")
            if n == 0 and not _has_key(pred, pred_key, chunk_size):
                raise FormatError(f"JSON has no {pred_key!r} field", file=pred)
        pred_counts = pred_files.count
    for k, g in enumerate(groups):
        index = np.concatenate(index_of[k]) if index_of[k] else np.zeros(0, np.int64)
        index_path = None
        if pred is not None:
            index_path = root / f"index-{k:05d}.npy"
            np.save(index_path, index)
        plan.shards.append(Shard(k, g, os.fspath(gt_paths[k]), os.fspath(pred_paths[k]) if pred else None,
                                 gt_files.count[k], pred_counts[k],
                                 None if index_path is None else os.fspath(index_path)))
    return plan


# --------------------------------------------------------------------------- COCO panoptic
@dataclass
class PanopticShards(ShardPlan):
    """:func:`split_panoptic`'s result: shards of consecutive ground-truth annotations."""

    categories: list = field(default_factory=list)
    #: 0-based position of each shard's first annotation in the ground-truth file.
    starts: list = field(default_factory=list)


def split_panoptic(gt, pred, out_dir=None, *, shard_size: int = 256, chunk_size: int = DEFAULT_CHUNK
                   ) -> PanopticShards:
    """Split COCO panoptic ground truth and predictions JSON into shards, streaming.

    panopticapi evaluates the ground truth's ``annotations`` in file order (not ``images``),
    so a shard here is ``shard_size`` consecutive annotations; each prediction record goes to
    the shard of its ``image_id``. Every shard file holds ``{"annotations": [...],
    "categories": [...]}``.

    Raises
    ------
    FormatError, ValidationError
        Naming the file and image: invalid JSON, a record without ``image_id``, two
        predictions for one image, a ground-truth image without prediction. Predictions for
        images the ground truth does not annotate are left out, as panopticapi does.
    """
    url = out_dir if is_url(out_dir) else None
    owned = out_dir is None or url is not None
    root = _make_root(None if url else out_dir)
    try:
        plan = _split_panoptic(_source(gt), _source(pred), root, int(shard_size), chunk_size)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    plan.owned = owned
    return _upload(plan, url) if url else plan


def _upload(plan: ShardPlan, url: str) -> ShardPlan:
    """Move the shard files to ``url/<unique folder>/`` (workers then need no shared file system)."""
    import fsspec

    fs, base = fsspec.core.url_to_fs(url)
    protocol = url.split("://", 1)[0]
    folder = f"{base.rstrip('/')}/panoptix-shards-{os.urandom(6).hex()}"
    local = Path(plan.root)
    try:
        fs.makedirs(folder, exist_ok=True)
        for f in sorted(local.iterdir()):
            fs.put_file(str(f), f"{folder}/{f.name}")
    except BaseException:
        shutil.rmtree(local, ignore_errors=True)
        with contextlib.suppress(Exception):
            fs.rm(folder, recursive=True)
        raise
    shutil.rmtree(local, ignore_errors=True)

    def moved(p):
        return None if p is None else f"{protocol}://{folder}/{Path(p).name}"

    for sh in plan.shards:
        sh.gt, sh.pred, sh.pred_index = moved(sh.gt), moved(sh.pred), moved(sh.pred_index)
    plan.root = f"{protocol}://{folder}"
    return plan


@contextlib.contextmanager
def local_copy(path):
    """A local path for ``path``: itself, or a temporary download of an fsspec URL."""
    if not is_url(path):
        yield path
        return
    import fsspec

    fd, tmp = tempfile.mkstemp(prefix="panoptix-shard-", suffix=Path(path).suffix)
    try:
        with os.fdopen(fd, "wb") as out, fsspec.open(path, "rb") as src:
            shutil.copyfileobj(src, out, 8 << 20)
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _make_root(out_dir) -> Path:
    if out_dir is None:
        return Path(tempfile.mkdtemp(prefix="panoptix-shards-"))
    root = Path(out_dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise OutputError("shard folder exists and is not empty", file=root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create: {exc.strerror or exc}", file=root) from None
    return root


def _split_panoptic(gt: Path, pred: Path, root: Path, shard_size: int, chunk_size: int) -> PanopticShards:
    if shard_size < 1:
        raise FormatError(f"shard_size must be at least 1, got {shard_size}")
    # Pass 1: ground-truth annotations in file order, cut every shard_size records.
    cats_raw: list[bytes] = []
    categories: list = []
    have = set()
    ann_ids: list = []
    files: _ShardFiles | None = None
    position = 0
    for member, buf, starts, ends, _, _ in _member_batches(gt, None, chunk_size, keys=("annotations", "categories")):
        have.add(member)
        items = _parse_run(buf, int(starts[0]), int(ends[-1]), gt)
        if member == "categories":
            categories.extend(items)
            cats_raw.append(buf[int(starts[0]):int(ends[-1])])
            continue
        for k, item in enumerate(items):
            if type(item) is not dict or "image_id" not in item:
                raise FormatError("annotation without 'image_id'", file=gt)
            ann_ids.append(item["image_id"])
        # Route by position: record p goes to shard p // shard_size.
        pos = np.arange(position, position + len(items)) // shard_size
        if files is None:
            files = _ShardFiles([], head=b'{"annotations":[', tail=b"]")
        files.grow([root / f"gt-{k:05d}.json" for k in range(len(files.paths), int(pos[-1]) + 1)])
        cut = np.flatnonzero(np.diff(pos)) + 1
        bounds = np.concatenate([[0], cut, [len(pos)]])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            files.add(int(pos[a]), buf[int(starts[a]):int(ends[b - 1])], b - a)
        position += len(items)
    if "annotations" not in have and not _has_key(gt, "annotations", chunk_size):
        raise FormatError("expected a COCO panoptic JSON object with an 'annotations' list", file=gt)
    if "categories" not in have and not _has_key(gt, "categories", chunk_size):
        raise FormatError("the ground truth has no 'categories'", file=gt)
    cats = b",".join(cats_raw)
    if files is None:
        files = _ShardFiles([], head=b'{"annotations":[', tail=b"]")
    if not files.paths:  # no annotations: one empty shard
        files.grow([root / "gt-00000.json"])
    files.close(extra=b',"categories":[' + cats + b"]}")
    gt_paths = files.paths
    n_shards = len(gt_paths)
    shards_of: dict = {}
    for p, iid in enumerate(ann_ids):
        try:
            shards_of.setdefault(iid, []).append(p // shard_size)
        except TypeError:
            raise FormatError(f"annotation has an unusable 'image_id' {iid!r}", file=gt) from None
    # Pass 2: predictions to the shards of their image.
    pred_paths = [root / f"pred-{k:05d}.json" for k in range(n_shards)]
    pfiles = _ShardFiles(pred_paths, head=b'{"annotations":[', tail=b"]")
    seen: set = set()
    have_pred = False
    for _, buf, starts, ends, _, _ in _member_batches(pred, "annotations", chunk_size):
        have_pred = True
        items = _parse_run(buf, int(starts[0]), int(ends[-1]), pred)
        for k, item in enumerate(items):
            if type(item) is not dict or "image_id" not in item:
                raise FormatError("annotation without 'image_id'", file=pred)
            iid = item["image_id"]
            try:
                if iid in seen:
                    raise ValidationError("two predictions for one image", file=pred, image_id=iid)
                seen.add(iid)
                targets = shards_of.get(iid, ())
            except TypeError:
                targets = ()
            raw = buf[int(starts[k]):int(ends[k])]
            for sh in sorted(set(targets)):
                pfiles.add(sh, raw, 1)
    if not have_pred and not _has_key(pred, "annotations", chunk_size):
        raise FormatError("expected a COCO panoptic JSON object with an 'annotations' list", file=pred)
    for iid in ann_ids:
        if iid not in seen:
            raise ValidationError("no prediction for this image", file=pred, image_id=iid)
    pfiles.close(extra=b"}")
    plan = PanopticShards(str(root), categories=categories,
                          starts=[k * shard_size for k in range(n_shards)])
    for k in range(n_shards):
        ids = ann_ids[k * shard_size:(k + 1) * shard_size]
        plan.shards.append(Shard(k, ids, os.fspath(gt_paths[k]), os.fspath(pred_paths[k]), files.count[k],
                                 pfiles.count[k]))
    return plan
