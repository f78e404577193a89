"""The one prediction interface: :class:`Segmenter` and its result, :class:`Prediction`.

Every backend (transformers universal/semantic models, SAM, CLIPSeg, the
classical tools) answers ``predict(image_or_images, task=...)`` with
:class:`Prediction` objects holding the core label types; a kind the model did not
produce is derived on demand with :func:`panoptix.convert.to_kind`.

Nothing here imports torch: the shared machinery (image loading and conversion,
size limits, batching, restoring the original size) is plain numpy / Pillow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np
from PIL import Image

from ..core import masks as M
from ..core.errors import FormatError, PanoptixError, ValidationError
from ..core.labels import Instances, PanopticMap, Segment, SemanticMap
from ..core.taxonomy import Taxonomy
from ..io.dataset import ImageInfo, Sample

__all__ = [
    "Prediction",
    "Segmenter",
    "BaseSegmenter",
    "ImageResizedWarning",
    "TASKS",
    "KIND_OF_TASK",
    "normalize_task",
    "as_rgb",
    "load_image",
    "DEFAULT_MAX_SIDE",
]

#: Tasks a segmenter may be asked for; ``"all"`` asks for every kind it can make at once.
TASKS = ("semantic", "instance", "panoptic")
#: Task name -> :class:`Prediction` / :class:`~panoptix.io.dataset.Sample` attribute.
KIND_OF_TASK = {"semantic": "semantic", "instance": "instances", "panoptic": "panoptic"}
_TASK_ALIASES = {"semantic": "semantic", "instance": "instance", "instances": "instance", "panoptic": "panoptic",
                 "all": "all"}
#: Images whose longer side exceeds this are shrunk before inference (with a warning);
#: the labels are scaled back to the original size (nearest neighbour).
DEFAULT_MAX_SIDE = 2048


class ImageResizedWarning(UserWarning):
    """An input image was shrunk before inference because it exceeded ``max_side``."""


def normalize_task(task: str | None, *, default: str | None = None, supported: Sequence[str] = TASKS) -> str:
    """``"instances"`` -> ``"instance"``; None -> ``default``; unknown or unsupported -> error.

    Examples
    --------
    >>> normalize_task("instances"), normalize_task(None, default="panoptic")
    ('instance', 'panoptic')
    """
    if task is None:
        task = default
    if task is None:
        raise ValidationError("no task given and the model has no default task")
    key = _TASK_ALIASES.get(str(task).lower())
    if key is None:
        raise ValidationError(f"unknown task {task!r}; expected one of semantic, instance, panoptic, all")
    if key != "all" and key not in supported:
        raise ValidationError(f"this model does not do {key} segmentation (it does: {', '.join(supported)})")
    return key


# --------------------------------------------------------------------------- the result
@dataclass
class Prediction:
    """What a :class:`Segmenter` returns for one image.

    Parameters
    ----------
    semantic, instances, panoptic : label types or None
        The kinds the model produced (at the original image size).
    taxonomy : Taxonomy
        The classes the ids refer to.
    image : ImageInfo, optional
        The image it was made for (id, file name, size), when known.
    extra : dict
        Backend extras: ``"panoptic_scores"`` ``{segment_id: score}``, ``"resized_from"``...

    Examples
    --------
    >>> from panoptix.core import Category
    >>> tax = Taxonomy([Category(1, "cat")])
    >>> p = Prediction(semantic=SemanticMap(np.ones((2, 3), np.uint8)), taxonomy=tax)
    >>> p.kinds, p.shape
    (['semantic'], (2, 3))
    >>> p.get("instances").category_ids.tolist()  # derived with panoptix.convert
    [1]
    """

    semantic: SemanticMap | None = None
    instances: Instances | None = None
    panoptic: PanopticMap | None = None
    taxonomy: Taxonomy = field(default_factory=Taxonomy)
    image: ImageInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> list[str]:
        """The kinds present, as :class:`Sample` attribute names."""
        return [k for k in ("semantic", "instances", "panoptic") if getattr(self, k) is not None]

    @property
    def shape(self) -> tuple[int, int]:
        for k in self.kinds:
            return tuple(getattr(self, k).shape)
        if self.image is not None:
            return (int(self.image.height), int(self.image.width))
        raise ValidationError("empty prediction: no labels and no image")

    def _info(self) -> ImageInfo:
        if self.image is not None:
            return self.image
        h, w = self.shape
        return ImageInfo(0, "", h, w)

    def to_sample(self, image: ImageInfo | None = None) -> Sample:
        """A :class:`~panoptix.io.dataset.Sample` holding the kinds present."""
        return Sample(image or self._info(), semantic=self.semantic, instances=self.instances,
                      panoptic=self.panoptic)

    def get(self, kind: str, **fuse_opts):
        """The labels of ``kind`` (``"semantic"``, ``"instances"``/``"instance"`` or ``"panoptic"``),
        derived with :func:`panoptix.convert.to_kind` when the model did not produce them."""
        kind = KIND_OF_TASK.get(normalize_task(kind), kind)
        label = getattr(self, kind, None)
        if label is not None:
            return label
        return getattr(self.with_kind(kind, **fuse_opts), kind)

    def with_kind(self, kind: str, **fuse_opts) -> "Prediction":
        """A copy with ``kind`` filled in (see :func:`panoptix.convert.to_kind`)."""
        from ..convert import to_kind

        kind = KIND_OF_TASK.get(normalize_task(kind), kind)
        if getattr(self, kind, None) is not None:
            return self
        sample = to_kind(self.to_sample(), kind, self.taxonomy, **fuse_opts)
        return Prediction(sample.semantic, sample.instances, sample.panoptic, self.taxonomy, self.image,
                          dict(self.extra))

    def problems(self, *, file=None) -> list[ValidationError]:
        """Every broken invariant of the labels present (see the core types' ``problems``)."""
        where = dict(file=file, image_id=None if self.image is None else self.image.id)
        out: list[ValidationError] = []
        for k in self.kinds:
            out += getattr(self, k).problems(self.taxonomy, **where)
        return out


# --------------------------------------------------------------------------- the protocol
@runtime_checkable
class Segmenter(Protocol):
    """Anything that turns images into :class:`Prediction` objects.

    ``predict`` takes one image (a path, an H×W[×C] array or a PIL image) or a list of
    them and returns one :class:`Prediction` or a list, in order. ``task`` picks the
    kind for models that make several (``"semantic"``, ``"instance"``, ``"panoptic"``
    or ``"all"``); None means the model's default.
    """

    taxonomy: Taxonomy
    tasks: tuple[str, ...]

    def predict(self, images, *, task: str | None = None):  # pragma: no cover - protocol
        ...


# --------------------------------------------------------------------------- images
def as_rgb(array: np.ndarray, *, file=None) -> np.ndarray:
    """Any image array -> H×W×3 uint8 RGB.

    Grayscale (H×W or H×W×1) is repeated, alpha dropped, 16-bit and other integer
    images scaled by their maximum into 0..255, floats in [0, 1] scaled by 255, bool
    as 0/255.

    Examples
    --------
    >>> as_rgb(np.array([[0, 65535]], np.uint16)).tolist()
    [[[0, 0, 0], [255, 255, 255]]]
    >>> as_rgb(np.zeros((2, 2, 4), np.uint8)).shape
    (2, 2, 3)
    """
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise FormatError(f"an image must be H×W, H×W×1, H×W×3 or H×W×4, got shape {a.shape}", file=file)
    a = a[..., :3]
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if a.dtype.kind in "iu":
        top = float(a.max()) if a.size else 0.0
        scale = 255.0 / top if top > 255 else 1.0
        return np.clip(np.round(a.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise FormatError("image has NaN or infinite values", file=file)
        scale = 255.0 if a.max(initial=0) <= 1.0 else 1.0
        return np.clip(np.round(a * scale), 0, 255).astype(np.uint8)
    raise FormatError(f"unsupported image dtype {a.dtype}", file=file)


def load_image(image) -> tuple[np.ndarray, str | None]:
    """A path, array or PIL image -> (H×W×3 uint8 RGB, file name or None).

    Unreadable files raise :class:`~panoptix.core.errors.FormatError` naming the file.
    """
    if isinstance(image, (str, Path)):
        from ..io.files import read_image

        return as_rgb(read_image(image), file=image), str(image)
    if isinstance(image, Image.Image):
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            return as_rgb(np.array(image)), None
        return np.array(image.convert("RGB")), None
    if isinstance(image, np.ndarray):
        return as_rgb(image), None
    raise FormatError(f"cannot read an image from a {type(image).__name__}")


def shrink_to(image: np.ndarray, max_side: int | None, *, name=None) -> np.ndarray:
    """The image itself, or a copy whose longer side is ``max_side`` (with a warning)."""
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    warnings.warn(f"{name or 'image'}: {w}x{h} is larger than max_side={max_side}; predicting at {nw}x{nh} "
                  f"and scaling the labels back", ImageResizedWarning, stacklevel=3)
    return np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))


def _nearest_index(n_out: int, n_in: int) -> np.ndarray:
    # Pixel centres of the output grid mapped into the input grid (as PIL's NEAREST does).
    return np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)


def resize_nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D label array (ids kept exactly)."""
    h, w = array.shape[:2]
    if (h, w) == tuple(shape):
        return array
    return array[_nearest_index(shape[0], h)[:, None], _nearest_index(shape[1], w)[None, :]]


def restore_size(pred: Prediction, shape: tuple[int, int]) -> Prediction:
    """Scale every label of ``pred`` to ``shape`` (nearest neighbour)."""
    if pred.kinds and tuple(pred.shape) == tuple(shape):
        return pred
    sem = inst = pan = None
    if pred.semantic is not None:
        sem = SemanticMap(resize_nearest(pred.semantic.labels, shape), pred.semantic.ignore_index)
    if pred.panoptic is not None:
        p = pred.panoptic
        pan = PanopticMap(resize_nearest(p.ids, shape), [Segment(s.id, s.category_id, s.iscrowd)
                                                         for s in p.segments]).with_stats()
        kept = {s.id for s in pan.segments if s.area > 0}  # a sliver can vanish when scaling
        pan = PanopticMap(pan.ids, [s for s in pan.segments if s.id in kept])
    if pred.instances is not None:
        i = pred.instances
        rles = [M.encode(resize_nearest(i.mask(k), shape)) for k in range(len(i))]
        inst = Instances(rles, shape[0], shape[1], i.category_ids, scores=i.scores, iscrowd=i.iscrowd, ids=i.ids)
        inst._rles = rles
    extra = dict(pred.extra)
    extra["resized_from"] = tuple(pred.shape) if pred.kinds else None
    return Prediction(sem, inst, pan, pred.taxonomy, pred.image, extra)


def image_info_for(source: str | None, index: int, shape: tuple[int, int]) -> ImageInfo:
    """An :class:`ImageInfo` for an input: COCO-style numeric file stems become integer ids."""
    if source is None:
        return ImageInfo(index, "", shape[0], shape[1])
    p = Path(source)
    image_id: int | str = int(p.stem) if p.stem.isdigit() else p.stem
    return ImageInfo(image_id, p.name, shape[0], shape[1])


# --------------------------------------------------------------------------- shared machinery
class BaseSegmenter:
    """Input handling shared by every backend: load/convert, shrink, batch, restore size.

    Subclasses implement ``_predict_batch(images: list[np.ndarray], task: str) ->
    list[Prediction]`` on RGB uint8 arrays, at whatever size they were given.

    Parameters
    ----------
    taxonomy : Taxonomy
    tasks : tuple of str
        The tasks the backend does.
    default_task : str
    batch_size : int
        Images per forward pass.
    max_side : int or None
        Longer sides above this are shrunk before inference (``ImageResizedWarning``).
    """

    name = "segmenter"

    def __init__(self, taxonomy: Taxonomy, *, tasks: Sequence[str], default_task: str, batch_size: int = 4,
                 max_side: int | None = DEFAULT_MAX_SIDE):
        self.taxonomy = taxonomy
        self.tasks = tuple(tasks)
        self.default_task = default_task
        if int(batch_size) < 1:
            raise ValidationError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.max_side = max_side

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, {len(self.taxonomy)} classes, tasks={self.tasks}, "
                f"default_task={self.default_task!r})")

    def _task(self, task: str | None) -> str:
        return normalize_task(task, default=self.default_task, supported=self.tasks)

    def predict(self, images, *, task: str | None = None, batch_size: int | None = None):
        """Predict one image (-> :class:`Prediction`) or a list (-> list, same order).

        Parameters
        ----------
        images : path, array, PIL image, or a list of them
        task : {"semantic", "instance", "panoptic", "all"}, optional
            Default: the model's own task.
        batch_size : int, optional
            Overrides the segmenter's batch size for this call.
        """
        single = not isinstance(images, (list, tuple))
        items = [images] if single else list(images)
        task = self._task(task)
        bs = int(batch_size or self.batch_size)
        out: list[Prediction] = []
        for start in range(0, len(items), bs):
            out += self._predict_chunk(items[start:start + bs], task, start)
        return out[0] if single else out

    def _predict_chunk(self, items: list, task: str, offset: int) -> list[Prediction]:
        loaded, infos, small = [], [], []
        for k, item in enumerate(items):
            arr, source = load_image(item)
            infos.append(image_info_for(source, offset + k, arr.shape[:2]))
            loaded.append(arr)
            small.append(shrink_to(arr, self.max_side, name=source))
        try:
            preds = self._predict_batch(small, task)
        except PanoptixError:
            raise
        except (RuntimeError, ValueError, TypeError, IndexError, KeyError) as exc:
            # A model that cannot take this input (shape, dtype, prompt...) becomes one clear line.
            names = ", ".join(str(i.file_name or i.id) for i in infos)
            raise PanoptixError(f"{self.name} failed on {names}: {type(exc).__name__}: {exc}") from exc
        result = []
        for pred, arr, info in zip(preds, loaded, infos):
            pred = restore_size(pred, arr.shape[:2])
            pred.image = info
            result.append(pred)
        return result

    def _predict_batch(self, images: list[np.ndarray], task: str) -> list[Prediction]:  # pragma: no cover
        raise NotImplementedError


def batched(items: Iterable, size: int) -> Iterable[list]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    chunk: list = []
    for x in items:
        chunk.append(x)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
