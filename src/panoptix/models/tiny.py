"""Tiny randomly initialised models of every transformers backend, built from configs.

For tests, demos and benchmarks that must run offline in seconds: each builder makes a
model of a few hundred thousand parameters at most, with a processor that resizes
images to about 64-96 pixels, and saves both with ``save_pretrained`` so that
:func:`panoptix.models.load` reads them back like any downloaded checkpoint. The
predictions are random, of course; shapes, types, id mapping and file round trips are
what they exercise.

Usage (needs torch + transformers)::

    from panoptix.models import load
    from panoptix.models.tiny import build_tiny

    seg = load(build_tiny("mask2former", "/tmp/tiny-m2f"), device="cpu")
"""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

__all__ = ["build_tiny", "TINY_KINDS", "tiny_tokenizer"]

TINY_KINDS = ("mask2former", "maskformer", "oneformer", "detr", "segformer", "upernet", "sam", "clipseg")
DEFAULT_LABELS = ["person", "car", "sky", "road"]


def _id2label(labels) -> dict[int, str]:
    if isinstance(labels, dict):
        return {int(k): str(v) for k, v in labels.items()}
    return {i: str(n) for i, n in enumerate(labels)}


def tiny_tokenizer(folder):
    """A character-level CLIP BPE tokenizer (no merges) written to ``folder``: no download needed."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(string.ascii_lowercase + string.digits + ".,!?'-/()&")
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>")


def _swin():
    from transformers import SwinConfig

    return SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                      window_size=4, out_features=["stage1", "stage2", "stage3", "stage4"])


def _ip(name: str, **kw):
    """An image processor, PIL backend (no torchvision needed, no fallback warning)."""
    import transformers as T

    return getattr(T, name + "Pil", None)(**kw) if hasattr(T, name + "Pil") else getattr(T, name)(**kw)


def _opinionated(model) -> None:
    """Give the query embeddings and class heads unit-scale weights.

    With the library's tiny init (std 0.02) every query comes out alike and every class
    about equally likely, so post-processing keeps nothing; unit-scale weights make the
    queries differ and their class scores peak, as a trained model's do; the "no object"
    class gets a negative bias so that some queries name a real class.
    """
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            low = name.lower()
            head = any(k in low for k in ("class_predictor", "class_embed", "class_labels_classifier"))
            queries = "quer" in low and ("embed" in low or "feature" in low) and p.dim() == 2
            if (head and low.endswith("weight")) or queries:
                p.normal_(0.0, 1.0)
            elif head and low.endswith("bias"):
                p[-1] = -5.0  # the last class is "no object": make real classes win


def build_tiny(kind: str, folder, *, labels=None, seed: int = 0, image_size: int = 64) -> Path:
    """Build, save and return the folder of a tiny random ``kind`` model.

    Parameters
    ----------
    kind : one of :data:`TINY_KINDS`
    folder : path
        Where ``config.json``, the weights and the processor files go.
    labels : list of str or dict, optional
        Class names (``id2label``); default ``person, car, sky, road``.
    seed : int
        Torch seed for the random weights (same seed, same model).
    image_size : int
        Shorter side the processor resizes to (SAM/CLIPSeg/SegFormer: the square size).
    """
    import torch
    import transformers as T

    folder = Path(folder)
    id2label = _id2label(labels if labels is not None else DEFAULT_LABELS)
    lab = dict(id2label=id2label, label2id={v: k for k, v in id2label.items()})
    s = int(image_size)
    universal_size = {"shortest_edge": s, "longest_edge": s * 3 // 2}
    torch.manual_seed(seed)
    if kind == "mask2former":
        cfg = T.Mask2FormerConfig(backbone_config=_swin(), feature_size=32, mask_feature_size=32, hidden_dim=32,
                                  encoder_feedforward_dim=64, encoder_layers=1, decoder_layers=2,
                                  num_attention_heads=2, dim_feedforward=64, num_queries=8, **lab)
        model = T.Mask2FormerForUniversalSegmentation(cfg)
        proc = _ip("Mask2FormerImageProcessor", size=universal_size)
    elif kind == "maskformer":
        dec = T.DetrConfig(d_model=32, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=32, decoder_ffn_dim=32,
                           encoder_attention_heads=2, decoder_attention_heads=2, num_queries=8)
        cfg = T.MaskFormerConfig(backbone_config=_swin(), decoder_config=dec, fpn_feature_size=32,
                                 mask_feature_size=32, num_queries=8, **lab)
        model = T.MaskFormerForInstanceSegmentation(cfg)
        proc = _ip("MaskFormerImageProcessor", size=universal_size)
    elif kind == "oneformer":
        tok = tiny_tokenizer(folder / "_tokenizer_src")
        cfg = T.OneFormerConfig(backbone_config=_swin(), num_queries=8, text_encoder_width=32,
                                text_encoder_num_layers=1, text_encoder_context_length=16, task_seq_len=16,
                                text_encoder_vocab_size=len(tok), text_encoder_n_ctx=4, conv_dim=32, mask_dim=32,
                                hidden_dim=32, encoder_feedforward_dim=32, encoder_layers=1, decoder_layers=2,
                                num_attention_heads=2, dim_feedforward=32, query_dec_layers=1, **lab)
        model = T.OneFormerForUniversalSegmentation(cfg)
        proc = T.OneFormerProcessor(_ip("OneFormerImageProcessor", size=universal_size, num_text=2), tok,
                                    max_seq_length=16, task_seq_length=16)
    elif kind == "detr":
        backbone = T.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1],
                                  layer_type="basic", out_features=["stage1", "stage2", "stage3", "stage4"])
        # The mask head needs d_model + heads divisible by 8.
        cfg = T.DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False, backbone_config=backbone,
                           d_model=32, encoder_layers=1, decoder_layers=1, encoder_ffn_dim=32, decoder_ffn_dim=32,
                           encoder_attention_heads=8, decoder_attention_heads=8, num_queries=8, **lab)
        model = T.DetrForSegmentation(cfg)
        proc = _ip("DetrImageProcessor", size=universal_size, format="coco_panoptic")
    elif kind == "segformer":
        cfg = T.SegformerConfig(depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 16, 32], num_attention_heads=[1, 1, 1, 1],
                                decoder_hidden_size=32, **lab)
        model = T.SegformerForSemanticSegmentation(cfg)
        proc = _ip("SegformerImageProcessor", size={"height": s, "width": s})
    elif kind == "upernet":
        backbone = T.ConvNextConfig(hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1],
                                    out_features=["stage1", "stage2", "stage3", "stage4"])
        cfg = T.UperNetConfig(backbone_config=backbone, hidden_size=16, auxiliary_channels=8, **lab)
        model = T.UperNetForSemanticSegmentation(cfg)
        proc = _ip("SegformerImageProcessor", size={"height": s, "width": s})
    elif kind == "sam":
        cfg = T.SamConfig(
            vision_config=T.SamVisionConfig(hidden_size=32, output_channels=16, num_hidden_layers=2,
                                            num_attention_heads=2, image_size=s, patch_size=8, window_size=4,
                                            global_attn_indexes=[1], mlp_dim=32, num_pos_feats=8),
            prompt_encoder_config=T.SamPromptEncoderConfig(hidden_size=16, image_size=s, patch_size=8,
                                                           mask_input_channels=4),
            mask_decoder_config=T.SamMaskDecoderConfig(hidden_size=16, mlp_dim=32, num_attention_heads=2,
                                                       iou_head_hidden_dim=16))
        model = T.SamModel(cfg)
        proc = T.SamProcessor(_ip("SamImageProcessor", size={"longest_edge": s}, pad_size={"height": s, "width": s}))
    elif kind == "clipseg":
        tok = tiny_tokenizer(folder / "_tokenizer_src")
        n = len(tok)
        cfg = T.CLIPSegConfig(
            text_config=dict(vocab_size=n, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
                             num_attention_heads=2, max_position_embeddings=16, bos_token_id=n - 2,
                             eos_token_id=n - 1, pad_token_id=n - 1),
            vision_config=dict(hidden_size=32, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2,
                               image_size=s, patch_size=16),
            projection_dim=16, extract_layers=[1, 2], reduce_dim=16, decoder_intermediate_size=32)
        model = T.CLIPSegForImageSegmentation(cfg)
        proc = T.CLIPSegProcessor(_ip("ViTImageProcessor", size={"height": s, "width": s}), tok)
    else:
        raise ValueError(f"unknown tiny model kind {kind!r}; expected one of {', '.join(TINY_KINDS)}")
    _opinionated(model)
    model.eval()
    model.save_pretrained(str(folder))
    proc.save_pretrained(str(folder))
    shutil.rmtree(folder / "_tokenizer_src", ignore_errors=True)
    return folder
