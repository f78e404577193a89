"""The one shape every evaluator has: ``update`` per image, ``merge`` shards, ``compute``.

State is small (counts and per-image match records, never whole-dataset masks)
and picklable, so the same evaluator runs in one loop, across processes, or on
a Dask cluster, and ``a.merge(b)`` (or ``a + b``) gives the same numbers as one
evaluator that saw both shards.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Evaluator", "EvalResult"]


def _clean(v):
    """JSON value: NaN/None -> None, numpy scalars -> float."""
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


@dataclass
class EvalResult:
    """What ``compute()`` returns.

    Attributes
    ----------
    task : str
        ``"semantic"``, ``"instance"`` or ``"panoptic"``.
    summary : dict
        Headline numbers as fractions in [0, 1] (−1 where pycocotools gives −1).
    per_class : dict
        ``{str(class_id): {metric: value or None}}``.
    extra : dict
        Anything else (per-image scores, curves, confusion matrix...), not in the JSON contract.
    """

    task: str
    summary: dict[str, float]
    per_class: dict[str, dict[str, float | None]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The documented ``--json`` contract: summary keys plus ``per_class`` with string keys."""
        out = {k: _clean(v) for k, v in self.summary.items()}
        out["per_class"] = {str(k): {m: _clean(v) for m, v in d.items()} for k, d in self.per_class.items()}
        return out

    def __getitem__(self, key: str) -> float:
        return self.summary[key]


class Evaluator:
    """Base class: subclasses implement ``update``, ``_merge_state`` and ``compute``."""

    task: str = ""

    def update(self, gt, pred, **kw) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _merge_state(self, other: "Evaluator") -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def compute(self) -> EvalResult:  # pragma: no cover - interface
        raise NotImplementedError

    def merge(self, other: "Evaluator") -> "Evaluator":
        """Fold ``other``'s state into this one (in place) and return self."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        self._merge_state(other)
        return self

    def __add__(self, other: "Evaluator") -> "Evaluator":
        return copy.deepcopy(self).merge(other)


def value_runs(a, b):
    """Runs of equal ``(a, b)`` in two flat arrays: each run's values and its length.

    Label maps are long horizontal runs, so the numpy paths count one value pair per run
    (a few thousand an image) instead of one per pixel. Returns ``(a values, b values,
    lengths)``; the values keep their dtype, lengths are int64.
    """
    import numpy as np

    n = a.size
    if n == 0:
        return a[:0], b[:0], np.zeros(0, np.int64)
    change = a[1:] != a[:-1]
    change |= b[1:] != b[:-1]
    starts = np.flatnonzero(change)
    starts += 1
    starts = np.concatenate(([0], starts))
    return a[starts], b[starts], np.diff(np.append(starts, n))


def resolve_jobs(jobs: int | None) -> int:
    """``jobs``, or the number of CPU cores this process may use when None; at least 1."""
    if jobs is None:
        import os

        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    jobs = int(jobs)
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    return jobs


def map_chunks(fn, chunks: list, *, jobs: int | None, progress=None, sizes: list[int]) -> list:
    """``[fn(c) for c in chunks]`` in ``jobs`` threads (default: all cores); results in chunk order.

    Threads, not processes: the folder paths spend their time in PNG inflating, unfiltering
    and pair counting, which release the GIL, so one process with its imports loaded once
    keeps every core busy. ``progress(done, total)`` gets images finished so far (``sizes``
    are the images per chunk). The first failing chunk's error is raised.
    """
    jobs = resolve_jobs(jobs)
    total, done = sum(sizes), 0
    if progress is not None:
        progress(0, total)
    pool = None
    if jobs == 1 or len(chunks) < 2:
        outputs = map(fn, chunks)
    else:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(min(jobs, len(chunks)), thread_name_prefix="panoptix-eval")
        outputs = (f.result() for f in [pool.submit(fn, c) for c in chunks])
    results = []
    try:
        for out, size in zip(outputs, sizes):
            results.append(out)
            done += size
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return results
