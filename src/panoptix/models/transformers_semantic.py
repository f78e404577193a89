"""Semantic-only models from Hugging Face transformers: SegFormer, UperNet and any other
``AutoModelForSemanticSegmentation`` architecture (BEiT, DPT, MobileViT...).

The processor's ``post_process_semantic_segmentation`` upsamples the class logits to
the image size and takes the argmax; label ids map to taxonomy ids as in every
transformers backend (``id2label``, optionally a categories file). Instances and
panoptic labels are derived on demand (:meth:`Prediction.get`).
"""

from __future__ import annotations

import numpy as np

from ..core.labels import SemanticMap
from .base import DEFAULT_MAX_SIDE, BaseSegmenter, Prediction
from ._hf import hub_kwargs, label_taxonomy, load_image_processor, map_labels, require_torch, resolve_device
from ._hf import split_outputs

__all__ = ["SemanticSegmenter"]


class SemanticSegmenter(BaseSegmenter):
    """A transformers semantic segmentation model behind the :class:`Segmenter` interface.

    Parameters
    ----------
    model, processor
        The transformers model (eval mode) and its image processor.
    taxonomy, lut
        See :func:`panoptix.models._hf.label_taxonomy`.
    device : torch.device
    batch_size, max_side
        See :class:`~panoptix.models.base.BaseSegmenter`.
    """

    def __init__(self, model, processor, *, taxonomy, lut, device, batch_size: int = 4,
                 max_side: int | None = DEFAULT_MAX_SIDE, name: str = "", task: str | None = None):
        super().__init__(taxonomy, tasks=("semantic",), default_task="semantic", batch_size=batch_size,
                         max_side=max_side)
        self.model, self.processor, self.lut, self.device = model, processor, np.asarray(lut), device
        self.name = name or getattr(model.config, "model_type", "semantic")

    @classmethod
    def from_pretrained(cls, path, *, config=None, task=None, device="auto", categories=None, **options):
        """Load model + processor from a folder or hub name (see :func:`panoptix.models.load`)."""
        require_torch()
        import transformers

        if config is None:
            config = transformers.AutoConfig.from_pretrained(str(path))
        dev = resolve_device(device)
        model = transformers.AutoModelForSemanticSegmentation.from_pretrained(str(path), **hub_kwargs())
        model = model.to(dev).eval()
        processor = load_image_processor(path)
        taxonomy, lut = label_taxonomy(config.id2label, categories)
        return cls(model, processor, taxonomy=taxonomy, lut=lut, device=dev, name=str(path), **options)

    def _predict_batch(self, images, task):
        torch = require_torch()
        inputs = self.processor(images=images, return_tensors="pt")
        feed = {k: v.to(self.device) for k, v in inputs.items() if hasattr(v, "to")}
        with torch.inference_mode():
            outputs = self.model(**feed)
            per_image = split_outputs(outputs, inputs.get("pixel_mask"), ("logits",), ("logits",))
            out = []
            for o, im in zip(per_image, images):
                size = tuple(im.shape[:2])
                post = getattr(self.processor, "post_process_semantic_segmentation", None)
                if post is not None:
                    labels = post(o, target_sizes=[size])[0]
                else:  # processors without it: upsample the logits and take the argmax
                    up = torch.nn.functional.interpolate(o.logits.float(), size=size, mode="bilinear",
                                                         align_corners=False)
                    labels = up[0].argmax(0)
                cats = map_labels(self.lut, labels.cpu().numpy())
                ignore = self.taxonomy.ignore_index
                cats[cats < 0] = ignore
                top = max(int(cats.max()), ignore)
                dtype = np.uint8 if top <= 255 else (np.uint16 if top <= 65535 else np.int32)
                out.append(Prediction(semantic=SemanticMap(cats.astype(dtype), ignore), taxonomy=self.taxonomy))
        return out
