"""The :class:`Dataset` type: a taxonomy and a stream of samples.

A sample is one image reference plus any of the three label types. Readers
build a Dataset whose labels are loaded one sample at a time (a PNG is decoded
only when its sample is reached), so a large dataset never sits in memory whole;
writers consume the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..core.errors import PanoptixError
from ..core.labels import Instances, PanopticMap, SemanticMap
from ..core.taxonomy import Taxonomy
from .files import as_path

__all__ = ["ImageInfo", "Sample", "Dataset"]


@dataclass
class ImageInfo:
    """One image reference: COCO ``images`` record fields (``extra`` keeps the rest)."""

    id: int | str
    file_name: str
    height: int
    width: int
    extra: dict = field(default_factory=dict)

    def to_coco(self) -> dict:
        return {**self.extra, "id": self.id, "file_name": self.file_name, "height": int(self.height),
                "width": int(self.width)}

    @property
    def stem(self) -> str:
        return Path(self.file_name).with_suffix("").as_posix()


@dataclass
class Sample:
    """One image and its labels (any of the three kinds may be None)."""

    image: ImageInfo
    semantic: SemanticMap | None = None
    instances: Instances | None = None
    panoptic: PanopticMap | None = None

    @property
    def kinds(self) -> list[str]:
        return [k for k in ("semantic", "instances", "panoptic") if getattr(self, k) is not None]


class Dataset:
    """A taxonomy, image references and a loader that yields one :class:`Sample` at a time.

    Parameters
    ----------
    taxonomy : Taxonomy
    images : list of ImageInfo
    loader : callable(ImageInfo) -> Sample
        Loads the labels of one image (called lazily, once per iteration).
    image_root : path, optional
        Folder the image files live in, when known.
    source : str
        Where it was read from (named in errors).
    format : str
        The format name it was read from.
    meta : dict, optional
        Dataset-level records a format carries besides images and labels (COCO ``info``,
        ``licenses``), kept so that writing back gives them again.

    Examples
    --------
    >>> import numpy as np
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "road", isthing=False)])
    >>> info = ImageInfo(7, "a.png", 2, 2)
    >>> ds = Dataset.from_samples(tax, [Sample(info, semantic=SemanticMap(np.ones((2, 2), int)))])
    >>> len(ds), next(iter(ds)).kinds
    (1, ['semantic'])
    """

    def __init__(self, taxonomy: Taxonomy, images: list[ImageInfo], loader: Callable[[ImageInfo], Sample],
                 *, image_root=None, source: str = "", format: str = "", meta: dict | None = None):
        self.taxonomy = taxonomy
        self.images = list(images)
        self._loader = loader
        self.image_root = None if image_root is None else as_path(image_root)
        self.source = str(source)
        self.format = format
        self.meta = dict(meta or {})

    @classmethod
    def from_samples(cls, taxonomy: Taxonomy, samples: Iterable[Sample], **kw) -> "Dataset":
        """An in-memory dataset (for tests and small data)."""
        samples = list(samples)
        by_id = {s.image.id: s for s in samples}
        return cls(taxonomy, [s.image for s in samples], lambda info: by_id[info.id], **kw)

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[Sample]:
        for info in self.images:
            yield self.load(info)

    def load(self, info: ImageInfo) -> Sample:
        try:
            return self._loader(info)
        except PanoptixError as exc:
            raise exc.at(file=self.source or None, image_id=info.id) from None

    def find(self, key) -> ImageInfo:
        """An image by id or file name (with or without folder and extension)."""
        for info in self.images:
            if str(info.id) == str(key) or info.file_name == str(key):
                return info
        for info in self.images:
            if Path(info.file_name).name == str(key) or Path(info.file_name).stem == Path(str(key)).stem:
                return info
        raise PanoptixError(f"no image {key!r} in the dataset", file=self.source or None)

    def sample(self, key) -> Sample:
        return self.load(self.find(key))

    def image_path(self, info: ImageInfo):
        """Where the image file is (a Path, or a RemotePath for a dataset read from a URL)."""
        return None if self.image_root is None else self.image_root / info.file_name

    def map(self, fn: Callable[[Sample], Sample], *, format: str | None = None) -> "Dataset":
        """A dataset whose samples are ``fn(sample)``, still lazy (used by conversions)."""
        return Dataset(self.taxonomy, self.images, lambda info: fn(self.load(info)), image_root=self.image_root,
                       source=self.source, format=format or self.format, meta=self.meta)

    def __repr__(self) -> str:
        return f"Dataset({len(self)} images, {len(self.taxonomy)} categories, format={self.format!r})"
