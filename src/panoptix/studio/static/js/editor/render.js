// Drawing the labels at image resolution, and drawing them fast at any zoom.
//
// Map kinds (semantic/panoptic): one RGBA buffer in JS; each segment id maps to a packed colour through
// a lookup table, boundaries (where the colour changes) are darker, unlabeled pixels are hatched.
// Instance kind: each object keeps a small canvas (its box); objects are composited in list order,
// the first of the list on top.
//
// Either way the result lives in a LabelSurface: 512 px tiles at full resolution (drawn when zoomed in,
// and only the visible ones) plus half-size levels computed in JS (drawn when zoomed out). A paint
// updates only the tiles and level pixels under the touched rectangle, so the cost of a brush dab does
// not grow with the image, and a 4K map with hundreds of objects stays interactive.

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TILE = 512;

export function pack(r, g, b, a = 255) {
  return LITTLE ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

function unpack(c) {
  return LITTLE ? [c & 255, (c >>> 8) & 255, (c >>> 16) & 255, c >>> 24] : [c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255];
}

function hexRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// Shade k of a colour: k = 0 is the colour itself; later ranks mix with white or black by amounts that
// never repeat (golden-ratio sequence), as panoptix.viz does for objects of one class.
export function shade(rgb, k) {
  const a = (((k * 0.6180339887498949 + 0.5) % 1) - 0.5) * 0.9;
  const t = a > 0 ? 255 : 0, f = Math.abs(a);
  return rgb.map((c) => Math.round(c * (1 - f) + t * f));
}

const VOID_A = pack(255, 0, 255, 230);
const SELECT = pack(255, 255, 255, 255);

function levelFor(zoom, n) {
  return Math.max(0, Math.min(n - 1, Math.floor(Math.log2(1 / Math.max(zoom, 1e-6)))));
}

// Half-size copies of a static picture (the photo), down to ~1 K; built once with the canvas scaler.
export class Pyramid {
  constructor(source, width, height) {
    this.levels = [source];
    let w = width, h = height;
    while (Math.max(w, h) > 1024) {
      const c = document.createElement("canvas");
      c.width = Math.ceil(w / 2); c.height = Math.ceil(h / 2);
      c.getContext("2d").drawImage(this.levels[this.levels.length - 1], 0, 0, w, h, 0, 0, w / 2, h / 2);
      w = c.width; h = c.height;
      this.levels.push(c);
    }
  }

  draw(ctx, zoom) {
    const k = levelFor(zoom, this.levels.length);
    const c = this.levels[k], f = 2 ** k;
    if (k === 0) ctx.drawImage(c, 0, 0);
    else ctx.drawImage(c, 0, 0, c.width, c.height, 0, 0, c.width * f, c.height * f);
  }
}

// Full-resolution tiles + reduced levels of the label overlay.
class LabelSurface {
  constructor(width, height) {
    this.width = width; this.height = height;
    this.tiles = [];
    for (let y = 0; y < height; y += TILE) {
      for (let x = 0; x < width; x += TILE) {
        const c = document.createElement("canvas");
        c.width = Math.min(TILE, width - x); c.height = Math.min(TILE, height - y);
        this.tiles.push({ x, y, canvas: c, ctx: c.getContext("2d") });
      }
    }
    this.levels = [];  // {w, h, buf (RGBA bytes), image, canvas, ctx}
    let w = width, h = height;
    while (Math.max(w, h) > 1024) {
      w = Math.ceil(w / 2); h = Math.ceil(h / 2);
      const c = document.createElement("canvas");
      c.width = w; c.height = h;
      const ctx = c.getContext("2d");
      const image = ctx.createImageData(w, h);
      this.levels.push({ w, h, image, buf: image.data, canvas: c, ctx });
    }
  }

  *tilesIn(x0, y0, x1, y1) {
    for (const t of this.tiles) {
      if (t.x < x1 && t.y < y1 && t.x + t.canvas.width > x0 && t.y + t.canvas.height > y0) yield t;
    }
  }

  // Recompute the levels under [x0, x1) x [y0, y1) from full-resolution RGBA `src` (row stride `stride`
  // pixels, origin (ox, oy)). Averages are alpha-weighted, so hidden pixels do not darken their neighbours.
  updateLevels(x0, y0, x1, y1, src, stride, ox, oy) {
    let s = src, sw = stride, sox = ox, soy = oy, sH = this.height, sW = this.width;
    for (const L of this.levels) {
      x0 = Math.floor(x0 / 2); y0 = Math.floor(y0 / 2);
      x1 = Math.min(L.w, Math.ceil(x1 / 2)); y1 = Math.min(L.h, Math.ceil(y1 / 2));
      if (x1 <= x0 || y1 <= y0) return;
      const d = L.buf;
      const s32 = new Uint32Array(s.buffer, s.byteOffset, s.length >> 2);
      const d32 = new Uint32Array(d.buffer, d.byteOffset, d.length >> 2);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          // Fast path: a 2x2 block of one colour (the inside of a region, or empty) is copied as is.
          const yy0 = 2 * y, xx0 = 2 * x;
          if (yy0 + 1 < sH && xx0 + 1 < sW) {
            const p0 = (yy0 - soy) * sw + (xx0 - sox), v = s32[p0];
            if (s32[p0 + 1] === v && s32[p0 + sw] === v && s32[p0 + sw + 1] === v) { d32[y * L.w + x] = v; continue; }
          }
          let r = 0, g = 0, b = 0, a = 0;
          for (let dy = 0; dy < 2; dy++) {
            const yy = 2 * y + dy;
            if (yy >= sH) continue;
            for (let dx = 0; dx < 2; dx++) {
              const xx = 2 * x + dx;
              if (xx >= sW) continue;
              const p = ((yy - soy) * sw + (xx - sox)) * 4;
              const al = s[p + 3];
              r += s[p] * al; g += s[p + 1] * al; b += s[p + 2] * al; a += al;
            }
          }
          const q = (y * L.w + x) * 4;
          if (a) { d[q] = r / a; d[q + 1] = g / a; d[q + 2] = b / a; d[q + 3] = a / 4; }
          else d[q + 3] = 0;
        }
      }
      L.ctx.putImageData(L.image, 0, 0, x0, y0, x1 - x0, y1 - y0);
      s = d; sw = L.w; sox = 0; soy = 0; sH = L.h; sW = L.w;
    }
  }

  // Draw at the current transform (image coordinates); `visible` = [x0, y0, x1, y1] of the view.
  draw(ctx, zoom, visible) {
    const k = levelFor(zoom, this.levels.length + 1);
    if (k === 0) {
      const [x0, y0, x1, y1] = visible;
      for (const t of this.tilesIn(x0, y0, x1, y1)) ctx.drawImage(t.canvas, t.x, t.y);
      return;
    }
    const L = this.levels[k - 1], f = 2 ** k;
    ctx.drawImage(L.canvas, 0, 0, L.w, L.h, 0, 0, L.w * f, L.h * f);
  }
}

export class Renderer {
  constructor(model) {
    this.model = model;
    this.view = "panoptic";
    this.showUnlabeled = true;
    this.selected = null;
    this.surface = new LabelSurface(model.width, model.height);
    if (model.kind !== "instance") {
      this.image = new ImageData(model.width, model.height);
      this.buf = new Uint32Array(this.image.data.buffer);
    } else {
      this.objCanvas = new Map();
    }
    this.rebuild();
  }

  // Colour of every segment for the current view (0 = transparent).
  colors() {
    const m = this.model;
    const rank = new Map();
    const out = new Map();
    for (const s of m.segments) {
      const cls = m.cls(s.category_id);
      const base = cls ? hexRgb(cls.color) : [200, 200, 200];
      const thing = cls ? cls.isthing : true;
      const k = rank.get(s.category_id) || 0;
      rank.set(s.category_id, k + 1);
      let rgb;
      if (s.hidden) { out.set(s.id, 0); continue; }
      if (this.view === "semantic") rgb = base;
      else if (this.view === "instance") rgb = thing ? shade(base, k) : null;
      else rgb = thing ? shade(base, k) : base;
      out.set(s.id, rgb ? pack(rgb[0], rgb[1], rgb[2], 255) : 0);
    }
    return out;
  }

  // Colour tables only (after a segment was added, or a flag changed): no pixel is redrawn.
  relut() {
    const m = this.model;
    const colors = this.colors();
    if (m.kind === "instance") { this.colorOf = colors; return; }
    const lut = new Uint32Array(m.maxId + 2);
    for (const [id, c] of colors) lut[id] = c;
    const edge = new Uint32Array(lut.length);
    for (let i = 0; i < lut.length; i++) {
      if (!lut[i]) continue;
      const [r, g, b] = unpack(lut[i]);
      edge[i] = pack(r * 0.45, g * 0.45, b * 0.45, 255);
    }
    this.lut = lut;
    this.edge = edge;
  }

  // Redraw one segment's pixels (its box), e.g. after a selection or visibility change.
  redrawSegment(id) {
    if (id === null || id === undefined) return;
    const m = this.model;
    if (m.kind === "instance") {
      const old = this.objCanvas.get(id);
      this._drawObject(id);
      const b = m.bboxOf(id);
      if (old) this.composite(old.x, old.y, old.x + old.width, old.y + old.height);
      if (b) this.composite(...b);
      return;
    }
    const b = m.bboxOf(id);
    if (b) this.render(...b);
  }

  rebuild() {
    const m = this.model;
    const colors = this.colors();
    if (m.kind === "instance") {
      this.colorOf = colors;
      this.objCanvas = new Map();
      for (const s of m.segments) this._drawObject(s.id);
      this.composite(0, 0, m.width, m.height);
      return;
    }
    const lut = new Uint32Array(m.maxId + 2);
    for (const [id, c] of colors) lut[id] = c;
    this.lut = lut;
    // Boundary colour: the segment colour darkened.
    const edge = new Uint32Array(lut.length);
    for (let i = 0; i < lut.length; i++) {
      if (!lut[i]) continue;
      const [r, g, b] = unpack(lut[i]);
      edge[i] = pack(r * 0.45, g * 0.45, b * 0.45, 255);
    }
    this.edge = edge;
    this.render(0, 0, m.width, m.height);
  }

  // Redraw the rectangle [x0, x1) x [y0, y1) of a map kind (one pixel of margin for the boundaries).
  render(x0, y0, x1, y1) {
    const m = this.model;
    if (m.kind === "instance") {
      this.composite(x0, y0, x1, y1);
      return;
    }
    const W = m.width, H = m.height;
    x0 = Math.max(0, Math.floor(x0) - 1); y0 = Math.max(0, Math.floor(y0) - 1);
    x1 = Math.min(W, Math.ceil(x1) + 1); y1 = Math.min(H, Math.ceil(y1) + 1);
    const ids = m.ids, lut = this.lut, edge = this.edge, buf = this.buf;
    const showVoid = this.showUnlabeled && this.view !== "instance";
    const sel = this.selected;
    for (let y = y0; y < y1; y++) {
      let i = y * W + x0;
      const lastRow = y === H - 1;
      for (let x = x0; x < x1; x++, i++) {
        const id = ids[i];
        const c = lut[id];
        if (id === 0 || c === 0) {
          // Unlabeled pixels: thin diagonal hatching, so the photo stays visible.
          buf[i] = id === 0 && showVoid && ((x + y) & 7) === 0 ? VOID_A : 0;
          continue;
        }
        // Neighbours with the same id cannot start a boundary: the colour lookups run only where ids change.
        const isEdge = (x < W - 1 && ids[i + 1] !== id && lut[ids[i + 1]] !== c) ||
          (!lastRow && ids[i + W] !== id && lut[ids[i + W]] !== c) ||
          (x > 0 && ids[i - 1] !== id && lut[ids[i - 1]] !== c) || (y > 0 && ids[i - W] !== id && lut[ids[i - W]] !== c);
        if (isEdge) buf[i] = id === sel ? SELECT : edge[id];
        else buf[i] = id === sel && ((x + y) & 7) === 0 ? SELECT : c;
      }
    }
    for (const t of this.surface.tilesIn(x0, y0, x1, y1)) {
      t.ctx.putImageData(this.image, -t.x, -t.y, Math.max(x0, t.x), Math.max(y0, t.y),
        Math.min(x1, t.x + t.canvas.width) - Math.max(x0, t.x), Math.min(y1, t.y + t.canvas.height) - Math.max(y0, t.y));
    }
    this.surface.updateLevels(x0, y0, x1, y1, this.image.data, W, 0, 0);
  }

  // Instance kind: redraw one object's canvas (its box), colour + darker outline.
  _drawObject(id) {
    const m = this.model;
    const mask = m.masks.get(id);
    const color = this.colorOf.get(id);
    if (!mask || !mask.w || !color) { this.objCanvas.delete(id); return; }
    let cv = this.objCanvas.get(id);
    if (!cv || cv.width !== mask.w || cv.height !== mask.h) {
      cv = document.createElement("canvas");
      cv.width = mask.w; cv.height = mask.h;
      this.objCanvas.set(id, cv);
    }
    cv.x = mask.x; cv.y = mask.y;
    const ctx = cv.getContext("2d");
    const img = ctx.createImageData(mask.w, mask.h);
    const buf = new Uint32Array(img.data.buffer);
    const [r, g, b] = unpack(color);
    const dark = pack(r * 0.45, g * 0.45, b * 0.45, 255);
    const sel = id === this.selected;
    const w = mask.w, h = mask.h, d = mask.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!d[i]) continue;
        const isEdge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || !d[i - 1] || !d[i + 1] || !d[i - w] || !d[i + w];
        buf[i] = isEdge ? (sel ? SELECT : dark) : (sel && ((x + y) & 7) === 0 ? SELECT : color);
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  // Instance kind: objects in reverse list order inside [x0, x1) x [y0, y1), so the first of the list ends
  // on top. In the instance view objects are translucent (overlaps show); the semantic/panoptic views show
  // the flattened result.
  composite(x0 = 0, y0 = 0, x1 = this.model.width, y1 = this.model.height) {
    const m = this.model;
    x0 = Math.max(0, Math.floor(x0) - 1); y0 = Math.max(0, Math.floor(y0) - 1);
    x1 = Math.min(m.width, Math.ceil(x1) + 1); y1 = Math.min(m.height, Math.ceil(y1) + 1);
    // Even bounds: each half-size level pixel reads a 2x2 block that must lie inside the rectangle.
    x0 -= x0 & 1; y0 -= y0 & 1;
    x1 = Math.min(m.width, x1 + (x1 & 1)); y1 = Math.min(m.height, y1 + (y1 & 1));
    if (x1 <= x0 || y1 <= y0) return;
    const w = x1 - x0, h = y1 - y0;
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (const t of this.surface.tilesIn(x0, y0, x1, y1)) {
      const ctx = t.ctx;
      const cx0 = Math.max(x0, t.x), cy0 = Math.max(y0, t.y);
      const cx1 = Math.min(x1, t.x + t.canvas.width), cy1 = Math.min(y1, t.y + t.canvas.height);
      ctx.save();
      ctx.beginPath();
      ctx.rect(cx0 - t.x, cy0 - t.y, cx1 - cx0, cy1 - cy0);
      ctx.clip();
      ctx.clearRect(cx0 - t.x, cy0 - t.y, cx1 - cx0, cy1 - cy0);
      ctx.globalAlpha = this.view === "instance" ? 0.7 : 1;
      for (let k = m.segments.length - 1; k >= 0; k--) {
        const cv = this.objCanvas.get(m.segments[k].id);
        if (cv && cv.x < cx1 && cv.y < cy1 && cv.x + cv.width > cx0 && cv.y + cv.height > cy0) {
          ctx.drawImage(cv, cv.x - t.x, cv.y - t.y);
        }
      }
      ctx.restore();
      // Read the result back for the reduced levels (only the rectangle).
      const part = ctx.getImageData(cx0 - t.x, cy0 - t.y, cx1 - cx0, cy1 - cy0).data;
      for (let r = 0; r < cy1 - cy0; r++) {
        rgba.set(part.subarray(r * (cx1 - cx0) * 4, (r + 1) * (cx1 - cx0) * 4), ((cy0 - y0 + r) * w + (cx0 - x0)) * 4);
      }
    }
    this.surface.updateLevels(x0, y0, x1, y1, rgba, w, x0, y0);
  }

  // React to a model change.
  update(ev) {
    const m = this.model;
    if (ev.relut) this.relut();
    if (ev.type === "segments" && ev.added) { this.relut(); return; }
    if (ev.type === "segments" && ev.style && ev.id) { this.relut(); this.redrawSegment(ev.id); return; }
    if (ev.type === "pixels" || ev.type === "rect") {
      const [x0, y0, x1, y1] = ev.rect;
      if (m.kind === "instance") {
        // Objects whose box meets the rect are redrawn (usually just the one being painted); the union
        // of the rect and their old boxes is recomposited (a mask can grow or shrink its box).
        let cx0 = x0, cy0 = y0, cx1 = x1, cy1 = y1;
        for (const s of m.segments) {
          const mk = m.masks.get(s.id);
          if (mk && mk.x < x1 && mk.y < y1 && mk.x + mk.w > x0 && mk.y + mk.h > y0) {
            const old = this.objCanvas.get(s.id);
            if (old) {
              cx0 = Math.min(cx0, old.x); cy0 = Math.min(cy0, old.y);
              cx1 = Math.max(cx1, old.x + old.width); cy1 = Math.max(cy1, old.y + old.height);
            }
            this._drawObject(s.id);
          }
        }
        this.composite(cx0, cy0, cx1, cy1);
      } else {
        this.render(x0, y0, x1, y1);
      }
      return;
    }
    if (ev.type === "segments" && ev.order && m.kind === "instance") { this.composite(); return; }
    this.rebuild();
  }

  draw(ctx, zoom, visible) { this.surface.draw(ctx, zoom, visible); }
  setView(view) { this.view = view; this.rebuild(); }
  setSelected(id) {
    if (this.selected === id) return;
    const old = this.selected;
    this.selected = id;
    this.redrawSegment(old);
    this.redrawSegment(id);
  }
  setShowUnlabeled(v) { this.showUnlabeled = v; this.rebuild(); }
}

// A proposal (assist result) drawn in cyan, for accepting or discarding.
export function proposalCanvas(crop) {
  if (!crop) return null;
  const [x, y, w, h] = crop.bbox;
  const cv = document.createElement("canvas");
  cv.width = w; cv.height = h; cv.x = x; cv.y = y;
  const ctx = cv.getContext("2d");
  const img = ctx.createImageData(w, h);
  const buf = new Uint32Array(img.data.buffer);
  const fill = pack(0, 229, 255, 140), line = pack(0, 229, 255, 255);
  const bits = new Uint8Array(w * h);
  let p = 0;
  crop.counts.forEach((n, k) => { if (k % 2) bits.fill(1, p, p + n); p += n; });
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      if (!bits[i]) continue;
      const e = c === 0 || r === 0 || c === w - 1 || r === h - 1 || !bits[i - 1] || !bits[i + 1] || !bits[i - w] || !bits[i + w];
      buf[i] = e ? line : fill;
    }
  }
  ctx.putImageData(img, 0, 0);
  cv.bits = bits;
  return cv;
}
