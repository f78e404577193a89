"""Universal segmentation models from Hugging Face transformers: Mask2Former, MaskFormer,
OneFormer and DETR (panoptic head).

One forward pass gives query masks and class scores; the image processor's
``post_process_semantic_segmentation`` / ``post_process_instance_segmentation`` /
``post_process_panoptic_segmentation`` turn them into each kind, and this module maps
their outputs onto the core types:

* label ids -> taxonomy ids through the model's ``id2label`` (and a categories file);
* segment ids: the processors mark "no segment" with ``-1`` (nothing above the
  threshold, and instance maps) or ``0`` (panoptic maps); both become VOID, and only
  the ids listed in ``segments_info`` are read;
* instance masks keep their overlaps (``return_binary_maps=True``) where the processor
  offers it (Mask2Former, MaskFormer, OneFormer); the DETR processor only returns a
  non-overlapping segment map, which is split into masks;
* stuff classes are fused into one segment per class by panoptix after the processor
  ran with ``label_ids_to_fuse=set()``: the processors' own fusion can give two
  segments the same id (transformers issue #23461);
* OneFormer gets its task token (``"the task is panoptic"``...) per task; its instance and
  panoptic outputs go through the MaskFormer processor's post-processing (the same
  inference; the OneFormer PIL processor needs torchvision there in transformers 5).

Batches of differently sized images are padded by the processor; the padding is
cropped off the mask logits before post-processing (the processors do not).
Post-processing runs on the CPU.
"""

from __future__ import annotations

import inspect
import re

import numpy as np

from ..core.labels import Instances, PanopticMap, SemanticMap
from .base import DEFAULT_MAX_SIDE, TASKS, BaseSegmenter, Prediction
from ._hf import hub_kwargs, label_taxonomy, load_image_processor, load_processor, map_labels, require_torch
from ._hf import resolve_device, split_outputs

__all__ = ["UniversalSegmenter", "ARCHITECTURES"]

#: model_type -> (model class name, output fields, spatial output fields)
ARCHITECTURES = {
    "mask2former": ("Mask2FormerForUniversalSegmentation", ("class_queries_logits", "masks_queries_logits"),
                    ("masks_queries_logits",)),
    "maskformer": ("MaskFormerForInstanceSegmentation", ("class_queries_logits", "masks_queries_logits"),
                   ("masks_queries_logits",)),
    "oneformer": ("OneFormerForUniversalSegmentation", ("class_queries_logits", "masks_queries_logits"),
                  ("masks_queries_logits",)),
    "detr": ("DetrForSegmentation", ("logits", "pred_masks", "pred_boxes"), ("pred_masks",)),
}


def default_task_for(name: str) -> str:
    """The task a checkpoint was trained for, from its name (``...-coco-instance``, ``...-ade-semantic``).

    Only the last part of the name counts (not the folders above it); panoptic otherwise.

    Examples
    --------
    >>> default_task_for("facebook/mask2former-swin-tiny-coco-instance")
    'instance'
    >>> default_task_for("facebook/mask2former-swin-large-ade-panoptic"), default_task_for("/models/made-up")
    ('panoptic', 'panoptic')
    >>> default_task_for("shi-labs/oneformer_ade20k_swin_tiny")
    'semantic'
    """
    tokens = re.split(r"[-_.]", str(name).rstrip("/\\").replace("\\", "/").split("/")[-1].lower())
    if "instance" in tokens:
        return "instance"
    if "panoptic" in tokens:
        return "panoptic"
    if "semantic" in tokens or any(t in ("ade", "ade20k", "ade150") for t in tokens):
        return "semantic"
    return "panoptic"


def _label_dtype(max_value: int):
    return np.uint8 if max_value <= 255 else (np.uint16 if max_value <= 65535 else np.int32)


class UniversalSegmenter(BaseSegmenter):
    """A transformers universal segmentation model behind the :class:`Segmenter` interface.

    Build it with :func:`panoptix.models.load` (or :meth:`from_pretrained`).

    Parameters
    ----------
    model, processor
        The transformers model (eval mode) and its image processor (or OneFormer processor).
    arch : {"mask2former", "maskformer", "oneformer", "detr"}
    taxonomy : Taxonomy
    lut : array
        Model label id -> category id (-1: dropped).
    device : torch.device
    task : str, optional
        Default task (``"panoptic"`` unless given).
    threshold : float
        Minimum class score of a query to become an instance / segment.
    mask_threshold : float
        Mask probability above which a pixel belongs to a query's mask.
    overlap_mask_area_threshold : float
        Panoptic: a query keeps its segment only if at least this fraction of its mask
        survived the competition with the other queries.
    batch_size, max_side
        See :class:`~panoptix.models.base.BaseSegmenter`.
    """

    def __init__(self, model, processor, *, arch: str, taxonomy, lut, device, task: str | None = None,
                 threshold: float = 0.5, mask_threshold: float = 0.5, overlap_mask_area_threshold: float = 0.8,
                 batch_size: int = 4, max_side: int | None = DEFAULT_MAX_SIDE, name: str = ""):
        super().__init__(taxonomy, tasks=TASKS, default_task=task or "panoptic", batch_size=batch_size,
                         max_side=max_side)
        self.model, self.processor, self.arch = model, processor, arch
        self.lut = np.asarray(lut)
        self.device = device
        self.threshold, self.mask_threshold = float(threshold), float(mask_threshold)
        self.overlap_mask_area_threshold = float(overlap_mask_area_threshold)
        self.name = name or arch
        _, self._fields, self._spatial = ARCHITECTURES[arch]
        self._image_processor = getattr(processor, "image_processor", processor)
        # Instance/panoptic post-processing. OneFormer's PIL processor cannot resize without torchvision
        # (transformers 5 calls an unimported `tvF` in its compute_segments); its panoptic inference is
        # MaskFormer's, so the MaskFormer processor's post-processing runs instead, with or without
        # torchvision, and it keeps instance overlaps (return_binary_maps) besides.
        self._mask_post = self._image_processor
        if arch == "oneformer":
            import transformers

            cls_ = getattr(transformers, "MaskFormerImageProcessorPil", None) or transformers.MaskFormerImageProcessor
            self._mask_post = cls_()
        self._thing = np.array([self.taxonomy.get(int(c)) is not None and self.taxonomy[int(c)].isthing
                                for c in np.maximum(self.lut, 0)]) & (self.lut >= 0)
        self._has_stuff = bool(self.taxonomy.stuff_ids)

    @classmethod
    def from_pretrained(cls, path, *, config=None, task=None, device="auto", categories=None, **options):
        """Load model + processor from a folder or hub name (see :func:`panoptix.models.load`)."""
        require_torch()
        import transformers

        if config is None:
            config = transformers.AutoConfig.from_pretrained(str(path))
        arch = config.model_type
        model_cls = getattr(transformers, ARCHITECTURES[arch][0])
        if arch == "oneformer":
            # class_info_file="" : the metadata file is only needed for training and would be downloaded.
            processor = load_processor(path, class_info_file="")
        else:
            processor = load_image_processor(path)
        dev = resolve_device(device)
        model = model_cls.from_pretrained(str(path), **hub_kwargs()).to(dev).eval()
        taxonomy, lut = label_taxonomy(config.id2label, categories)
        return cls(model, processor, arch=arch, taxonomy=taxonomy, lut=lut, device=dev,
                   task=task or default_task_for(path), name=str(path), **options)

    # -- forward ---------------------------------------------------------------
    def _forward(self, images: list[np.ndarray], task: str):
        torch = require_torch()
        if self.arch == "oneformer":
            inputs = self.processor(images=images, task_inputs=[task] * len(images), return_tensors="pt")
        else:
            inputs = self.processor(images=images, return_tensors="pt")
        pixel_mask = inputs.get("pixel_mask")
        feed = {k: v.to(self.device) for k, v in inputs.items() if hasattr(v, "to")}
        with torch.inference_mode():
            outputs = self.model(**feed)
            per_image = split_outputs(outputs, pixel_mask, self._fields, self._spatial)
            # Post-processing on the CPU: some processors build CPU tensors and index them with masks.
            for o in per_image:
                for k, v in vars(o).items():
                    setattr(o, k, v.detach().float().cpu())
        return per_image

    def _predict_batch(self, images, task):
        torch = require_torch()
        tasks = TASKS if task == "all" else (task,)
        preds = [Prediction(taxonomy=self.taxonomy) for _ in images]
        shared = None
        for t in tasks:
            if self.arch == "oneformer" or shared is None:  # OneFormer's output depends on the task token
                shared = self._forward(images, t)
            with torch.inference_mode():
                for pred, o, im in zip(preds, shared, images):
                    size = tuple(im.shape[:2])
                    if t == "semantic":
                        pred.semantic = self._semantic(o, size)
                    elif t == "instance":
                        pred.instances = self._instances(o, size)
                    else:
                        pred.panoptic, pred.extra["panoptic_scores"] = self._panoptic(o, size)
        return preds

    # -- post-processing -------------------------------------------------------
    def _post_kw(self, fn, **kw) -> dict:
        params = inspect.signature(fn).parameters
        base = dict(threshold=self.threshold, mask_threshold=self.mask_threshold,
                    overlap_mask_area_threshold=self.overlap_mask_area_threshold)
        base.update(kw)
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return {k: v for k, v in base.items() if k not in ("task_type", "is_demo")}
        return {k: v for k, v in base.items() if k in params}

    def _semantic(self, o, size) -> SemanticMap:
        res = self._image_processor.post_process_semantic_segmentation(o, target_sizes=[size])[0]
        cats = map_labels(self.lut, res.numpy())
        ignore = self.taxonomy.ignore_index
        cats[cats < 0] = ignore
        return SemanticMap(cats.astype(_label_dtype(max(int(cats.max()), ignore))), ignore)

    def _instances(self, o, size) -> Instances:
        fn = self._mask_post.post_process_instance_segmentation
        kw = self._post_kw(fn, target_sizes=[size], return_binary_maps=True, task_type="instance", is_demo=True)
        res = fn(o, **kw)[0]
        info, seg = res["segments_info"], res["segmentation"]
        if not info or seg is None:
            return Instances.empty(*size, with_scores=True)
        seg = seg.numpy()
        if seg.ndim == 3:  # binary maps, one per entry of segments_info: overlaps kept
            masks = seg > 0.5
        else:  # a segment map: only the ids listed in segments_info are objects (-1 / 0: none)
            masks = np.stack([seg == s["id"] for s in info])
        cats = map_labels(self.lut, [s["label_id"] for s in info])
        keep = cats >= 0
        if self._has_stuff:  # instances are things only
            keep &= self._thing[np.clip([s["label_id"] for s in info], 0, len(self._thing) - 1)]
        keep &= masks.reshape(len(masks), -1).any(axis=1)
        scores = np.array([float(s.get("score", 1.0)) for s in info])
        return Instances.from_masks(masks[keep], cats[keep], scores=scores[keep])

    def _panoptic(self, o, size) -> tuple[PanopticMap, dict[int, float]]:
        fn = self._mask_post.post_process_panoptic_segmentation
        res = fn(o, **self._post_kw(fn, target_sizes=[size], label_ids_to_fuse=set()))[0]
        info, seg = res["segments_info"], res["segmentation"]
        ids = np.zeros(size, np.int64)
        if not info or seg is None:
            return PanopticMap.from_ids(ids, {}), {}
        seg = seg.numpy().astype(np.int64)
        # New ids 1..K in order of appearance in segments_info; stuff of one class fused into one segment.
        old_to_new: dict[int, int] = {}
        categories: dict[int, int] = {}
        scores: dict[int, float] = {}
        stuff_segment: dict[int, int] = {}
        for s in info:
            cat = int(map_labels(self.lut, [s["label_id"]])[0])
            if cat < 0:
                continue
            if not self.taxonomy[cat].isthing and cat in stuff_segment:
                new = stuff_segment[cat]
            else:
                new = len(categories) + 1
                categories[new] = cat
                if not self.taxonomy[cat].isthing:
                    stuff_segment[cat] = new
            old_to_new[int(s["id"])] = new
            scores[new] = max(scores.get(new, 0.0), float(s.get("score", 1.0)))
        # Old ids are small (-1, 0, 1..Q): a lookup table relabels the map in one pass, no sort.
        lo = min(int(seg.min()), 0)
        table = np.zeros(int(seg.max()) - lo + 1, np.int64)
        for old, new in old_to_new.items():
            if 0 <= old - lo < len(table):
                table[old - lo] = new
        ids = table[seg - lo]
        pan = PanopticMap.from_ids(ids, categories)
        present = {s.id for s in pan.segments if s.area > 0}
        pan = PanopticMap(pan.ids, [s for s in pan.segments if s.id in present])
        return pan, {k: v for k, v in scores.items() if k in present}


def is_universal(config) -> bool:
    """Whether a transformers config is one of the universal architectures this module runs."""
    mt = getattr(config, "model_type", None)
    if mt == "detr":
        return any("Segmentation" in a for a in (getattr(config, "architectures", None) or []))
    return mt in ARCHITECTURES
