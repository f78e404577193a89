"""Classical tools: no weights, always offline (scikit-image, OpenCV, SciPy).

===================  =========================================================
function             what it gives
===================  =========================================================
grabcut              an object mask from a box and/or scribbles (cv2.grabCut)
slic                 superpixels (label map 1..N)
watershed            regions grown from markers over the image gradient
magic_wand           pixels within a colour tolerance of a seed (flood fill)
threshold_foreground a foreground mask by Otsu / Li / mean threshold
split_touching       touching objects in a mask split apart (distance
                     transform + peak_local_max + watershed)
split_instances      the same as :class:`~panoptix.core.labels.Instances`
===================  =========================================================

Images are H×W×3 RGB (or grayscale) arrays; points are ``(x, y)`` pixels; boxes
``(x0, y0, x1, y1)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..core.errors import SizeMismatchError, ValidationError
from ..core.labels import Instances
from .base import as_rgb

__all__ = ["grabcut", "slic", "watershed", "magic_wand", "flood_fill", "threshold_foreground", "split_touching",
           "split_instances"]


def _gray(image) -> np.ndarray:
    rgb = as_rgb(image)
    return (rgb @ np.array([0.299, 0.587, 0.114])).astype(np.float64)


def _check_mask(mask, shape, name) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask).astype(bool)
    if mask.shape != tuple(shape):
        raise SizeMismatchError(f"{name} is {mask.shape[0]}x{mask.shape[1]}, the image {shape[0]}x{shape[1]}")
    return mask


def grabcut(image, *, box=None, foreground=None, background=None, iterations: int = 5) -> np.ndarray:
    """Object mask by GrabCut from a box and/or scribbles.

    Parameters
    ----------
    image : (H, W[, 3]) array
    box : (x0, y0, x1, y1), optional
        Outside is background; inside is "probably object".
    foreground, background : (H, W) bool arrays, optional
        Scribbles: pixels surely object / surely background.
    iterations : int

    Returns
    -------
    (H, W) bool array

    Examples
    --------
    >>> img = np.zeros((40, 40, 3), np.uint8); img[10:30, 12:28] = (200, 60, 40)
    >>> m = grabcut(img, box=(8, 6, 32, 34))
    >>> bool(m[20, 20]), bool(m[2, 2])
    (True, False)
    """
    import cv2

    rgb = as_rgb(image)
    h, w = rgb.shape[:2]
    fg = _check_mask(foreground, (h, w), "the foreground scribble")
    bg = _check_mask(background, (h, w), "the background scribble")
    if box is None and fg is None:
        raise ValidationError("grabcut needs a box or a foreground scribble")
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    if box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            raise ValidationError(f"box {tuple(box)} is empty inside the {w}x{h} image")
        mask[:] = cv2.GC_BGD
        mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
    if fg is not None:
        mask[fg] = cv2.GC_FGD
    if bg is not None:
        mask[bg] = cv2.GC_BGD
    has_bg = bool(((mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD)).any())
    has_fg = bool(((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).any())
    if not (has_bg and has_fg):
        raise ValidationError("grabcut needs both object and background pixels (a box smaller than the image, "
                              "or scribbles of both kinds)")
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # OpenCV wants BGR; the colour models do not care about the channel order, but keep it faithful.
    cv2.setRNGSeed(0)  # GrabCut's k-means initialisation is random: make it deterministic
    cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), mask, None, bgd, fgd, int(iterations), cv2.GC_INIT_WITH_MASK)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def slic(image, n_segments: int = 100, compactness: float = 10.0, *, mask=None, sigma: float = 0.0) -> np.ndarray:
    """SLIC superpixels: an (H, W) int32 label map, 1..N (0 outside ``mask``).

    Examples
    --------
    >>> img = np.zeros((32, 32, 3), np.uint8); img[:, 16:] = 255
    >>> lab = slic(img, n_segments=4)
    >>> int(lab.min()) >= 1, len(np.unique(lab)) >= 2
    (True, True)
    """
    from skimage.segmentation import slic as _slic

    rgb = as_rgb(image)
    m = _check_mask(mask, rgb.shape[:2], "the mask")
    return _slic(rgb, n_segments=int(n_segments), compactness=float(compactness), sigma=sigma, start_label=1,
                 mask=m, channel_axis=-1).astype(np.int32)


def watershed(image, markers, *, mask=None, compactness: float = 0.0) -> np.ndarray:
    """Regions grown from ``markers`` (int array, 0 = unknown) over the image gradient.

    Returns an (H, W) int32 map where every pixel (inside ``mask``) has the value of the
    marker whose basin it falls in.

    Examples
    --------
    >>> img = np.zeros((20, 20), np.uint8); img[:, 10:] = 200
    >>> mk = np.zeros((20, 20), int); mk[10, 2] = 1; mk[10, 17] = 2
    >>> lab = watershed(img, mk)
    >>> int(lab[0, 0]), int(lab[19, 19])
    (1, 2)
    """
    from skimage.filters import sobel
    from skimage.segmentation import watershed as _ws

    gray = _gray(image)
    markers = np.asarray(markers)
    if markers.shape != gray.shape:
        raise SizeMismatchError(f"markers are {markers.shape}, the image {gray.shape}")
    if markers.dtype.kind not in "iu" or not (markers > 0).any():
        raise ValidationError("markers must be an integer array with at least one marker (> 0)")
    m = _check_mask(mask, gray.shape, "the mask")
    return _ws(sobel(gray), markers.astype(np.int32), mask=m, compactness=compactness).astype(np.int32)


def magic_wand(image, seed, tolerance: float = 32.0, *, contiguous: bool = True, connectivity: int = 8
               ) -> np.ndarray:
    """Pixels whose colour is within ``tolerance`` of the seed's (Euclidean RGB distance, 0..441).

    ``contiguous=True`` (flood fill) keeps only the region connected to the seed;
    ``False`` selects every such pixel in the image.

    Examples
    --------
    >>> img = np.zeros((10, 10, 3), np.uint8); img[:, :5] = 250; img[0, 9] = 250
    >>> int(magic_wand(img, (1, 1), 10).sum()), int(magic_wand(img, (1, 1), 10, contiguous=False).sum())
    (50, 51)
    """
    rgb = as_rgb(image).astype(np.float64)
    h, w = rgb.shape[:2]
    x, y = (int(round(v)) for v in seed)
    if not (0 <= x < w and 0 <= y < h):
        raise ValidationError(f"seed {tuple(seed)} lies outside the {w}x{h} image")
    close = np.sqrt(((rgb - rgb[y, x]) ** 2).sum(-1)) <= float(tolerance)
    if not contiguous:
        return close
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    lab, _ = ndimage.label(close, structure=structure)
    return lab == lab[y, x]


#: Flood fill: the contiguous magic wand.
flood_fill = magic_wand


def threshold_foreground(image, method: str = "otsu", *, invert: bool = False, fill_holes: bool = True,
                         open_radius: int = 2) -> np.ndarray:
    """A foreground mask: pixels brighter than a global threshold (darker with ``invert``).

    ``method``: ``"otsu"``, ``"li"``, ``"mean"`` or ``"yen"``. Holes are filled and specks
    smaller than a disk of ``open_radius`` removed.
    """
    from skimage import filters, morphology

    gray = _gray(image)
    fns = {"otsu": filters.threshold_otsu, "li": filters.threshold_li, "mean": filters.threshold_mean,
           "yen": filters.threshold_yen}
    if method not in fns:
        raise ValidationError(f"unknown threshold method {method!r}; expected one of {', '.join(fns)}")
    fg = gray < fns[method](gray) if invert else gray > fns[method](gray)
    if open_radius > 0:
        fg = morphology.opening(fg, morphology.disk(int(open_radius)))
    if fill_holes:
        fg = ndimage.binary_fill_holes(fg)
    return fg.astype(bool)


def split_touching(mask, *, min_distance: int = 7, min_area: int = 50, smooth: float = 1.0) -> np.ndarray:
    """Split touching objects of a binary mask: an (H, W) int32 map, 0 = background, 1..N objects.

    Every local maximum of the (smoothed) distance to the background, at least
    ``min_distance`` pixels from a stronger one, seeds one object; the watershed of the
    negated distance grows them until they meet. Objects under ``min_area`` pixels are
    dropped. Objects never overlap.

    Examples
    --------
    >>> yy, xx = np.mgrid[:40, :60]
    >>> two = ((yy - 20) ** 2 + (xx - 18) ** 2 < 144) | ((yy - 20) ** 2 + (xx - 40) ** 2 < 144)
    >>> int(split_touching(two).max())
    2
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed as _ws

    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise SizeMismatchError(f"a mask must be 2-D, got shape {mask.shape}")
    if not mask.any():
        return np.zeros(mask.shape, np.int32)
    dist = ndimage.distance_transform_edt(mask)
    if smooth:
        dist = ndimage.gaussian_filter(dist, smooth)
    components, _ = ndimage.label(mask)
    peaks = peak_local_max(dist, min_distance=int(min_distance), labels=components, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # A component without a peak (too thin for the distance map) still becomes one object.
    missing = np.setdiff1d(np.unique(components[mask]), np.unique(components[markers > 0]))
    if len(missing):
        idx = ndimage.maximum_position(dist, components, missing)
        for k, pos in enumerate(idx):
            markers[pos] = len(peaks) + 1 + k
    labels = _ws(-dist, markers, mask=mask).astype(np.int32)
    areas = np.bincount(labels.ravel())
    small = np.flatnonzero(areas < min_area)
    small = small[small > 0]
    if len(small):
        labels[np.isin(labels, small)] = 0
    # Renumber the survivors 1..N.
    uniq = np.unique(labels)
    table = np.zeros(int(uniq.max()) + 1, np.int32)
    table[uniq[uniq > 0]] = np.arange(1, int((uniq > 0).sum()) + 1)
    return table[labels]


def split_instances(mask, category_id: int = 1, **options) -> Instances:
    """:func:`split_touching` as :class:`~panoptix.core.labels.Instances` (no scores: not a model)."""
    labels = split_touching(mask, **options)
    n = int(labels.max())
    masks = labels[None] == np.arange(1, n + 1)[:, None, None]
    return Instances.from_masks(masks.reshape(n, *labels.shape), [category_id] * n)
