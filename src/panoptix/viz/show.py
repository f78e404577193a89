"""One image with its semantic, instance and panoptic views side by side.

Missing kinds are derived with :func:`panoptix.convert.to_kind` (panoptic → semantic
and instances exactly; semantic + instances → panoptic by fusing; ...), and their
panel title says "derived".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import SizeMismatchError
from ..core.taxonomy import Taxonomy
from ..io.dataset import Dataset, ImageInfo, Sample
from ..io.files import IMAGE_SUFFIXES, read_image
from . import annotate as A
from .draw import draw_instances, draw_panoptic, draw_semantic

__all__ = ["draw_sample", "find_image", "load_image", "IMAGE_FOLDERS"]

#: Folders beside a dataset file or folder where its photos usually are.
IMAGE_FOLDERS = ("images", "val2017", "train2017", "input_images", "imgs", "JPEGImages", "leftImg8bit")

_TITLES = {"semantic": "semantic", "instances": "instances", "panoptic": "panoptic"}


def _candidates(info: ImageInfo, roots) -> list[Path]:
    name = Path(info.file_name)
    stems = [name, Path(name.name)]
    out = []
    for root in roots:
        if root is None:
            continue
        root = Path(root)
        for s in stems:
            out.append(root / s)
            # label files often carry .png while the photo is .jpg (COCO panoptic)
            out.extend(root / s.with_suffix(suf) for suf in IMAGE_SUFFIXES if suf != s.suffix)
    return out


def find_image(dataset: Dataset, info: ImageInfo, images_dir=None) -> Path | None:
    """The photo of ``info``: in ``images_dir``, the dataset's image root, or a usual
    folder beside the dataset (``images/``, ``val2017/``, ``input_images/``...); None if absent."""
    roots: list = [images_dir, dataset.image_root]
    label_dir = None
    if dataset.source:
        src = Path(dataset.source)
        base = src if src.is_dir() else src.parent
        roots += [base / f for f in IMAGE_FOLDERS] + [base.parent / f for f in IMAGE_FOLDERS] + [base]
        # COCO panoptic keeps its label PNGs in the JSON's name without .json: never photos
        label_dir = src.with_suffix("") if src.suffix == ".json" else None
    if images_dir is None and label_dir is not None:
        roots = [r for r in roots if r is None or Path(r) != label_dir]
    for cand in _candidates(info, roots):
        if cand.is_file() and cand.suffix.lower() in IMAGE_SUFFIXES:
            return cand
    return None


def load_image(dataset: Dataset, info: ImageInfo, images_dir=None) -> np.ndarray | None:
    """The photo of ``info`` as H×W×3 uint8, or None when there is none.

    Raises SizeMismatchError (naming file and image) when the photo's size differs
    from the one the dataset records.
    """
    path = find_image(dataset, info, images_dir)
    if path is None:
        return None
    img = read_image(path)
    if info.height and info.width and img.shape[:2] != (int(info.height), int(info.width)):
        raise SizeMismatchError(f"photo is {img.shape[0]}x{img.shape[1]}, labels are {info.height}x{info.width}",
                                file=path, image_id=info.id)
    return img


def draw_sample(sample: Sample, taxonomy: Taxonomy, image: np.ndarray | None = None, *,
                kinds=("semantic", "instances", "panoptic"), with_image: bool = True,
                font_size: int | None = None) -> np.ndarray:
    """The photo and one view per kind, side by side, each under a title.

    Parameters
    ----------
    sample : Sample
        Needs at least one label kind; the others are derived (:func:`panoptix.convert.to_kind`).
    taxonomy : Taxonomy
    image : array, optional
        The photo; grey when None.
    kinds : sequence of str
        Among ``"semantic"``, ``"instances"``, ``"panoptic"``.
    with_image : bool
        Put the photo itself first.

    Returns
    -------
    (H', W', 3) uint8 array
    """
    from ..convert import to_kind  # convert sits below viz; imported late so viz loads without it

    have = set(sample.kinds)
    shape = (int(sample.image.height), int(sample.image.width))
    for k in sample.kinds:
        shape = tuple(getattr(sample, k).shape)
        break
    base = A.canvas(image, shape)
    panels = [A.add_title(base, f"image {sample.image.id}", font_size=font_size)] if with_image else []
    full = sample
    for kind in kinds:
        full = to_kind(full, kind, taxonomy)
        labels = getattr(full, kind)
        if kind == "semantic":
            pic = draw_semantic(base, labels, taxonomy, font_size=font_size)
        elif kind == "instances":
            pic = draw_instances(base, labels, taxonomy, font_size=font_size)
        else:
            pic = draw_panoptic(base, labels, taxonomy, font_size=font_size)
        title = _TITLES[kind] + ("" if kind in have else " (derived)")
        panels.append(A.add_title(pic, title, font_size=font_size))
    return A.hstack(panels)
