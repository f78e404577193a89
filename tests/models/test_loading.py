"""``load``: folders, hub names (cached / offline), unsupported models, clear errors."""

from __future__ import annotations

import json
import shutil

import pytest

from panoptix.core import FormatError, PanoptixError
from panoptix.models import is_offline, load
from panoptix.models.sam import SamSegmenter
from panoptix.models.text_prompt import TextPromptSegmenter
from panoptix.models.transformers_semantic import SemanticSegmenter


def test_missing_folder_file_and_folder_without_config(tmp_path):
    with pytest.raises(PanoptixError, match="no such model folder"):
        load(tmp_path / "nowhere")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(PanoptixError, match="weights.bin: a model is a folder with config.json"):
        load(tmp_path / "weights.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PanoptixError, match="empty: no config.json in the model folder"):
        load(tmp_path / "empty")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{ not json")
    with pytest.raises(FormatError, match="config.json cannot be read"):
        load(tmp_path / "broken")


def test_unsupported_architectures_are_named(tmp_path):
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(PanoptixError, match="no panoptix backend for model type 'bert'"):
        load(tmp_path / "bert")
    (tmp_path / "det").mkdir()
    (tmp_path / "det" / "config.json").write_text(json.dumps(
        {"model_type": "detr", "architectures": ["DetrForObjectDetection"], "use_timm_backbone": False}))
    with pytest.raises(PanoptixError, match="DETR checkpoint has no segmentation head"):
        load(tmp_path / "det")


def test_weights_missing_from_a_folder(tiny, tmp_path):
    shutil.copytree(tiny("segformer"), tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(PanoptixError, match="cannot load the model"):
        load(tmp_path / "m", device="cpu")


def test_backends_picked_from_config(tiny):
    assert isinstance(load(tiny("segformer"), device="cpu"), SemanticSegmenter)
    assert isinstance(load(tiny("sam"), device="cpu"), SamSegmenter)
    assert isinstance(load(tiny("clipseg"), device="cpu", classes=["cat"]), TextPromptSegmenter)
    with pytest.raises(PanoptixError, match="bad option for SemanticSegmenter.*threshold"):
        load(tiny("segformer"), device="cpu", threshold=0.3)


def test_device_choice(tiny):
    import torch

    seg = load(tiny("segformer"), device="auto")
    assert seg.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(PanoptixError, match="CUDA is not available"):
            load(tiny("segformer"), device="cuda")
    with pytest.raises(PanoptixError, match="unknown device 'tpu9'"):
        load(tiny("segformer"), device="tpu9")


def _offline(monkeypatch, cache):
    import huggingface_hub.constants as hc

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))


def test_offline_hub_name_not_cached_is_a_clear_error(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path / "hf-cache")
    assert is_offline()
    with pytest.raises(PanoptixError, match="'nobody-here/no-such-model' is not in the local Hugging Face cache "
                                            "and downloads are off"):
        load("nobody-here/no-such-model")
    with pytest.raises(PanoptixError, match="no such model folder"):
        load("./not/here")


def test_offline_hub_name_from_the_cache(monkeypatch, tmp_path, tiny):
    # The hub cache layout transformers reads: models--ORG--NAME/{refs/main, snapshots/<commit>/...}.
    repo = tmp_path / "hf-cache" / "models--panoptix-test--tiny-segformer"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny("segformer"), repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    _offline(monkeypatch, tmp_path / "hf-cache")
    seg = load("panoptix-test/tiny-segformer", device="cpu")
    assert isinstance(seg, SemanticSegmenter) and seg.name == "panoptix-test/tiny-segformer"
    assert seg.predict(__import__("numpy").zeros((20, 30, 3), "uint8")).shape == (20, 30)
