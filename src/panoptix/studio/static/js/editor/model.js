// The layered label model of one image, as the editor holds it.
//
// semantic / panoptic: `ids` is a Uint32Array of segment ids (0 = unlabeled), one per pixel,
//   so segments never overlap. `segments` lists each id with its class and flags.
// instance: each object has its own binary mask in a growable box (CropMask); masks may overlap.
//   The first object of the list is on top.
//
// Every change goes through a transaction (begin/commit) that records the pixels it changed,
// so undo/redo replays exactly those pixels and the segment list as it was.

export class CropMask {
  constructor() {
    this.x = 0; this.y = 0; this.w = 0; this.h = 0;
    this.data = new Uint8Array(0);
  }

  static fromCrop(crop) {
    const m = new CropMask();
    const [x, y, w, h] = crop.bbox;
    m.x = x; m.y = y; m.w = w; m.h = h;
    m.data = new Uint8Array(w * h);
    let p = 0;
    crop.counts.forEach((n, k) => {
      if (k % 2 === 1) m.data.fill(1, p, p + n);
      p += n;
    });
    return m;
  }

  get(x, y) {
    const cx = x - this.x, cy = y - this.y;
    if (cx < 0 || cy < 0 || cx >= this.w || cy >= this.h) return 0;
    return this.data[cy * this.w + cx];
  }

  // Grow the box to contain [x0, x1) x [y0, y1) (with some slack, so strokes do not realloc every stamp).
  ensure(x0, y0, x1, y1, W, H) {
    if (this.w && x0 >= this.x && y0 >= this.y && x1 <= this.x + this.w && y1 <= this.y + this.h) return;
    const slack = 32;
    let nx0 = this.w ? Math.min(this.x, x0) : x0, ny0 = this.w ? Math.min(this.y, y0) : y0;
    let nx1 = this.w ? Math.max(this.x + this.w, x1) : x1, ny1 = this.w ? Math.max(this.y + this.h, y1) : y1;
    nx0 = Math.max(0, nx0 - slack); ny0 = Math.max(0, ny0 - slack);
    nx1 = Math.min(W, nx1 + slack); ny1 = Math.min(H, ny1 + slack);
    const nw = nx1 - nx0, nh = ny1 - ny0;
    const nd = new Uint8Array(nw * nh);
    for (let r = 0; r < this.h; r++) {
      const src = this.data.subarray(r * this.w, (r + 1) * this.w);
      nd.set(src, (r + this.y - ny0) * nw + (this.x - nx0));
    }
    this.x = nx0; this.y = ny0; this.w = nw; this.h = nh; this.data = nd;
  }

  // Tight box and alternating 0/1 counts (row-major inside the box); null when empty.
  toCrop() {
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let r = 0; r < this.h; r++) {
      const row = r * this.w;
      for (let c = 0; c < this.w; c++) {
        if (this.data[row + c]) {
          if (c < x0) x0 = c;
          if (c > x1) x1 = c;
          if (r < y0) y0 = r;
          y1 = r;
        }
      }
    }
    if (x1 < 0) return null;
    const counts = [];
    let cur = 0, n = 0;
    for (let r = y0; r <= y1; r++) {
      const row = r * this.w;
      for (let c = x0; c <= x1; c++) {
        const v = this.data[row + c];
        if (v === cur) n++;
        else { counts.push(n); cur = v; n = 1; }
      }
    }
    counts.push(n);
    return { bbox: [this.x + x0, this.y + y0, x1 - x0 + 1, y1 - y0 + 1], counts };
  }

  area() {
    let n = 0;
    for (let i = 0; i < this.data.length; i++) n += this.data[i];
    return n;
  }
}

// A growable list of changed pixels of one kind of change (same new value).
class Chunk {
  constructor(seg, value, oldArrayType) {
    this.seg = seg;          // instance: which object's mask; map: unused
    this.value = value;      // new value of every pixel in the chunk
    this.n = 0;
    this.idx = new Int32Array(256);
    this.old = new oldArrayType(256);
  }
  push(i, old) {
    if (this.n === this.idx.length) {
      const ni = new Int32Array(this.n * 2); ni.set(this.idx); this.idx = ni;
      const no = new this.old.constructor(this.n * 2); no.set(this.old); this.old = no;
    }
    this.idx[this.n] = i; this.old[this.n] = old; this.n++;
  }
  bytes() { return this.n * 8; }
}

const UNDO_BYTES = 256 * 1024 * 1024;

// True when two JSON segment lists differ by one segment added at (or removed from) the end.
function appendedOne(a, b) {
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  const x = JSON.parse(short), y = JSON.parse(long);
  return y.length === x.length + 1 && JSON.stringify(y.slice(0, -1)) === short;
}

export class LabelModel {
  constructor(doc, classes) {
    this.kind = doc.kind;
    this.width = doc.width;
    this.height = doc.height;
    this.classes = classes;
    this.classById = new Map(classes.map((c) => [c.category_id, c]));
    this.segments = doc.segments.map((s) => ({ id: s.id, category_id: s.category_id, iscrowd: !!s.iscrowd,
      hidden: !!s.hidden, locked: !!s.locked }));
    const n = this.width * this.height;
    if (this.kind === "instance") {
      this.masks = new Map();
      for (const [k, crop] of Object.entries(doc.masks || {})) this.masks.set(Number(k), CropMask.fromCrop(crop));
    } else {
      this.ids = new Uint32Array(n);
      if (doc.map) {
        let p = 0;
        const { values, lengths } = doc.map;
        for (let k = 0; k < values.length; k++) {
          if (values[k]) this.ids.fill(values[k], p, p + lengths[k]);
          p += lengths[k];
        }
      }
      this._compactIds();
      let zeros = 0;
      for (let i = 0; i < n; i++) if (this.ids[i] === 0) zeros++;
      this.voidCount = zeros;  // kept up to date by every change below
    }
    this.undoStack = [];
    this.redoStack = [];
    this.tx = null;
    this.listeners = new Set();
    this.revision = 0;
    this._reindex();
  }

  // Imported COCO panoptic ids can be huge (R + 256 G + 256^2 B); renumber them 1..N so lookup tables stay small.
  _compactIds() {
    const max = this.segments.reduce((a, s) => Math.max(a, s.id), 0);
    if (max < 65536) return;
    const remap = new Map();
    this.segments.forEach((s, k) => { remap.set(s.id, k + 1); s.id = k + 1; });
    const ids = this.ids;
    let lastOld = 0, lastNew = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i];
      if (v === 0) continue;
      if (v !== lastOld) { lastOld = v; lastNew = remap.get(v) || 0; }
      ids[i] = lastNew;
    }
  }

  _reindex() {
    this.byId = new Map(this.segments.map((s) => [s.id, s]));
    this.maxId = this.segments.reduce((a, s) => Math.max(a, s.id), 0);
    this.lockLut = new Uint8Array(this.maxId + 2);
    for (const s of this.segments) if (s.locked) this.lockLut[s.id] = 1;
  }

  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
  _emit(what) { this.revision++; for (const fn of this.listeners) fn(what); }

  cls(categoryId) { return this.classById.get(categoryId); }
  isThing(categoryId) { const c = this.cls(categoryId); return c ? c.isthing : true; }

  // Panoptic stuff classes and every semantic class have one segment at most.
  onePerClass(categoryId) {
    return this.kind === "semantic" || (this.kind === "panoptic" && !this.isThing(categoryId));
  }

  segmentOfClass(categoryId) { return this.segments.find((s) => s.category_id === categoryId) || null; }

  // ---------------------------------------------------------------- transactions
  begin(label) {
    if (this.tx) this.commit();
    this.tx = { label, chunks: [], before: this._snapshot(), dirty: null };
  }

  _snapshot() { return JSON.stringify(this.segments); }

  _chunk(seg, value) {
    // An autosave may commit in the middle of a stroke: the rest of the stroke opens a new step.
    if (!this.tx) this.begin("paint");
    const last = this.tx.chunks[this.tx.chunks.length - 1];
    if (last && last.seg === seg && last.value === value) return last;
    const c = new Chunk(seg, value, this.kind === "instance" ? Uint8Array : Uint32Array);
    this.tx.chunks.push(c);
    return c;
  }

  _touch(x0, y0, x1, y1) {
    const d = this.tx ? this.tx : null;
    const r = d && d.dirty;
    const nd = r ? [Math.min(r[0], x0), Math.min(r[1], y0), Math.max(r[2], x1), Math.max(r[3], y1)] : [x0, y0, x1, y1];
    if (d) d.dirty = nd;
    this._emit({ type: "pixels", rect: [x0, y0, x1, y1] });
  }

  commit() {
    const tx = this.tx;
    if (!tx) return false;
    this.tx = null;
    const after = this._snapshot();
    const changed = tx.chunks.some((c) => c.n > 0) || after !== tx.before;
    if (!changed) return false;
    tx.after = after;
    tx.chunks = tx.chunks.filter((c) => c.n > 0);
    this.undoStack.push(tx);
    this.redoStack = [];
    let total = 0;
    for (let k = this.undoStack.length - 1; k >= 0; k--) {
      total += this.undoStack[k].chunks.reduce((a, c) => a + c.bytes(), 0);
      if (total > UNDO_BYTES) { this.undoStack.splice(0, k + 1); break; }
    }
    this._emit({ type: "commit", label: tx.label, segments: after !== tx.before });
    return true;
  }

  cancel() {
    if (!this.tx) return;
    const tx = this.tx;
    this.tx = null;
    this._revert(tx);
    this._emit({ type: "all" });
  }

  _revert(tx) {
    for (let k = tx.chunks.length - 1; k >= 0; k--) {
      const c = tx.chunks[k];
      if (this.kind === "instance") {
        const m = this._mask(c.seg);
        for (let j = c.n - 1; j >= 0; j--) this._setBit(m, c.idx[j], c.old[j]);
      } else {
        const ids = this.ids;
        let dv = 0;
        for (let j = c.n - 1; j >= 0; j--) {
          const i = c.idx[j], o = c.old[j];
          dv += (o === 0) - (ids[i] === 0);
          ids[i] = o;
        }
        this.voidCount += dv;
      }
    }
    this.segments = JSON.parse(tx.before);
    this._reindex();
  }

  _replay(tx) {
    this.segments = JSON.parse(tx.after);
    this._reindex();
    for (const c of tx.chunks) {
      if (this.kind === "instance") {
        const m = this._mask(c.seg);
        for (let j = 0; j < c.n; j++) this._setBit(m, c.idx[j], c.value);
      } else {
        const ids = this.ids;
        let dv = 0;
        for (let j = 0; j < c.n; j++) {
          const i = c.idx[j];
          dv += (c.value === 0) - (ids[i] === 0);
          ids[i] = c.value;
        }
        this.voidCount += dv;
      }
    }
  }

  // Only the pixels of the step are redrawn when the segment list did not change (a stroke, a fill).
  _stepEvent(tx, flag) {
    let ev = { type: "all" };
    if (tx.dirty && tx.before === tx.after) ev = { type: "rect", rect: tx.dirty };
    else if (tx.dirty && appendedOne(tx.before, tx.after)) ev = { type: "rect", rect: tx.dirty, relut: true };
    ev[flag] = true;
    return ev;
  }

  undo() {
    if (this.tx) this.commit();
    const tx = this.undoStack.pop();
    if (!tx) return false;
    this._revert(tx);
    this.redoStack.push(tx);
    this._emit(this._stepEvent(tx, "undo"));
    return true;
  }

  redo() {
    const tx = this.redoStack.pop();
    if (!tx) return false;
    this._replay(tx);
    this.undoStack.push(tx);
    this._emit(this._stepEvent(tx, "redo"));
    return true;
  }

  // ---------------------------------------------------------------- segments
  newSegment(categoryId) {
    if (this.onePerClass(categoryId)) {
      const existing = this.segmentOfClass(categoryId);
      if (existing) return existing;
    }
    const seg = { id: this.maxId + 1, category_id: categoryId, iscrowd: false, hidden: false, locked: false };
    this.segments.push(seg);
    this._reindex();
    this._emit({ type: "segments", added: seg.id });  // no pixels yet: nothing to redraw
    return seg;
  }

  updateSegment(id, patch) {
    const s = this.byId.get(id);
    if (!s) return;
    Object.assign(s, patch);
    this._reindex();
    this._emit({ type: "segments", style: true, id });
  }

  // Bounding box [x0, y0, x1, y1] of a segment's pixels (null when it has none).
  bboxOf(id) {
    if (this.kind === "instance") {
      const m = this.masks.get(id);
      return m && m.w ? [m.x, m.y, m.x + m.w, m.y + m.h] : null;
    }
    const W = this.width, ids = this.ids;
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let y = 0, i = 0; y < this.height; y++) {
      for (let x = 0; x < W; x++, i++) {
        if (ids[i] !== id) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
    return x1 < 0 ? null : [x0, y0, x1 + 1, y1 + 1];
  }

  // Give a segment another class; where that class allows one segment only, merge into it.
  setClass(id, categoryId) {
    const s = this.byId.get(id);
    if (!s || s.category_id === categoryId) return id;
    const target = this.onePerClass(categoryId) ? this.segmentOfClass(categoryId) : null;
    if (target && target.id !== id) {
      this._mergeInto(id, target.id);
      return target.id;
    }
    s.category_id = categoryId;
    this._reindex();
    this._emit({ type: "segments", style: true });
    return id;
  }

  _mergeInto(from, to) {
    if (this.kind === "instance") {
      const src = this._mask(from), dst = this._mask(to);
      const c1 = this._chunk(to, 1), c0 = this._chunk(from, 0);
      for (let r = 0; r < src.h; r++) {
        for (let c = 0; c < src.w; c++) {
          if (!src.data[r * src.w + c]) continue;
          const x = src.x + c, y = src.y + r, i = y * this.width + x;
          if (!dst.get(x, y)) { this._setBit(dst, i, 1); c1.push(i, 0); }
        }
      }
      for (let r = 0; r < src.h; r++) {
        for (let c = 0; c < src.w; c++) {
          if (!src.data[r * src.w + c]) continue;
          const i = (src.y + r) * this.width + src.x + c;
          src.data[r * src.w + c] = 0; c0.push(i, 1);
        }
      }
    } else {
      const ch = this._chunk(0, to);
      const ids = this.ids;
      for (let i = 0; i < ids.length; i++) if (ids[i] === from) { ch.push(i, from); ids[i] = to; }
    }
    this.segments = this.segments.filter((s) => s.id !== from);
    this._reindex();
    this._emit({ type: "all" });
  }

  deleteSegment(id) {
    if (this.kind === "instance") {
      const m = this.masks.get(id);
      if (m) {
        const ch = this._chunk(id, 0);
        for (let r = 0; r < m.h; r++) {
          for (let c = 0; c < m.w; c++) {
            if (m.data[r * m.w + c]) { ch.push((m.y + r) * this.width + m.x + c, 1); m.data[r * m.w + c] = 0; }
          }
        }
      }
    } else {
      const ch = this._chunk(0, 0);
      const ids = this.ids;
      for (let i = 0; i < ids.length; i++) if (ids[i] === id) { ch.push(i, id); ids[i] = 0; this.voidCount++; }
    }
    this.segments = this.segments.filter((s) => s.id !== id);
    this._reindex();
    this._emit({ type: "all" });
  }

  move(id, delta) {
    const k = this.segments.findIndex((s) => s.id === id);
    const j = k + delta;
    if (k < 0 || j < 0 || j >= this.segments.length) return;
    const [s] = this.segments.splice(k, 1);
    this.segments.splice(j, 0, s);
    this._reindex();
    this._emit({ type: "segments", order: true });
  }

  // ---------------------------------------------------------------- pixels
  _mask(id) {
    let m = this.masks.get(id);
    if (!m) { m = new CropMask(); this.masks.set(id, m); }
    return m;
  }

  _setBit(m, i, v) {
    const x = i % this.width, y = (i - x) / this.width;
    m.ensure(x, y, x + 1, y + 1, this.width, this.height);
    m.data[(y - m.y) * m.w + (x - m.x)] = v;
  }

  // Segment id under a pixel: the map value, or the topmost visible object containing it.
  segmentAt(x, y) {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return 0;
    if (this.kind !== "instance") return this.ids[y * this.width + x];
    for (const s of this.segments) {
      if (s.hidden) continue;
      const m = this.masks.get(s.id);
      if (m && m.get(x, y)) return s.id;
    }
    return 0;
  }

  // Paint a region ({x0, y0, w, h, bits}) with segment `id`.
  // protect: leave pixels of other segments alone (only unlabeled pixels are painted).
  // Locked segments never lose pixels. Instance objects may overlap, so nothing is taken from others.
  paint(region, id, { protect = false } = {}) {
    const { x0, y0, w, h, bits } = region;
    const W = this.width;
    if (this.kind === "instance") {
      const s = this.byId.get(id);
      if (!s || s.locked) return 0;
      const m = this._mask(id);
      m.ensure(x0, y0, x0 + w, y0 + h, W, this.height);
      const ch = this._chunk(id, 1);
      let n = 0;
      for (let r = 0; r < h; r++) {
        const mrow = (y0 + r - m.y) * m.w - m.x;
        for (let c = 0; c < w; c++) {
          if (!bits[r * w + c]) continue;
          const x = x0 + c;
          if (m.data[mrow + x]) continue;
          m.data[mrow + x] = 1;
          ch.push((y0 + r) * W + x, 0);
          n++;
        }
      }
      if (n) this._touch(x0, y0, x0 + w, y0 + h);
      return n;
    }
    const ids = this.ids, lock = this.lockLut;
    const ch = this._chunk(0, id);
    let n = 0;
    for (let r = 0; r < h; r++) {
      const row = (y0 + r) * W + x0;
      for (let c = 0; c < w; c++) {
        if (!bits[r * w + c]) continue;
        const i = row + c, old = ids[i];
        if (old === id || (old && (lock[old] || protect))) continue;
        ids[i] = id;
        ch.push(i, old);
        if (old === 0) this.voidCount--;
        n++;
      }
    }
    if (n) this._touch(x0, y0, x0 + w, y0 + h);
    return n;
  }

  // Erase a region: every unlocked segment (map kinds), or only object `id` (instance, or when given).
  erase(region, id = null) {
    const { x0, y0, w, h, bits } = region;
    const W = this.width;
    if (this.kind === "instance") {
      const s = this.byId.get(id);
      const m = s && !s.locked ? this.masks.get(id) : null;
      if (!m) return 0;
      const ch = this._chunk(id, 0);
      let n = 0;
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          if (!bits[r * w + c]) continue;
          const x = x0 + c, y = y0 + r;
          const cx = x - m.x, cy = y - m.y;
          if (cx < 0 || cy < 0 || cx >= m.w || cy >= m.h || !m.data[cy * m.w + cx]) continue;
          m.data[cy * m.w + cx] = 0;
          ch.push(y * W + x, 1);
          n++;
        }
      }
      if (n) this._touch(x0, y0, x0 + w, y0 + h);
      return n;
    }
    const ids = this.ids, lock = this.lockLut;
    const ch = this._chunk(0, 0);
    let n = 0;
    for (let r = 0; r < h; r++) {
      const row = (y0 + r) * W + x0;
      for (let c = 0; c < w; c++) {
        if (!bits[r * w + c]) continue;
        const i = row + c, old = ids[i];
        if (!old || lock[old] || (id !== null && old !== id)) continue;
        ids[i] = 0;
        ch.push(i, old);
        this.voidCount++;
        n++;
      }
    }
    if (n) this._touch(x0, y0, x0 + w, y0 + h);
    return n;
  }

  // Flood fill region from (x, y): pixels 4-connected to it with the same segment id (map kinds), or,
  // for instance objects, the hole of object `id` around (x, y) (null when it reaches the image border).
  fillRegion(x, y, id) {
    const W = this.width, H = this.height;
    if (x < 0 || y < 0 || x >= W || y >= H) return null;
    let inside;
    if (this.kind === "instance") {
      const m = this.masks.get(id);
      inside = m ? (i) => !m.get(i % W, (i / W) | 0) : () => true;
    } else {
      const target = this.ids[y * W + x];
      const ids = this.ids;
      inside = (i) => ids[i] === target;
    }
    const seen = new Uint8Array(W * H);
    const stack = [y * W + x];
    let x0 = x, x1 = x, y0 = y, y1 = y, border = false;
    seen[y * W + x] = 1;
    // Scanline fill: walk each run left/right, queue the rows above and below.
    while (stack.length) {
      const i = stack.pop();
      const py = (i / W) | 0;
      let l = i - py * W, r = l;
      while (l > 0 && !seen[py * W + l - 1] && inside(py * W + l - 1)) { l--; seen[py * W + l] = 1; }
      while (r < W - 1 && !seen[py * W + r + 1] && inside(py * W + r + 1)) { r++; seen[py * W + r] = 1; }
      if (l === 0 || r === W - 1 || py === 0 || py === H - 1) border = true;
      if (l < x0) x0 = l; if (r > x1) x1 = r; if (py < y0) y0 = py; if (py > y1) y1 = py;
      for (const ny of [py - 1, py + 1]) {
        if (ny < 0 || ny >= H) continue;
        for (let c = l; c <= r; c++) {
          const j = ny * W + c;
          if (!seen[j] && inside(j)) { seen[j] = 1; stack.push(j); }
        }
      }
    }
    if (this.kind === "instance" && border) return null;
    const w = x1 - x0 + 1, h = y1 - y0 + 1;
    const bits = new Uint8Array(w * h);
    for (let r = 0; r < h; r++) bits.set(seen.subarray((y0 + r) * W + x0, (y0 + r) * W + x0 + w), r * w);
    return { x0, y0, w, h, bits };
  }

  // Pixel count of every segment.
  areas() {
    const out = new Map(this.segments.map((s) => [s.id, 0]));
    if (this.kind === "instance") {
      for (const s of this.segments) { const m = this.masks.get(s.id); out.set(s.id, m ? m.area() : 0); }
      return out;
    }
    const counts = new Uint32Array(this.maxId + 2);
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) if (ids[i] <= this.maxId) counts[ids[i]]++;
    for (const s of this.segments) out.set(s.id, counts[s.id]);
    return out;
  }

  unlabeledCount() {
    return this.kind === "instance" ? null : this.voidCount;
  }

  // ---------------------------------------------------------------- saving
  toApi() {
    const segments = this.segments.map((s) => ({ id: s.id, category_id: s.category_id, iscrowd: s.iscrowd,
      hidden: s.hidden, locked: s.locked }));
    if (this.kind === "instance") {
      const masks = {};
      for (const s of this.segments) {
        const m = this.masks.get(s.id);
        const crop = m ? m.toCrop() : null;
        if (crop) masks[String(s.id)] = crop;
      }
      return { segments, masks, map: null };
    }
    const ids = this.ids;
    const values = [], lengths = [];
    let cur = ids[0], n = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i];
      if (v === cur) n++;
      else { values.push(cur); lengths.push(n); cur = v; n = 1; }
    }
    values.push(cur); lengths.push(n);
    return { segments, map: { values, lengths }, masks: null };
  }
}
