"""panoptix: semantic, instance and panoptic segmentation — label, convert, predict, evaluate, look.

The three label types and the taxonomy are the language of every module::

    >>> import panoptix as px
    >>> px.Taxonomy([px.Category(1, "person")])[1].name
    'person'
"""

from .core import (  # noqa: F401
    IGNORE_INDEX, VOID, Category, CategoryError, FormatError, Instances, OutputError, PanopticMap,
    PanoptixError, Segment, SemanticMap, SizeMismatchError, Taxonomy, ValidationError,
)

__version__ = "0.1.0"
