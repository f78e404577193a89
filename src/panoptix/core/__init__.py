"""Core of panoptix: taxonomy, masks/RLE, the three label types, errors."""

from .errors import CategoryError, FormatError, OutputError, PanoptixError, SizeMismatchError, ValidationError
from .labels import Instances, PanopticMap, Segment, SemanticMap, id_to_rgb, rgb_to_id
from .taxonomy import IGNORE_INDEX, VOID, Category, Taxonomy, stable_color

__all__ = [
    "Category", "Taxonomy", "VOID", "IGNORE_INDEX", "stable_color",
    "SemanticMap", "Instances", "PanopticMap", "Segment", "rgb_to_id", "id_to_rgb",
    "PanoptixError", "FormatError", "ValidationError", "CategoryError", "SizeMismatchError", "OutputError",
]
