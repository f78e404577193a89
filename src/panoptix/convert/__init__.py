"""Conversions between the three label kinds (pure functions over the core types).

See :mod:`panoptix.convert.relations` for the definitions and conventions.
"""

from .relations import (
    GROUND_TRUTH_FUSE,
    KINDS,
    fuse,
    instances_to_panoptic,
    instances_to_semantic,
    panoptic_to_instances,
    panoptic_to_semantic,
    priority,
    semantic_to_instances,
    semantic_to_panoptic,
    to_kind,
)

__all__ = [
    "panoptic_to_semantic",
    "panoptic_to_instances",
    "instances_to_semantic",
    "semantic_to_instances",
    "semantic_to_panoptic",
    "instances_to_panoptic",
    "fuse",
    "to_kind",
    "priority",
    "KINDS",
    "GROUND_TRUTH_FUSE",
]
