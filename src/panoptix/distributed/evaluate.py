"""Evaluation on a Dask cluster: shards of images on the workers, states merged in a tree.

:func:`evaluate_distributed` gives bit for bit the numbers of the single-process
evaluators — :func:`~panoptix.metrics.evaluate_coco`,
:func:`~panoptix.metrics.evaluate_panoptic_folder`,
:func:`~panoptix.metrics.evaluate_semantic_folder` — for datasets too big for one machine:

1. the images are cut into shards; COCO JSON files (ground truth and predictions) are
   split by image in one streaming pass (:mod:`panoptix.distributed.split`), so no process
   ever holds the whole prediction set;
2. each shard is a task that reads its own images' labels only (its JSON shard files, its
   PNGs) and returns an evaluator whose state covers just that shard;
3. states are merged in a tree, ``split_every`` adjacent shards at a time, on the workers;
   the last ``split_every`` states are merged on the client;
4. ``compute()`` runs on the client, on the merged state.

Why the numbers are identical:

* instance (COCO AP): the state is one record per detection (status at each IoU threshold,
  score, rank) and ``compute`` sorts them by image id, so merging is exact in any order;
* semantic: the state is an integer confusion matrix; sums of integers are exact;
* panoptic: the state holds per-class sums of IoU in floating point, and ``a + (b + c)``
  may differ from ``(a + b) + c`` in the last bit. The single-process path sums
  16-image chunks of the ground truth's annotations (in file order) and merges them left to
  right, so here the shards are cut on the same chunk boundaries, the tree carries the
  chunk states (a few kilobytes each) without adding them, and the client folds them in
  chunk order — which makes the result independent of the merge order too.
"""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..core.errors import PanoptixError, ValidationError
from ..metrics.base import EvalResult, Evaluator
from ..metrics.panoptic import CHUNK as _PANOPTIC_CHUNK  # the folder path's fixed chunks (see above)
from .cluster import connect
from .split import Shard, ShardPlan, local_copy, split_by_image, split_panoptic

__all__ = ["evaluate_distributed", "evaluate_shard", "merge_tree", "plan_shards", "OrderedStates", "TASKS",
           "DEFAULT_SHARD_SIZE"]

TASKS = ("instance", "panoptic", "semantic")
_ALIASES = {"instance": "instance", "instances": "instance", "segm": "instance", "panoptic": "panoptic",
            "semantic": "semantic"}
#: Images per shard, by task (a task of a few seconds on COCO-val-like data).
DEFAULT_SHARD_SIZE = {"instance": 1000, "panoptic": 256, "semantic": 128}


def _task(task: str) -> str:
    key = _ALIASES.get(str(task).lower())
    if key is None:
        raise ValidationError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return key


class OrderedStates(Evaluator):
    """Evaluator states kept apart, keyed by their position, until ``compute``.

    Merging concatenates (exact, any order); ``compute`` folds the states into ``base`` in
    key order and computes, so floating-point sums come out exactly as a left-to-right
    loop over the same chunks gives them.

    Parameters
    ----------
    base : Evaluator
        The empty evaluator the states are folded into.
    states : list of (key, Evaluator)
    """

    task = "ordered"

    def __init__(self, base: Evaluator, states=()):
        self.base = base
        self.states = list(states)

    def _merge_state(self, other: "OrderedStates") -> None:
        self.states.extend(other.states)

    def folded(self) -> Evaluator:
        out = copy.deepcopy(self.base)
        for _, s in sorted(self.states, key=lambda kv: kv[0]):
            out.merge(s)
        return out

    def compute(self) -> EvalResult:
        return self.folded().compute()


# --------------------------------------------------------------------------- shard jobs
def _relocate(exc: PanoptixError, shard: Shard, gt, pred, local_gt, local_pred) -> PanoptixError:
    """An error raised on a shard file, told in terms of the user's files (and the whole file's
    detection numbers)."""
    file, message = exc.file, exc.message
    if file is not None and file == str(local_pred):
        file = str(pred)
        if shard.pred_index:
            with local_copy(shard.pred_index) as path:
                index = np.load(path)

            def whole(m):
                k = int(m.group(1)) - 1
                return f"#{int(index[k]) + 1}" if 0 <= k < len(index) else m.group(0)
            message = re.sub(r"#(\d+)", whole, message)
    elif file is not None and file == str(local_gt):
        file = str(gt)
    return type(exc)(message, file=file, image_id=exc.image_id, segment_id=exc.segment_id)


def _instance_job(shard: Shard, gt, pred, opts: dict) -> Evaluator:
    from ..metrics.instance import InstanceEvaluator

    with local_copy(shard.gt) as local_gt, local_copy(shard.pred) as local_pred:
        try:
            return InstanceEvaluator.from_files(local_gt, local_pred, jobs=1, **opts)
        except PanoptixError as exc:
            raise _relocate(exc, shard, gt, pred, local_gt, local_pred) from None


def _panoptic_job(shard: Shard, gt, pred, opts: dict) -> Evaluator:
    from ..io.files import read_json
    from ..metrics import panoptic as P

    taxonomy, start = opts["taxonomy"], opts["starts"][shard.index]
    with local_copy(shard.gt) as local_gt, local_copy(shard.pred) as local_pred:
        gt_anns = read_json(local_gt)["annotations"]
        preds = {a["image_id"]: a for a in read_json(local_pred)["annotations"]}
    pairs = [(a, preds[a["image_id"]]) for a in gt_anns]
    folders = dict(gt_dir=opts["gt_folder"], pred_dir=opts["pred_folder"], gt_json=Path(gt), pred_json=Path(pred))
    states = [((start + k) // _PANOPTIC_CHUNK, P.evaluate_pairs(pairs[k:k + _PANOPTIC_CHUNK], taxonomy, **folders))
              for k in range(0, len(pairs), _PANOPTIC_CHUNK)]
    return OrderedStates(P.PanopticEvaluator(taxonomy), states)


def _semantic_job(shard: Shard, gt, pred, opts: dict) -> Evaluator:
    from ..metrics import semantic as S

    settings = dict(ignore_index=opts.get("ignore_index", 255), reduce_zero_label=opts.get("reduce_zero_label", False),
                    convention=opts.get("convention", "mmseg"))
    ev = S.SemanticEvaluator(opts["num_classes"], **settings)
    for k in range(0, len(shard.image_ids), S.CHUNK):
        ev.merge(S.evaluate_pairs(shard.image_ids[k:k + S.CHUNK], opts["num_classes"], **settings))
    return ev


_JOBS = {"instance": _instance_job, "panoptic": _panoptic_job, "semantic": _semantic_job}


def evaluate_shard(task: str, shard: Shard, gt, pred, **opts) -> Evaluator:
    """Evaluate one shard in this process (what each Dask task runs); returns its state.

    ``opts`` are the job options :func:`plan_shards` returns with the plan.
    """
    return _JOBS[_task(task)](shard, gt, pred, opts)


def _merge_many(*states: Evaluator) -> Evaluator:
    # A fresh copy: Dask may keep the inputs (and rerun this task), so they are never mutated.
    out = copy.deepcopy(states[0])
    for s in states[1:]:
        out.merge(s)
    return out


def merge_tree(states: Sequence[Evaluator], split_every: int = 4) -> Evaluator:
    """Merge evaluators in a tree, ``split_every`` adjacent ones at a time, in this process
    (what :func:`evaluate_distributed` does on the cluster)."""
    level = list(states)
    if not level:
        raise ValidationError("nothing to merge")
    while len(level) > 1:
        level = [_merge_many(*level[i:i + split_every]) if len(level[i:i + split_every]) > 1 else level[i]
                 for i in range(0, len(level), split_every)]
    return level[0]


# --------------------------------------------------------------------------- planning
def plan_shards(task: str, gt, pred, *, shard_size: int | None = None, workdir=None, **opts
                ) -> tuple[ShardPlan, dict]:
    """Cut the images into shards and write the per-shard files the jobs read.

    Returns the plan and the options every job gets. instance: ``gt`` a COCO instances
    JSON, ``pred`` a COCO results JSON, both split by image id (sorted). panoptic: COCO
    panoptic JSON files split by ground-truth annotation (file order, multiples of 16);
    ``gt_folder`` / ``pred_folder`` (default the JSON path without ``.json``). semantic:
    ``gt`` / ``pred`` folders of label PNGs (nothing is written: shards list the files);
    ``num_classes`` is required.
    """
    task = _task(task)
    size = int(shard_size or DEFAULT_SHARD_SIZE[task])
    if size < 1:
        raise ValidationError(f"shard_size must be at least 1, got {shard_size}")
    _check_options(task, opts)
    if task == "instance":
        return split_by_image(gt, pred, workdir, shard_size=size), dict(opts)
    if task == "panoptic":
        from ..metrics import panoptic as P

        gt_folder = Path(opts.get("gt_folder") or P._default_dir(Path(gt)))
        pred_folder = Path(opts.get("pred_folder") or P._default_dir(Path(pred)))
        size = -(-size // _PANOPTIC_CHUNK) * _PANOPTIC_CHUNK  # whole chunks only
        plan = split_panoptic(gt, pred, workdir, shard_size=size)
        try:
            taxonomy = P.taxonomy_from_panoptic(plan.categories, file=Path(gt))
            for d, what in ((gt_folder, "ground-truth"), (pred_folder, "prediction")):
                if not d.is_dir():
                    from ..core.errors import FormatError

                    raise FormatError(f"{what} PNG folder does not exist", file=d)
        except BaseException:
            plan.cleanup()
            raise
        return plan, {"taxonomy": taxonomy, "starts": plan.starts, "gt_folder": str(gt_folder),
                      "pred_folder": str(pred_folder)}
    from ..metrics import semantic as S

    pairs = S.list_pairs(gt, pred)
    groups = [pairs[i:i + size] for i in range(0, len(pairs), size)]
    return ShardPlan(str(gt), [Shard(k, g, str(gt), str(pred)) for k, g in enumerate(groups)]), dict(opts)


def _finish(task: str, state: Evaluator, opts: dict) -> EvalResult:
    """Compute on the client as the single-process function does."""
    if task == "semantic":
        from ..metrics import semantic as S

        root = S.SemanticEvaluator(**opts)  # carries class_names, as the folder path's
        res = root.merge(state).compute()
    elif task == "panoptic":
        res = state.compute()
        res.extra["images"] = sum(len(s.images) for _, s in state.states)
    else:
        res = state.compute()
    return res


# --------------------------------------------------------------------------- entry point
def evaluate_distributed(task: str, gt, pred, *, address="local:2", shard_size: int | None = None,
                         workdir=None, client=None, split_every: int = 4,
                         progress: Callable[[int, int], None] | None = None, **opts) -> EvalResult:
    """Evaluate on a Dask cluster; the same numbers as the single-process evaluators, bit for bit.

    Parameters
    ----------
    task : {"instance", "panoptic", "semantic"}
    gt, pred
        instance: COCO ground-truth JSON and COCO results JSON. panoptic: COCO panoptic JSON
        files, their PNG folders beside them (``x.json`` -> ``x/``) or given as
        ``gt_folder=`` / ``pred_folder=``. semantic: folders of label PNGs paired by relative
        path (pass ``num_classes=``).
    address : str
        ``"local:N"`` (a local cluster of N processes) or a scheduler address such as
        ``"tcp://scheduler:8786"``; see :func:`~panoptix.distributed.cluster.connect`.
    shard_size : int, optional
        Images per task (default :data:`DEFAULT_SHARD_SIZE`); a task's memory grows with it.
    workdir : path or fsspec URL, optional
        Where the JSON shard files go (default: a temporary folder on the client, removed
        afterwards). On a multi-machine cluster: a folder every worker sees at the same path
        (NFS...), or a URL such as ``s3://bucket/tmp`` (shards uploaded there, fetched by the
        workers, removed afterwards). ``gt`` and ``pred`` JSON files may be URLs too (read as
        streams by the client); PNG folders must be paths the workers see.
    client : distributed.Client, optional
        Use this client instead of ``address``.
    split_every : int
        Fan-in of the merge tree.
    progress : callable(done, total), optional
        Called with the number of images evaluated as shards finish.
    **opts
        instance: ``iou_type``, ``iou_thresholds``, ``max_dets``, ``area_ranges``, ``use_cats``,
        ``boundary_dilation_ratio``. semantic: ``num_classes``, ``ignore_index``,
        ``reduce_zero_label``, ``convention``, ``class_names``.

    Raises
    ------
    PanoptixError
        Bad input, naming the file, image and annotation, as the single-process functions
        (a worker's error comes back to the client as the same typed error).
    ClusterError
        The scheduler cannot be reached.

    Returns
    -------
    EvalResult
        Computed on the client from the merged state; ``to_json()`` equals the
        single-process result's. ``extra["timings"]``: seconds spent splitting, connecting,
        evaluating on the cluster (shards and merges) and computing on the client.

    Examples
    --------
    ::

        res = evaluate_distributed("instance", "instances_val.json", "results.json",
                                   address="tcp://scheduler:8786")
        res["AP"]
    """
    task = _task(task)
    if int(split_every) < 2:
        raise ValidationError(f"split_every must be at least 2, got {split_every}")
    _check_options(task, opts)  # before starting anything
    if shard_size is not None and int(shard_size) < 1:
        raise ValidationError(f"shard_size must be at least 1, got {shard_size}")
    t0 = time.perf_counter()
    timings = {}
    with connect(client if client is not None else address) as cl:
        timings["connect"] = time.perf_counter() - t0
        # Workers import the evaluator and start numba while the client splits the files.
        warm = [cl.submit(_warm_up, task, workers=[w], allow_other_workers=False, pure=False)
                for w in cl.scheduler_info().get("workers", {})] if task == "instance" else []
        t1 = time.perf_counter()
        plan, job_opts = plan_shards(task, gt, pred, shard_size=shard_size, workdir=workdir, **opts)
        timings["split"] = time.perf_counter() - t1
        try:
            t2 = time.perf_counter()
            state = _run(cl, task, plan, gt, pred, job_opts, int(split_every), progress)
            timings["evaluate"] = time.perf_counter() - t2
        finally:
            plan.cleanup()
            del warm
    t3 = time.perf_counter()
    res = _finish(task, state, job_opts)
    timings["compute"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    res.extra["timings"] = timings
    res.extra["shards"] = len(plan.shards)
    return res


def _check_options(task: str, opts: dict) -> None:
    """Refuse bad options before a cluster is started or a file is split."""
    opts = dict(opts)
    if task == "instance":
        from ..metrics.instance import InstanceEvaluator

        InstanceEvaluator(**opts)
    elif task == "panoptic":
        unknown = set(opts) - {"gt_folder", "pred_folder"}
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    else:
        if "num_classes" not in opts:
            raise ValidationError("semantic evaluation needs num_classes")
        unknown = set(opts) - {"num_classes", "ignore_index", "reduce_zero_label", "convention", "class_names"}
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        from ..metrics.semantic import SemanticEvaluator

        SemanticEvaluator(**opts)


def _warm_up(task: str) -> None:
    """Import the instance evaluator and let numba load its kernels (seconds on a fresh worker)."""
    from ..core.labels import Instances
    from ..metrics.instance import InstanceEvaluator

    m = np.zeros((1, 8, 8), bool)
    m[0, 2:6, 2:6] = True
    ev = InstanceEvaluator()
    ev.update(Instances.from_masks(m, [1]), Instances.from_masks(m, [1], scores=[1.0]), image_id=0)
    ev.compute()


def _empty_state(task: str, opts: dict) -> Evaluator:
    if task == "panoptic":
        from ..metrics.panoptic import PanopticEvaluator

        return OrderedStates(PanopticEvaluator(opts["taxonomy"]))
    from ..metrics.semantic import SemanticEvaluator

    return SemanticEvaluator(**opts)


def _run(cl, task, plan: ShardPlan, gt, pred, opts, split_every, progress) -> Evaluator:
    from distributed import as_completed

    if not plan.shards:
        return _empty_state(task, opts)
    job = _JOBS[task]
    tag = os.urandom(4).hex()
    futures = [cl.submit(job, shard, str(gt), str(pred), opts, key=f"panoptix-{task}-shard-{tag}-{shard.index}")
               for shard in plan.shards]
    submitted = list(futures)
    try:
        level, depth = futures, 0
        # The last split_every states come to the client and are merged there: the biggest
        # merge (the whole state) then costs no worker a copy and no extra transfer.
        while len(level) > split_every:
            depth += 1
            level = [cl.submit(_merge_many, *level[i:i + split_every],
                               key=f"panoptix-{task}-merge-{tag}-{depth}-{i}")
                     if len(level[i:i + split_every]) > 1 else level[i] for i in range(0, len(level), split_every)]
            submitted += level
        if progress is not None:
            total = sum(len(s.image_ids) for s in plan.shards)
            done = 0
            size_of = {f.key: len(s.image_ids) for f, s in zip(futures, plan.shards)}
            for fut in as_completed(futures):
                if fut.status == "error":
                    fut.result()  # raises the shard's error now
                done += size_of[fut.key]
                progress(done, total)
        states = cl.gather(level)
    except BaseException:
        cl.cancel(submitted)
        raise
    del submitted, level, futures
    root = states[0]  # the client's own copies: merged in place, in shard order
    for s in states[1:]:
        root.merge(s)
    return root
