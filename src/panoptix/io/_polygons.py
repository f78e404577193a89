"""Masks as polygons, for the formats that only store polygons (LabelMe, YOLO).

:func:`mask_to_polygons` traces a mask's boundaries along pixel edges (corner coordinates, as
COCO places polygons) and gives one polygon per 8-connected part, its holes and diagonal
contacts joined in by zero-width bridges. Rasterised by pycocotools (a point is inside when it
is inside an odd number of loops) the polygons give back exactly the mask's pixels, holes
included. :func:`bridge` joins several polygons into one the same way, for formats with one
polygon per object.

Examples
--------
>>> import numpy as np
>>> from panoptix.core import masks as M
>>> m = np.zeros((5, 6), bool); m[1:3, 1:4] = True; m[4, 5] = True
>>> polys = mask_to_polygons(m)
>>> polys[0]
[1.0, 1.0, 4.0, 1.0, 4.0, 3.0, 1.0, 3.0]
>>> bool((M.decode(M.to_rle(polys, 5, 6)) == m).all())
True
>>> ring = np.ones((5, 5), bool); ring[1:4, 1:4] = False; ring[2, 2] = True
>>> bool((M.decode(M.to_rle(mask_to_polygons(ring), 5, 5)) == ring).all())
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["mask_to_polygons", "bridge"]

# directions: 0 = +x, 1 = +y, 2 = -x, 3 = -y (clockwise on screen, y down)
_STEP = ((1, 0), (0, 1), (-1, 0), (0, -1))


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """A binary mask as COCO polygons ``[x1, y1, x2, y2, ...]``: one per 8-connected part, largest first."""
    from scipy import ndimage

    m = np.pad(np.asarray(mask, bool), 1)
    width = m.shape[1] + 1  # vertices per row of the padded grid
    r, c = np.nonzero(m)
    if not len(r):
        return []
    parts, _ = ndimage.label(m, structure=np.ones((3, 3), bool))
    starts, dirs = [], []
    # edges with the foreground on their right: top (+x), right (+y), bottom (-x), left (-y)
    for d, (nr, nc), (sx, sy) in ((0, (-1, 0), (0, 0)), (1, (0, 1), (1, 0)), (2, (1, 0), (1, 1)),
                                  (3, (0, -1), (0, 1))):
        sel = ~m[r + nr, c + nc]
        starts.append((r[sel] + sy) * width + (c[sel] + sx))
        dirs.append(np.full(int(sel.sum()), d))
    start_l = np.concatenate(starts).tolist()
    direction_l = np.concatenate(dirs).tolist()
    out_edges: dict[int, list[int]] = {}
    for k, v in enumerate(start_l):
        out_edges.setdefault(v, []).append(k)
    used = [False] * len(start_l)
    loops: dict[int, list[tuple[float, list[float]]]] = {}
    for first in range(len(start_l)):
        if used[first]:
            continue
        corners = []
        k, prev_dir = first, None
        while not used[k]:
            used[k] = True
            d = direction_l[k]
            if d != prev_dir:
                v = start_l[k]
                corners.append((v % width - 1, v // width - 1))
            prev_dir = d
            sx, sy = _STEP[d]
            cands = out_edges[start_l[k] + sy * width + sx]
            # at a corner shared by two diagonal pixels, turn right: each loop bounds 4-connected pixels
            k = cands[0] if len(cands) == 1 else next(e for e in cands if direction_l[e] == (d + 1) % 4)
        if direction_l[first] == prev_dir and len(corners) > 1:
            corners.pop(0)  # the loop closed mid-side: its first point is no corner
        pts = np.asarray(corners, np.float64)
        x, y = pts[:, 0], pts[:, 1]
        area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))  # > 0 outer, < 0 hole
        # the part a loop belongs to: the pixel on the right of its first edge
        v, d = start_l[first], direction_l[first]
        py, px = v // width - (d in (2, 3)), v % width - (d in (1, 2))
        loops.setdefault(int(parts[py, px]), []).append((area, pts.ravel().tolist()))
    out = []
    for part in loops.values():
        part.sort(key=lambda t: -t[0])  # the largest outline first, holes last
        out.append((sum(a for a, _ in part), bridge([p for _, p in part])))
    out.sort(key=lambda t: -t[0])
    return [p for _, p in out]


def bridge(polygons: list[list[float]]) -> list[float]:
    """One polygon covering several: each joins the first at their closest vertices by a
    zero-width bridge. Pixels along a bridge are unchanged when rasterised by pycocotools."""
    polygons = [p for p in polygons if len(p) >= 6]
    if len(polygons) <= 1:
        return list(polygons[0]) if polygons else []
    from scipy.spatial import cKDTree

    base = np.asarray(polygons[0], np.float64).reshape(-1, 2)
    tree = cKDTree(base)
    detours: dict[int, list[np.ndarray]] = {}
    for p in polygons[1:]:
        q = np.asarray(p, np.float64).reshape(-1, 2)
        dist, idx = tree.query(q)
        j = int(np.argmin(dist))
        detours.setdefault(int(idx[j]), []).append(np.roll(q, -j, axis=0))
    out = []
    for i, v in enumerate(base):
        out.append(v)
        for q in detours.get(i, []):
            out.extend(q)
            out.append(q[0])
            out.append(v)
    pts = np.asarray(out)
    keep = np.ones(len(pts), bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)  # repeated points trip pycocotools' rasteriser
    return pts[keep].ravel().tolist()
