"""``panoptix.models.load``: a model folder or a Hugging Face hub name -> a :class:`Segmenter`.

The backend is chosen from ``config.json`` (``model_type``, then ``architectures``):

==============================================  ==========================================
model                                           backend
==============================================  ==========================================
mask2former, maskformer, oneformer, detr        :class:`UniversalSegmenter` (all 3 kinds)
(``DetrForSegmentation``)
segformer, upernet, any                         :class:`SemanticSegmenter`
``...ForSemanticSegmentation``
sam                                             :class:`SamSegmenter` (prompts)
clipseg                                         :class:`TextPromptSegmenter` (text)
==============================================  ==========================================

Hub names are downloaded once by transformers and then read from its cache
(``~/.cache/huggingface``); with ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``)
only the cache is used, and a model missing from it is a clear error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..core.errors import FormatError, PanoptixError

__all__ = ["load", "backend_for", "is_offline"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` is set to a true value."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def backend_for(config):
    """The backend class for a transformers config (PanoptixError when none fits)."""
    from .sam import SamSegmenter
    from .text_prompt import TextPromptSegmenter
    from .transformers_semantic import SemanticSegmenter
    from .transformers_universal import UniversalSegmenter, is_universal

    model_type = getattr(config, "model_type", None)
    archs = list(getattr(config, "architectures", None) or [])
    if model_type == "sam":
        return SamSegmenter
    if model_type == "clipseg":
        return TextPromptSegmenter
    if is_universal(config):
        return UniversalSegmenter
    if model_type == "detr":
        raise PanoptixError("this DETR checkpoint has no segmentation head (architectures: "
                            f"{', '.join(archs) or 'none'}); use a DetrForSegmentation (panoptic) checkpoint")
    try:
        from transformers import MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES as semantic_types
    except ImportError:  # pragma: no cover - very old transformers
        semantic_types = {}
    if model_type in semantic_types or any(a.endswith("ForSemanticSegmentation") for a in archs):
        return SemanticSegmenter
    raise PanoptixError(f"no panoptix backend for model type {model_type!r} (architectures: "
                        f"{', '.join(archs) or 'none'}); supported: mask2former, maskformer, oneformer, detr "
                        "(segmentation), segformer, upernet and other semantic models, sam, clipseg")


def _config(name_or_path: str, *, local: bool):
    from transformers import AutoConfig

    offline = is_offline()
    try:
        return AutoConfig.from_pretrained(name_or_path, local_files_only=offline or local)
    except (OSError, ValueError) as exc:
        if local:
            raise FormatError(f"config.json cannot be read: {exc}", file=Path(name_or_path) / "config.json") from None
        if offline:
            raise PanoptixError(f"model {name_or_path!r} is not in the local Hugging Face cache and downloads are "
                                "off (HF_HUB_OFFLINE=1): run once online, or give a model folder") from None
        raise PanoptixError(f"cannot load model {name_or_path!r}: no such folder, and the Hugging Face hub has no "
                            f"such model or cannot be reached ({str(exc).splitlines()[0]})") from None


def load(name_or_path, *, task: str | None = None, device: str = "auto", categories=None, **options):
    """A :class:`~panoptix.models.base.Segmenter` for a model folder or hub name.

    Parameters
    ----------
    name_or_path : str or Path
        A folder holding ``config.json`` + weights + processor files (as written by
        ``save_pretrained``), or a hub name such as ``"facebook/mask2former-swin-tiny-coco-panoptic"``.
    task : {"semantic", "instance", "panoptic"}, optional
        The default task of ``predict`` (universal models; default: from the checkpoint
        name, else panoptic).
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``"auto"``: CUDA when available.
    categories : path, list of dict or Taxonomy, optional
        COCO-style categories: model labels are matched by name and take their ids and
        thing/stuff flags. Without it, label ``k`` becomes thing class ``k`` (named as in ``id2label``).
    **options
        Backend options: ``batch_size``, ``max_side``, ``threshold``, ``mask_threshold``,
        ``overlap_mask_area_threshold`` (universal), ``classes``/``template`` (CLIPSeg),
        ``points_per_side``, ``pred_iou_thresh``... (SAM).

    Raises
    ------
    PanoptixError
        No such folder, a folder without ``config.json``, a hub model that is not cached
        while offline, an architecture without a backend, torch/transformers missing.

    Examples
    --------
    >>> load("/nonexistent/model-folder")
    Traceback (most recent call last):
    ...
    panoptix.core.errors.PanoptixError: /nonexistent/model-folder: no such model folder
    """
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise PanoptixError("a model is a folder with config.json, not a file", file=path)
        if not (path / "config.json").is_file():
            raise PanoptixError("no config.json in the model folder (save the model with save_pretrained, "
                                "or give a hub name)", file=path)
        local = True
        name = str(path)
    else:
        if not _HUB_ID.match(name):  # not an "org/name" hub id: a folder that is not there
            raise PanoptixError("no such model folder", file=name)
        local = False
    from ._hf import require_torch

    require_torch()
    config = _config(name, local=local)
    backend = backend_for(config)
    from transformers.utils import logging as hf_logging

    # No "Loading weights" bars for a local folder (quick; keeps stderr clean); hub downloads keep theirs.
    bars = local and hf_logging.is_progress_bar_enabled()
    if bars:
        hf_logging.disable_progress_bar()
    try:
        return backend.from_pretrained(name, config=config, task=task, device=device, categories=categories,
                                       **options)
    except PanoptixError:
        raise
    except TypeError as exc:
        raise PanoptixError(f"bad option for {backend.__name__}: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:
        where = dict(file=path) if local else {}
        raise PanoptixError(f"cannot load the model: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                            **where) from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
