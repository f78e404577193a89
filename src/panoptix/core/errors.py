"""Typed exceptions, all in one place.

Every error names what is wrong and where: the file, the image id and the
segment/annotation id when known. The CLI prints ``str(err)`` as one red line
and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    "PanoptixError",
    "FormatError",
    "ValidationError",
    "CategoryError",
    "SizeMismatchError",
    "OutputError",
]


class PanoptixError(ValueError):
    """Base class of every panoptix error.

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    file : str, optional
        The file it was found in.
    image_id : int or str, optional
        The image it concerns.
    segment_id : int, optional
        The segment or annotation it concerns.
    """

    def __init__(self, message: str, *, file=None, image_id=None, segment_id=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.image_id = image_id
        self.segment_id = segment_id
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.image_id is not None:
            where.append(f"image {self.image_id}")
        if self.segment_id is not None:
            where.append(f"segment {self.segment_id}")
        return (": ".join([", ".join(where), self.message]) if where else self.message)

    def __reduce__(self):
        # Keep the location fields when pickled (worker processes, Dask tasks).
        return (_rebuild, (type(self), self.message, self.file, self.image_id, self.segment_id))

    def at(self, *, file=None, image_id=None, segment_id=None) -> "PanoptixError":
        """Return a copy of this error with missing location fields filled in."""
        return type(self)(
            self.message,
            file=self.file if self.file is not None else file,
            image_id=self.image_id if self.image_id is not None else image_id,
            segment_id=self.segment_id if self.segment_id is not None else segment_id,
        )


def _rebuild(cls, message, file, image_id, segment_id):
    return cls(message, file=file, image_id=image_id, segment_id=segment_id)


class FormatError(PanoptixError):
    """A file cannot be read: truncated, not the format it claims, missing or mistyped fields."""


class ValidationError(PanoptixError):
    """Labels break an invariant of their type (overlap, missing segment, bad id...)."""


class CategoryError(ValidationError):
    """A category id or name that the taxonomy does not know."""


class SizeMismatchError(ValidationError):
    """Arrays or masks whose height/width do not agree."""


class OutputError(PanoptixError):
    """An output cannot be written (unwritable folder, existing file without overwrite...)."""
