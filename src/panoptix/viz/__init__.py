"""Pictures, reports and the "which technique?" guide.

Drawing functions take a photo (or None) and labels and return a new H×W×3 uint8
picture, scikit-image style::

    >>> import numpy as np
    >>> from panoptix.core import Category, Taxonomy, SemanticMap
    >>> tax = Taxonomy([Category(1, "road", isthing=False, color=(128, 64, 128))])
    >>> draw_semantic(None, SemanticMap(np.ones((32, 32), int)), tax).shape
    (32, 32, 3)

The small annotators they are built from live in :mod:`panoptix.viz.annotate`;
HTML reports in :mod:`panoptix.viz.report` and :mod:`panoptix.viz.overview`
(both need matplotlib).
"""

from . import annotate
from .advise import Advice, advise
from .colors import object_colors, shade, shades
from .compare import Comparison, compare
from .draw import draw_comparison, draw_instances, draw_labels_of, draw_panoptic, draw_semantic

__all__ = [
    "draw_semantic", "draw_instances", "draw_panoptic", "draw_comparison", "draw_labels_of",
    "compare", "Comparison", "advise", "Advice", "shade", "shades", "object_colors", "annotate",
    "draw_sample", "write_report", "write_overview",
]


def __getattr__(name):
    # The sample view needs panoptix.convert, reports need matplotlib: import on first use.
    if name == "draw_sample":
        from .show import draw_sample
        return draw_sample
    if name == "write_report":
        from .report import write_report
        return write_report
    if name == "write_overview":
        from .overview import write_overview
        return write_overview
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
