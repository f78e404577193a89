"""Evaluation: one evaluator per metric family, all with ``update`` / ``merge`` / ``compute``.

================  ==============================  ===========================================
task              evaluator                       folder / file fast path
================  ==============================  ===========================================
semantic          :class:`SemanticEvaluator`      :func:`evaluate_semantic_folder`
instance          :class:`InstanceEvaluator`      :func:`evaluate_coco`
panoptic          :class:`PanopticEvaluator`      :func:`evaluate_panoptic_folder`
================  ==============================  ===========================================

Names are imported on first use, so ``from panoptix.metrics import SemanticEvaluator``
does not load the instance (pycocotools-based) or panoptic code.
"""

from __future__ import annotations

import importlib

from .base import EvalResult, Evaluator

__all__ = [
    "EvalResult", "Evaluator",
    "SemanticEvaluator", "evaluate_semantic_folder", "semantic_metrics",
    "PanopticEvaluator", "evaluate_panoptic_folder",
    "InstanceEvaluator", "evaluate_coco",
]

_LAZY = {
    "SemanticEvaluator": "semantic", "evaluate_semantic_folder": "semantic", "semantic_metrics": "semantic",
    "PanopticEvaluator": "panoptic", "evaluate_panoptic_folder": "panoptic",
    "InstanceEvaluator": "instance", "evaluate_coco": "instance",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
