// Regions the tools paint: {x0, y0, w, h, bits} with one byte per pixel of the box (1 = inside),
// always clipped to the image.

const discCache = new Map();

function disc(r) {
  let d = discCache.get(r);
  if (d) return d;
  const size = 2 * r + 1;
  d = new Uint8Array(size * size);
  const rr = (r + 0.5) * (r + 0.5);
  for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) if (x * x + y * y <= rr) d[(y + r) * size + x + r] = 1;
  discCache.set(r, d);
  return d;
}

function clip(x0, y0, w, h, bits, W, H) {
  const cx0 = Math.max(0, x0), cy0 = Math.max(0, y0);
  const cx1 = Math.min(W, x0 + w), cy1 = Math.min(H, y0 + h);
  if (cx1 <= cx0 || cy1 <= cy0) return null;
  if (cx0 === x0 && cy0 === y0 && cx1 === x0 + w && cy1 === y0 + h) return { x0, y0, w, h, bits };
  const nw = cx1 - cx0, nh = cy1 - cy0;
  const nb = new Uint8Array(nw * nh);
  for (let r = 0; r < nh; r++) {
    const src = (cy0 - y0 + r) * w + (cx0 - x0);
    nb.set(bits.subarray(src, src + nw), r * nw);
  }
  return { x0: cx0, y0: cy0, w: nw, h: nh, bits: nb };
}

// A brush dab: the disc of diameter `size` (pixels) centred on (x, y).
export function dabRegion(x, y, size, W, H) {
  const r = Math.max(0, Math.round((size - 1) / 2));
  const cx = Math.floor(x), cy = Math.floor(y);
  return clip(cx - r, cy - r, 2 * r + 1, 2 * r + 1, disc(r), W, H);
}

// Dabs from (x0, y0) to (x1, y1), spaced so the stroke has no gaps.
export function strokeRegions(x0, y0, x1, y1, size, W, H) {
  const step = Math.max(1, size / 4);
  const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / step));
  const out = [];
  for (let k = 1; k <= n; k++) {
    const t = k / n;
    const reg = dabRegion(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, size, W, H);
    if (reg) out.push(reg);
  }
  return out;
}

// Pixels whose centre lies inside the polygon ([[x, y], ...], image coordinates, even-odd rule).
export function polygonRegion(points, W, H) {
  if (points.length < 3) return null;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
  }
  x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
  x1 = Math.min(W, Math.ceil(x1)); y1 = Math.min(H, Math.ceil(y1));
  const w = x1 - x0, h = y1 - y0;
  if (w <= 0 || h <= 0) return null;
  const bits = new Uint8Array(w * h);
  const n = points.length;
  // Scanline: crossings of each row's pixel-centre line with the edges, filled between pairs.
  const xs = [];
  for (let r = 0; r < h; r++) {
    const yc = y0 + r + 0.5;
    xs.length = 0;
    for (let k = 0; k < n; k++) {
      const [ax, ay] = points[k], [bx, by] = points[(k + 1) % n];
      if ((ay <= yc && by > yc) || (by <= yc && ay > yc)) xs.push(ax + ((yc - ay) / (by - ay)) * (bx - ax));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(x0, Math.ceil(xs[k] - 0.5)), to = Math.min(x1 - 1, Math.floor(xs[k + 1] - 0.5));
      for (let x = from; x <= to; x++) bits[r * w + (x - x0)] = 1;
    }
  }
  return { x0, y0, w, h, bits };
}

// A crop {bbox, counts} from the server (assist result) as a region.
export function cropRegion(crop) {
  const [x0, y0, w, h] = crop.bbox;
  const bits = new Uint8Array(w * h);
  let p = 0;
  crop.counts.forEach((n, k) => { if (k % 2) bits.fill(1, p, p + n); p += n; });
  return { x0, y0, w, h, bits };
}
