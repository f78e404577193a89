"""Assist tools over HTTP on a synthetic image with a known object."""

from __future__ import annotations

import numpy as np
import pytest

from panoptix.studio.labelstore import crop_to_mask

W, H = 96, 72
OBJ = (30, 20, 70, 50)  # x0, y0, x1, y1 of the bright square


@pytest.fixture(scope="module")
def assist_image(studio):
    p = studio.project("panoptic", images={"a.png": {"size": (W, H), "shapes": [(*OBJ, (230, 200, 40))]}})
    return studio.images(p["id"])[0]


def _truth():
    m = np.zeros((H, W), bool)
    m[OBJ[1]:OBJ[3], OBJ[0]:OBJ[2]] = True
    return m


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("body, min_iou", [
    ({"tool": "magic_wand", "points": [{"x": 50, "y": 35}], "tolerance": 20}, 1.0),
    ({"tool": "grabcut", "box": [26, 16, 74, 54]}, 0.9),
    ({"tool": "superpixel", "points": [{"x": 50, "y": 35}, {"x": 5, "y": 5, "positive": False}],
      "box": [28, 18, 72, 52], "superpixel_size": 64}, 0.8),
])
def test_classical_tools_find_the_object(studio, assist_image, body, min_iou):
    with studio.admin as c:
        r = c.post(f"/api/images/{assist_image['id']}/assist", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
    mask = crop_to_mask(out["mask"], H, W)
    assert out["area"] == int(mask.sum()) and _iou(mask, _truth()) >= min_iou


def test_negative_points_remove_and_bad_prompts_fail_cleanly(studio, assist_image):
    url = f"/api/images/{assist_image['id']}/assist"
    with studio.admin as c:
        both = c.post(url, json={"tool": "magic_wand", "points": [{"x": 50, "y": 35},
                                                                  {"x": 50, "y": 35, "positive": False}]}).json()
        assert both["mask"] is None and both["area"] == 0
        r = c.post(url, json={"tool": "magic_wand", "points": []})
        assert r.status_code == 422 and "positive point" in r.json()["detail"]
        r = c.post(url, json={"tool": "sam", "points": [{"x": 1, "y": 1}]})
        assert r.status_code == 422 and "no SAM model" in r.json()["detail"]
        assert c.post(url, json={"tool": "lasso"}).status_code == 422
        tools = c.get("/api/assist/tools").json()
        assert [t["name"] for t in tools] == ["grabcut", "superpixel", "magic_wand"]


@pytest.fixture(scope="session")
def tiny_prompt_models(tmp_path_factory):
    """Tiny random SAM and CLIPSeg checkpoints (offline; their masks are random, the plumbing is real)."""
    from panoptix.models.tiny import build_tiny

    base = tmp_path_factory.mktemp("tiny-models")
    return str(build_tiny("sam", base / "sam")), str(build_tiny("clipseg", base / "clipseg"))


@pytest.mark.slow
def test_sam_and_text_tools_when_configured(studio, assist_image, tiny_prompt_models):
    sam, clipseg = tiny_prompt_models
    url = f"/api/images/{assist_image['id']}/assist"
    studio.settings.sam_model, studio.settings.text_model = sam, clipseg
    try:
        with studio.admin as c:
            names = [t["name"] for t in c.get("/api/assist/tools").json()]
            assert names[-2:] == ["sam", "text"]
            for body in ({"tool": "sam", "points": [{"x": 50, "y": 35}, {"x": 5, "y": 5, "positive": False}]},
                         {"tool": "sam", "box": [26, 16, 74, 54]},
                         {"tool": "text", "text": "a yellow square"}):
                r = c.post(url, json=body)
                assert r.status_code == 200, r.text
                out = r.json()
                area = 0 if out["mask"] is None else int(crop_to_mask(out["mask"], H, W).sum())
                assert out["area"] == area and 0 <= area <= W * H
            assert c.post(url, json={"tool": "text"}).status_code == 422
    finally:
        studio.settings.sam_model = studio.settings.text_model = None
