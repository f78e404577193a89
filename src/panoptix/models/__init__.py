"""One prediction interface for the three kinds: ``panoptix.models``.

>>> from panoptix import models
>>> sorted(models.TASKS)
['instance', 'panoptic', 'semantic']

``load(name_or_path)`` gives a :class:`Segmenter` whose ``predict(image or images,
task=...)`` returns :class:`Prediction` objects (semantic / instances / panoptic labels
plus the taxonomy). Importing this package does not import torch: the transformers
backends (``panoptix[models]`` extra) load it when first used; :mod:`.classical`
needs only scikit-image, OpenCV and SciPy.
"""

from __future__ import annotations

import importlib

from .base import (  # noqa: F401
    DEFAULT_MAX_SIDE, KIND_OF_TASK, TASKS, BaseSegmenter, ImageResizedWarning, Prediction, Segmenter, as_rgb,
    load_image, normalize_task,
)
from .loading import backend_for, is_offline, load  # noqa: F401

__all__ = [
    "load", "Segmenter", "Prediction", "BaseSegmenter", "ImageResizedWarning", "TASKS", "KIND_OF_TASK",
    "normalize_task", "as_rgb", "load_image", "DEFAULT_MAX_SIDE", "backend_for", "is_offline",
    "UniversalSegmenter", "SemanticSegmenter", "SamSegmenter", "PromptResult", "TextPromptSegmenter", "classical",
]

# Backends are imported on first use (they are cheap to import, torch is only needed when they run,
# but keeping them lazy keeps `import panoptix.models` light).
_LAZY = {
    "UniversalSegmenter": ".transformers_universal",
    "SemanticSegmenter": ".transformers_semantic",
    "SamSegmenter": ".sam",
    "PromptResult": ".sam",
    "TextPromptSegmenter": ".text_prompt",
    "classical": ".classical",
}


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        return module if name == "classical" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
