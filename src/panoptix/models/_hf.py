"""Helpers shared by the Hugging Face transformers backends (imported lazily: needs torch).

* label ids of a model -> a :class:`~panoptix.core.taxonomy.Taxonomy` (+ a lookup table);
* image processors loaded with the portable PIL backend (no torchvision);
* batched outputs split per image with the batch padding cropped away;
* the device (``"auto"``, ``"cpu"``, ``"cuda"``).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import numpy as np

from ..core.errors import CategoryError, FormatError, PanoptixError
from ..core.taxonomy import IGNORE_INDEX, Category, Taxonomy

#: Label names that mark unused slots of a classifier head (DETR's COCO-id-indexed heads).
UNUSED_LABELS = {"n/a", "na", "none", "unused", ""}


def require_torch():
    """Import torch and transformers, or say which extra to install."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise PanoptixError(f"model backends need torch and transformers ({exc.name} is missing): "
                            "pip install 'panoptix[models]'") from None
    return torch


def transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


def resolve_device(device: str | None = "auto"):
    """``"auto"`` -> CUDA when available, else CPU; an unavailable CUDA is an error."""
    torch = require_torch()
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise PanoptixError(f"unknown device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PanoptixError(f"device {device!r} asked for, but CUDA is not available on this machine")
    return dev


def hub_kwargs() -> dict:
    """``from_pretrained`` options: cache only when ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set."""
    from .loading import is_offline

    return {"local_files_only": True} if is_offline() else {}


def _pil_backend(kwargs: dict) -> dict:
    # Always the PIL backend: identical preprocessing with or without torchvision installed.
    if transformers_major() >= 5:
        kwargs.setdefault("backend", "pil")
    else:  # pragma: no cover - transformers 4.x
        kwargs.setdefault("use_fast", False)
    return kwargs


def load_image_processor(path, **kwargs):
    from transformers import AutoImageProcessor

    return AutoImageProcessor.from_pretrained(str(path), **hub_kwargs(), **_pil_backend(kwargs))


def load_processor(path, **kwargs):
    """A multi-modal processor (image processor + tokenizer), PIL backend."""
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(str(path), **hub_kwargs(), **_pil_backend(kwargs))


# --------------------------------------------------------------------------- taxonomy
def read_categories(categories) -> Taxonomy:
    """A Taxonomy from a COCO-style categories JSON (a list, or a dataset with ``categories``),
    a list of category records, or a Taxonomy (returned as is)."""
    if isinstance(categories, Taxonomy):
        return categories
    if isinstance(categories, (str, Path)):
        from ..io.files import read_json

        data = read_json(categories)
        records = data.get("categories") if isinstance(data, dict) else data
        if records is None:
            raise FormatError("no 'categories' list in the file", file=categories)
        try:
            return Taxonomy.from_coco(records)
        except PanoptixError as exc:
            raise exc.at(file=categories) from None
    return Taxonomy.from_coco(list(categories))


def label_taxonomy(id2label: dict, categories=None) -> tuple[Taxonomy, np.ndarray]:
    """The taxonomy of a model's label ids and a lookup table ``label id -> category id``.

    Without ``categories`` every label ``k`` becomes thing class ``k`` (the ids a 0-based
    semantic ground truth uses: ADE20K with ``reduce_zero_label``, Cityscapes train ids,
    DETR's COCO-indexed heads). With ``categories`` (a COCO categories JSON, records or a
    Taxonomy) labels are matched by name, case-insensitive, and take that file's ids and
    thing/stuff flags; labels it lacks are dropped with a warning (an error when none
    matches). Unused slots (``"N/A"``) are dropped: -1 in the table.

    Examples
    --------
    >>> tax, lut = label_taxonomy({0: "cat", 1: "sky"})
    >>> tax.ids, lut.tolist()
    ([0, 1], [0, 1, -1])
    >>> tax, lut = label_taxonomy({0: "cat", 1: "sky"}, [{"id": 7, "name": "sky", "isthing": 0},
    ...                                                  {"id": 3, "name": "cat", "isthing": 1}])
    >>> lut.tolist(), tax.stuff_ids
    ([3, 7, -1], [7])
    """
    labels = {int(k): str(v) for k, v in dict(id2label).items()}
    if not labels:
        raise CategoryError("the model has no labels (empty id2label)")
    n = max(labels) + 1
    lut = np.full(n + 1, -1, np.int64)  # one spare slot: the "no object" class of query-based heads
    unused = {k for k, v in labels.items() if v.strip().lower() in UNUSED_LABELS}
    if categories is None:
        cats, seen = [], set()
        for k in sorted(labels):
            if k in unused:
                continue
            name = labels[k]
            if name in seen:  # duplicate label names: keep both, tell them apart
                name = f"{name}_{k}"
            seen.add(name)
            cats.append(Category(k, name))
            lut[k] = k
        taxonomy = Taxonomy(cats)
    else:
        taxonomy = read_categories(categories)
        by_name = {c.name.strip().lower(): c for c in taxonomy}
        unmatched = []
        for k in sorted(labels):
            if k in unused:
                continue
            cat = by_name.get(labels[k].strip().lower())
            if cat is None:
                unmatched.append(labels[k])
            else:
                lut[k] = cat.id
        if (lut >= 0).sum() == 0:
            raise CategoryError(f"none of the model's {len(labels)} label names (e.g. {labels[min(labels)]!r}) "
                                "is in the categories file", file=categories if isinstance(categories, (str, Path))
                                else None)
        if unmatched:
            warnings.warn(f"{len(unmatched)} model labels are not in the categories and will be dropped: "
                          f"{', '.join(unmatched[:8])}{' ...' if len(unmatched) > 8 else ''}", stacklevel=3)
    ids = set(taxonomy.ids)
    if taxonomy.ignore_index in ids:  # keep "ignore" distinct from every class
        taxonomy = Taxonomy(taxonomy.categories, ignore_index=max(max(ids) + 1, IGNORE_INDEX))
    return taxonomy, lut


def map_labels(lut: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Model label ids -> category ids (-1 for unused slots and out-of-range ids)."""
    labels = np.asarray(labels, np.int64)
    ok = (labels >= 0) & (labels < len(lut))
    out = np.full(labels.shape, -1, np.int64)
    out[ok] = lut[labels[ok]]
    return out


# --------------------------------------------------------------------------- outputs
def split_outputs(outputs, pixel_mask, fields: Sequence[str], spatial: Sequence[str]) -> list[SimpleNamespace]:
    """Per-image views of batched model outputs, with the batch padding cropped off.

    Images of different sizes are padded to a common size in one batch; the
    processors' post-processing would otherwise stretch the padding into the
    prediction. ``spatial`` fields (mask logits, ``[..., h, w]``) are cropped to the
    fraction of rows/columns that ``pixel_mask`` marks valid (to the nearest low-res
    pixel).
    """
    first = getattr(outputs, fields[0])
    out = []
    for i in range(first.shape[0]):
        frac_h = frac_w = 1.0
        if pixel_mask is not None:
            pm = pixel_mask[i]
            frac_h = float(pm.any(dim=1).sum()) / pm.shape[0]
            frac_w = float(pm.any(dim=0).sum()) / pm.shape[1]
        ns = {}
        for name in fields:
            t = getattr(outputs, name, None)
            if t is None:
                continue
            t = t[i:i + 1]
            if name in spatial and (frac_h < 1 or frac_w < 1):
                h, w = t.shape[-2:]
                t = t[..., :max(1, min(h, math.ceil(frac_h * h - 1e-6))), :max(1, min(w, math.ceil(frac_w * w - 1e-6)))]
            ns[name] = t
        out.append(SimpleNamespace(**ns))
    return out
