"""Classical tools on real pictures (scikit-image's coins) and drawn shapes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage import data, morphology

from panoptix.core import SizeMismatchError, ValidationError
from panoptix.models import classical as C


@pytest.fixture(scope="module")
def coins():
    return data.coins()  # 303x384 grayscale, 24 coins


def _coin_centres(image):
    """Reference coins: sobel elevation + marker watershed (skimage's tutorial recipe), filled."""
    from skimage import filters, segmentation

    markers = np.zeros_like(image, dtype=np.int32)
    markers[image < 30] = 1
    markers[image > 150] = 2
    fg = ndimage.binary_fill_holes(segmentation.watershed(filters.sobel(image), markers) == 2)
    lab, n = ndimage.label(fg)
    sizes = np.bincount(lab.ravel())
    keep = [k for k in range(1, n + 1) if sizes[k] > 300]
    return fg, np.array(ndimage.center_of_mass(fg, lab, keep))


def test_split_touching_separates_the_coins(coins):
    fg, centres = _coin_centres(coins)
    assert len(centres) == 24
    # Grow every coin so that neighbours touch: 22 blobs left, the splitter must find the 24 coins.
    touching = morphology.dilation(fg, morphology.disk(4))
    assert ndimage.label(touching)[1] < 24
    labels = C.split_touching(touching, min_distance=7)
    n = int(labels.max())
    assert 20 <= n <= 28
    hit = {int(labels[int(round(y)), int(round(x))]) for y, x in centres}
    assert 0 not in hit and len(hit) >= 20  # coin centres fall in different objects
    inst = C.split_instances(touching, category_id=3, min_distance=7)
    assert len(inst) == n and set(inst.category_ids.tolist()) == {3} and inst.scores is None
    assert (inst.masks().sum(0) <= 1).all()  # instances never overlap


def test_coins_from_an_otsu_mask(coins):
    fg = C.threshold_foreground(coins, "otsu")
    inst = C.split_instances(fg, min_distance=10, min_area=150)
    m = inst.masks()
    assert 20 <= len(inst) <= 34 and (m.sum(0) <= 1).all()
    _, centres = _coin_centres(coins)
    owner = [int(np.flatnonzero(m[:, int(round(y)), int(round(x))])[0]) if m[:, int(round(y)), int(round(x))].any()
             else -1 for y, x in centres]
    assert sum(o >= 0 for o in owner) >= 20 and len({o for o in owner if o >= 0}) >= 20


def test_split_touching_edge_cases():
    assert C.split_touching(np.zeros((5, 5), bool)).max() == 0
    thin = np.zeros((20, 20), bool)
    thin[5, 2:18] = True  # a 1-pixel line: no distance peak away from others, still one object
    lab = C.split_touching(thin, min_area=1)
    assert lab.max() >= 1 and (lab[thin] > 0).all()
    with pytest.raises(SizeMismatchError):
        C.split_touching(np.zeros((2, 2, 2), bool))


def _scene():
    img = np.full((60, 80, 3), 30, np.uint8)
    img[15:45, 20:60] = (210, 80, 40)
    return img


def test_grabcut_from_a_box_and_from_scribbles():
    img = _scene()
    m = C.grabcut(img, box=(14, 10, 66, 50))
    truth = np.zeros(img.shape[:2], bool)
    truth[15:45, 20:60] = True
    iou = (m & truth).sum() / (m | truth).sum()
    assert iou > 0.9
    fg = np.zeros(img.shape[:2], bool)
    fg[28:32, 30:50] = True
    bg = np.zeros(img.shape[:2], bool)
    bg[:5] = True
    m2 = C.grabcut(img, foreground=fg, background=bg)
    assert (m2 & truth).sum() / (m2 | truth).sum() > 0.9
    assert np.array_equal(C.grabcut(img, box=(14, 10, 66, 50)), m)  # deterministic
    with pytest.raises(ValidationError, match="box or a foreground"):
        C.grabcut(img)
    with pytest.raises(ValidationError, match="empty"):
        C.grabcut(img, box=(100, 100, 120, 120))
    with pytest.raises(ValidationError, match="both object and background"):
        C.grabcut(img, box=(0, 0, 80, 60))
    with pytest.raises(SizeMismatchError, match="foreground scribble"):
        C.grabcut(img, foreground=np.ones((3, 3), bool))


def test_slic_superpixels_follow_edges():
    img = _scene()
    lab = C.slic(img, n_segments=30, compactness=10)
    assert lab.shape == img.shape[:2] and lab.min() >= 1 and 10 <= len(np.unique(lab)) <= 60
    # Superpixels follow the rectangle's border (colour jump): labelling each superpixel by its
    # majority side reproduces the rectangle almost exactly.
    inside = np.zeros(img.shape[:2], bool)
    inside[15:45, 20:60] = True
    share = ndimage.mean(inside, lab, np.unique(lab))
    majority = np.zeros(lab.max() + 1, bool)
    majority[np.unique(lab)] = share > 0.5
    assert (majority[lab] == inside).mean() > 0.98
    masked = C.slic(img, n_segments=10, mask=inside)
    assert (masked[~inside] == 0).all() and (masked[inside] > 0).all()


def test_watershed_from_markers():
    img = _scene()
    markers = np.zeros(img.shape[:2], np.int32)
    markers[30, 40] = 2
    markers[2, 2] = 1
    lab = C.watershed(img, markers)
    truth = np.zeros(img.shape[:2], bool)
    truth[15:45, 20:60] = True
    assert ((lab == 2) == truth).mean() > 0.97
    with pytest.raises(ValidationError, match="at least one marker"):
        C.watershed(img, np.zeros(img.shape[:2], np.int32))
    with pytest.raises(SizeMismatchError):
        C.watershed(img, np.ones((3, 3), np.int32))


def test_magic_wand_and_flood_fill():
    img = _scene()
    img[50:55, 5:10] = (212, 78, 42)  # a second patch of nearly the same colour, not connected
    m = C.magic_wand(img, (40, 30), tolerance=10)
    assert m.sum() == 30 * 40 and m[30, 40] and not m[52, 7]
    everywhere = C.magic_wand(img, (40, 30), tolerance=10, contiguous=False)
    assert everywhere.sum() == 30 * 40 + 25
    assert C.flood_fill(img, (40, 30), tolerance=0).sum() == 30 * 40
    assert C.magic_wand(img, (0, 0), tolerance=500).all()
    with pytest.raises(ValidationError, match="outside"):
        C.magic_wand(img, (80, 0))


def test_threshold_foreground_methods():
    img = _scene()
    for method in ("otsu", "li", "mean", "yen"):
        fg = C.threshold_foreground(img, method)
        assert fg[30, 40] and not fg[2, 2], method
    assert C.threshold_foreground(img, invert=True)[2, 2]
    with pytest.raises(ValidationError, match="unknown threshold method"):
        C.threshold_foreground(img, "magic")
