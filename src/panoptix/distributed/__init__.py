"""Scale-out on Dask: evaluation and prediction over a cluster of worker processes or machines.

The one change from a local run to a cluster run is the address: ``local:2`` starts two
worker processes here, ``tcp://scheduler:8786`` uses a running Dask cluster (started with
``dask scheduler`` / ``dask worker``, ``dask-ssh``, ``SSHCluster`` or dask-kubernetes).

* :func:`evaluate_distributed` — COCO AP, PQ or semantic metrics, bit for bit the numbers of
  the single-process evaluators, with shards of images on the workers and states merged in
  a tree;
* :func:`predict_distributed` — a model loaded once per worker, outputs written image by
  image, resumable;
* :func:`split_by_image` / :func:`iter_json_array` — streaming split of COCO JSON files too
  large for one process.

Needs the ``dask`` extra (``pip install panoptix[dask]``).
"""

from .cluster import ClusterError, connect, parse_address  # noqa: F401
from .evaluate import evaluate_distributed, merge_tree, plan_shards  # noqa: F401
from .predict import PredictReport, predict_distributed  # noqa: F401
from .split import iter_json_array, split_by_image, split_panoptic  # noqa: F401

__all__ = ["evaluate_distributed", "predict_distributed", "PredictReport", "connect", "parse_address",
           "ClusterError", "merge_tree", "plan_shards", "iter_json_array", "split_by_image", "split_panoptic"]
