// The image editor: viewport (zoom & pan), tools, object list, views, autosave, review actions.

import { api, ApiError } from "../api.js";
import { h, clear, toast, STATUS_LABELS } from "../ui.js";
import { LabelModel } from "./model.js";
import { Pyramid, Renderer, proposalCanvas, shade } from "./render.js";
import { dabRegion, strokeRegions, polygonRegion, cropRegion } from "./regions.js";

const TOOLS = [
  { name: "select", key: "v", label: "Select", help: "click an object to select it" },
  { name: "pan", key: "h", label: "Pan", help: "drag to move (or hold Space, or drag with the middle button)" },
  { name: "polygon", key: "p", label: "Polygon", help: "click vertices; click the first one, double-click or Enter to finish; drag vertices, click an edge to add one, Alt+click to remove" },
  { name: "brush", key: "b", label: "Brush", help: "paint with the active class ([ and ] change the size)" },
  { name: "eraser", key: "e", label: "Eraser", help: "erase (locked objects are kept)" },
  { name: "fill", key: "f", label: "Fill", help: "fill the region under the click" },
  { name: "points", key: "a", label: "Assist: points", help: "click = positive point, Shift/right click = negative; Enter accepts" },
  { name: "box", key: "x", label: "Assist: box", help: "drag a box, then refine with points; Enter accepts" },
];
const VIEWS = ["semantic", "instance", "panoptic"];
const SAVE_DELAY = 1200;

export async function openEditor(root, { imageId, me, go, labelId = null }) {
  const image = await api.get(`/api/images/${imageId}`);
  const [project, classes, tools, doc] = await Promise.all([
    api.get(`/api/projects/${image.project_id}`),
    api.get(`/api/projects/${image.project_id}/classes`),
    api.get("/api/assist/tools"),
    api.get(`/api/images/${imageId}/label${labelId ? `?label_id=${labelId}` : ""}`),
  ]);
  const ed = new Editor(root, { image, project, classes, tools, doc, me, go });
  await ed.start();
  return ed;
}

class Editor {
  constructor(root, { image, project, classes, tools, doc, me, go }) {
    Object.assign(this, { root, image, project, classes, tools, me, go });
    this.doc = doc;
    this.labelId = doc.id;
    this.version = doc.version;
    this.editable = doc.editable;
    this.model = new LabelModel(doc, classes);
    this.renderer = new Renderer(this.model);
    this.renderer.setView(project.kind === "instance" ? "instance" : project.kind);
    this.tool = "brush";
    this.brush = Math.max(4, Math.round(Math.min(image.width, image.height) / 60));
    this.opacity = 0.55;
    this.protect = false;
    this.activeClass = classes.length ? classes[0].category_id : null;
    this.selected = null;
    this.wantNew = false;
    this.poly = { points: [], closed: false, drag: -1 };
    this.assist = { method: tools.length ? tools[0].name : "grabcut", points: [], box: null, proposal: null, canvas: null, busy: false, tolerance: 32 };
    this.zoom = 1; this.panX = 0; this.panY = 0;
    this.dirty = false; this.saving = false; this.saveTimer = null; this.conflict = false;
    this.pointer = null;
    this.cleanup = [];
  }

  async start() {
    this.buildDom();
    this.img = new Image();
    this.img.src = `/api/images/${this.image.id}/file`;
    try {
      await this.img.decode();
      this.photo = new Pyramid(this.img, this.image.width, this.image.height);
    } catch (e) {
      toast("the image file could not be loaded", "error");
    }
    this.fit();
    this.model.on((ev) => this.onModel(ev));
    this.renderClasses();
    this.renderObjects();
    this.updateStatus();
    this.requestDraw();
    const onKey = (e) => this.onKey(e);
    window.addEventListener("keydown", onKey);
    const onResize = () => { this.resizeCanvas(); this.requestDraw(); };
    window.addEventListener("resize", onResize);
    const onUnload = (e) => { if (this.dirty) { e.preventDefault(); e.returnValue = ""; } };
    window.addEventListener("beforeunload", onUnload);
    this.cleanup.push(() => window.removeEventListener("keydown", onKey),
      () => window.removeEventListener("resize", onResize),
      () => window.removeEventListener("beforeunload", onUnload));
    if (!this.editable) this.banner("Read-only: this image is approved, or these labels belong to someone else.", "info");
    else if (this.doc.source === "imported") this.banner("Starting from imported pre-annotations; your edits are saved as your own labels.", "info");
    else if (this.doc.source === "submitted" || this.doc.source === "other")
      this.banner(`Starting from ${this.doc.author}'s labels; your edits are saved as your own labels.`, "info");
    this.root.dataset.ready = "1";
    window.panoptixEditor = this;  // a handle for the console, benchmarks and scripts
  }

  async destroy() {
    await this.flush();
    for (const fn of this.cleanup) fn();
  }

  // ------------------------------------------------------------------ DOM
  buildDom() {
    const kind = this.project.kind;
    const canReview = this.me.role === "admin" || this.me.role === "reviewer";
    this.canvas = h("canvas", { id: "view", tabindex: "0" });
    this.wrap = h("div", { class: "ed-canvas" }, this.canvas);
    this.statusEl = h("span", { id: "save-status", class: "save-status" }, "saved");
    this.badge = h("span", { id: "image-status", class: `badge ${this.image.status}` }, STATUS_LABELS[this.image.status]);
    this.bannerEl = h("div", { class: "banner", id: "banner", hidden: true });
    const viewButtons = VIEWS.map((v, k) => h("button", {
      class: "view-btn", "data-view": v, title: `${v} view (Shift+${k + 1})`, onclick: () => this.setView(v),
    }, v));
    this.viewBar = h("div", { class: "seg-control", role: "group", "aria-label": "view" }, viewButtons);
    const toolButtons = TOOLS.map((t) => h("button", {
      class: "tool", "data-tool": t.name, title: `${t.label} (${t.key.toUpperCase()}): ${t.help}`,
      onclick: () => this.setTool(t.name),
    }, h("span", { class: "tool-label" }, t.label), h("kbd", {}, t.key.toUpperCase())));
    this.sizeInput = h("input", { type: "range", min: "1", max: "200", value: String(this.brush), id: "brush-size",
      oninput: (e) => { this.brush = Number(e.target.value); this.sizeLabel.textContent = `${this.brush}px`; this.requestDraw(); } });
    this.sizeLabel = h("span", { class: "muted" }, `${this.brush}px`);
    this.protectBox = h("input", { type: "checkbox", id: "protect", onchange: (e) => { this.protect = e.target.checked; } });
    const methodSel = h("select", { id: "assist-method", onchange: (e) => { this.assist.method = e.target.value; this.runAssist(); } },
      this.tools.filter((t) => t.name !== "text").map((t) => h("option", { value: t.name }, t.name.replace("_", " "))));
    this.tolInput = h("input", { type: "range", min: "1", max: "200", value: "32", id: "assist-tolerance",
      oninput: (e) => { this.assist.tolerance = Number(e.target.value); } , onchange: () => this.runAssist() });
    const textTool = this.tools.find((t) => t.name === "text");
    this.textInput = textTool ? h("input", { type: "text", id: "assist-text", placeholder: "describe the object…" }) : null;
    const undoBtn = h("button", { id: "undo", title: "Undo (Ctrl+Z)", onclick: () => this.model.undo() }, "Undo");
    const redoBtn = h("button", { id: "redo", title: "Redo (Ctrl+Shift+Z / Ctrl+Y)", onclick: () => this.model.redo() }, "Redo");
    const opacity = h("input", { type: "range", min: "0", max: "100", value: String(this.opacity * 100), id: "opacity",
      oninput: (e) => { this.opacity = Number(e.target.value) / 100; this.requestDraw(); } });
    const unlabeled = h("input", { type: "checkbox", id: "show-unlabeled", checked: kind !== "instance",
      onchange: (e) => { this.renderer.setShowUnlabeled(e.target.checked); this.requestDraw(); } });
    this.renderer.showUnlabeled = kind !== "instance";
    this.unlabeledEl = h("div", { id: "unlabeled", class: "muted small" });

    const toolsPanel = h("aside", { class: "ed-tools" },
      h("div", { class: "tool-grid" }, toolButtons),
      h("div", { class: "field" }, h("label", { for: "brush-size" }, "Brush size ", this.sizeLabel), this.sizeInput),
      kind !== "instance" ? h("div", { class: "field row" }, this.protectBox,
        h("label", { for: "protect", title: "M: toggle" }, "Protect labeled pixels (M)")) : null,
      h("div", { class: "field" }, h("label", { for: "assist-method" }, "Assist method"), methodSel),
      h("div", { class: "field" }, h("label", { for: "assist-tolerance" }, "Magic wand tolerance (RGB distance)"), this.tolInput),
      this.textInput ? h("div", { class: "field" }, this.textInput,
        h("button", { onclick: () => this.runText() }, "Find")) : null,
      h("div", { class: "assist-actions" },
        h("button", { id: "assist-accept", class: "primary", onclick: () => this.acceptProposal(false), title: "Enter" }, "Accept"),
        h("button", { id: "assist-clear", onclick: () => this.clearAssist(), title: "Esc" }, "Clear")),
      h("div", { class: "row" }, undoBtn, redoBtn),
      h("div", { class: "field" }, h("label", { for: "opacity" }, "Label opacity"), opacity),
      h("div", { class: "field row" }, unlabeled, h("label", { for: "show-unlabeled", title: "O: toggle" }, "Show unlabeled (O)")),
      this.unlabeledEl,
      h("button", { class: "link", onclick: () => this.showHelp() }, "Keyboard shortcuts (?)"));

    this.classList = h("div", { class: "class-list", id: "class-list" });
    this.classFilter = h("input", { type: "search", placeholder: "filter classes (Enter picks)", class: "class-filter",
      oninput: () => this.renderClasses(),
      onkeydown: (e) => {
        if (e.key === "Enter") {
          const first = this.classList.querySelector(".class-item");
          if (first) first.click();
        }
        if (e.key === "Enter" || e.key === "Escape") { this.classFilter.value = ""; this.renderClasses(); this.canvas.focus(); }
      } });
    this.objList = h("div", { class: "obj-list", id: "object-list" });
    this.bindObjectList();
    this.reviewEl = h("div", { class: "review", id: "review-panel" });
    const side = h("aside", { class: "ed-side" },
      h("h3", {}, "Classes"), this.classFilter, this.classList,
      h("h3", {}, "Objects ", h("button", { class: "small", id: "new-object", title: "N: next paint starts a new object",
        onclick: () => { this.wantNew = true; this.selectSegment(null); toast("next stroke starts a new object"); } }, "+ new")),
      this.objList,
      h("h3", {}, "Review"), this.reviewEl);

    const actions = [];
    actions.push(h("button", { id: "btn-submit", onclick: () => this.submit() }, "Submit"));
    if (canReview) {
      actions.push(h("button", { id: "btn-approve", class: "good", onclick: () => this.review("approved") }, "Approve"));
      actions.push(h("button", { id: "btn-reject", class: "bad", onclick: () => this.review("rejected") }, "Reject"));
    }
    const top = h("header", { class: "ed-top" },
      h("a", { href: `#/projects/${this.project.id}`, class: "back" }, `← ${this.project.name}`),
      h("span", { class: "path", title: this.image.path }, this.image.path),
      this.badge, this.viewBar, h("span", { class: "spacer" }), this.statusEl,
      h("button", { id: "btn-prev", title: "previous image", onclick: () => this.neighbor("prev") }, "‹ Prev"),
      h("button", { id: "btn-next", title: "next image", onclick: () => this.neighbor("next") }, "Next ›"),
      actions);
    clear(this.root).append(h("div", { class: "editor", "data-kind": kind }, top, this.bannerEl,
      h("div", { class: "ed-body" }, toolsPanel, this.wrap, side)));
    this.ctx = this.canvas.getContext("2d");
    this.resizeCanvas();
    this.bindPointer();
    this.setTool(this.tool);
    this.setView(this.renderer.view);
    this.renderReview();
  }

  banner(text, kind = "info", buttons = []) {
    clear(this.bannerEl).append(h("span", {}, text), ...buttons);
    this.bannerEl.className = `banner ${kind}`;
    this.bannerEl.hidden = false;
  }

  hideBanner() { this.bannerEl.hidden = true; }

  showHelp() {
    const rows = [
      ...TOOLS.map((t) => [t.key.toUpperCase(), `${t.label}: ${t.help}`]),
      ["N", "next paint starts a new object"], ["[ / ]", "smaller / bigger brush"],
      ["M", "protect labeled pixels on / off"], ["O", "show unlabeled pixels on / off"],
      ["L", "lock / unlock the selected object"], ["Delete", "delete the selected object"],
      ["Shift+1/2/3", "semantic / instance / panoptic view"], ["Enter", "finish polygon / accept proposal"],
      ["Esc", "cancel polygon / clear proposal"], ["Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y", "undo, redo"],
      ["Ctrl+S", "save now"], ["wheel", "zoom at the cursor"], ["Space+drag, middle drag", "pan"],
      ...this.classes.filter((c) => c.hotkey).map((c) => [c.hotkey, `class ${c.name}`]),
    ];
    const dlg = h("dialog", { class: "help", id: "help" },
      h("h3", {}, "Keyboard shortcuts"),
      h("table", {}, rows.map(([k, v]) => h("tr", {}, h("td", {}, h("kbd", {}, k)), h("td", {}, v)))),
      h("button", { onclick: () => { dlg.close(); dlg.remove(); } }, "Close"));
    document.body.append(dlg);
    dlg.showModal();
  }

  // ------------------------------------------------------------------ viewport
  resizeCanvas() {
    const r = this.wrap.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(r.width * dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * dpr));
    this.canvas.style.width = `${r.width}px`;
    this.canvas.style.height = `${r.height}px`;
    this.viewW = r.width; this.viewH = r.height;
  }

  fit() {
    const W = this.image.width, H = this.image.height;
    this.zoom = Math.min(this.viewW / W, this.viewH / H) * 0.96 || 1;
    this.panX = (this.viewW - W * this.zoom) / 2;
    this.panY = (this.viewH - H * this.zoom) / 2;
  }

  toImage(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left - this.panX) / this.zoom, (e.clientY - r.top - this.panY) / this.zoom];
  }

  requestDraw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => { this.drawPending = false; this.draw(); });
  }

  draw() {
    const ctx = this.ctx;
    // The current view transform, for scripts that drive the editor (tests, screenshots).
    Object.assign(this.canvas.dataset, { zoom: String(this.zoom), panX: String(this.panX), panY: String(this.panY) });
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.viewW, this.viewH);
    ctx.translate(this.panX, this.panY);
    ctx.scale(this.zoom, this.zoom);
    ctx.imageSmoothingEnabled = this.zoom < 2;
    if (this.photo) this.photo.draw(ctx, this.zoom);
    ctx.globalAlpha = this.opacity;
    const visible = [-this.panX / this.zoom, -this.panY / this.zoom, (this.viewW - this.panX) / this.zoom,
      (this.viewH - this.panY) / this.zoom];
    this.renderer.draw(ctx, this.zoom, visible);
    ctx.globalAlpha = 1;
    const px = 1 / this.zoom;
    if (this.assist.canvas) ctx.drawImage(this.assist.canvas, this.assist.canvas.x, this.assist.canvas.y);
    if (this.assist.box) {
      const [x0, y0, x1, y1] = this.assist.box;
      ctx.strokeStyle = "#00e5ff"; ctx.lineWidth = 2 * px; ctx.setLineDash([6 * px, 4 * px]);
      ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      ctx.setLineDash([]);
    }
    for (const [x, y, pos] of this.assist.points) {
      ctx.fillStyle = pos ? "#2ecc40" : "#ff4136"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5 * px;
      ctx.beginPath(); ctx.arc(x, y, 5 * px, 0, Math.PI * 2); ctx.fill(); ctx.stroke();
    }
    const P = this.poly.points;
    if (P.length) {
      ctx.strokeStyle = "#ffdc00"; ctx.lineWidth = 1.5 * px;
      ctx.beginPath(); ctx.moveTo(P[0][0], P[0][1]);
      for (const [x, y] of P.slice(1)) ctx.lineTo(x, y);
      if (this.poly.closed) ctx.closePath();
      else if (this.hover) ctx.lineTo(this.hover[0], this.hover[1]);
      ctx.stroke();
      if (this.poly.closed) { ctx.fillStyle = "rgba(255,220,0,0.18)"; ctx.fill(); }
      for (const [k, [x, y]] of P.entries()) {
        ctx.fillStyle = k === 0 ? "#ff851b" : "#ffdc00";
        ctx.fillRect(x - 3.5 * px, y - 3.5 * px, 7 * px, 7 * px);
      }
    }
    if (this.hover && (this.tool === "brush" || this.tool === "eraser")) {
      ctx.strokeStyle = this.tool === "eraser" ? "#ff4136" : "#fff"; ctx.lineWidth = px;
      ctx.beginPath(); ctx.arc(Math.floor(this.hover[0]) + 0.5, Math.floor(this.hover[1]) + 0.5, this.brush / 2, 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  // ------------------------------------------------------------------ pointer
  bindPointer() {
    const c = this.canvas;
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      const mx = e.clientX - r.left, my = e.clientY - r.top;
      const f = Math.exp(-e.deltaY * 0.0015);
      const z = Math.min(64, Math.max(0.02, this.zoom * f));
      this.panX = mx - ((mx - this.panX) * z) / this.zoom;
      this.panY = my - ((my - this.panY) * z) / this.zoom;
      this.zoom = z;
      this.requestDraw();
    }, { passive: false });
    c.addEventListener("pointerdown", (e) => this.onDown(e));
    c.addEventListener("pointermove", (e) => this.onMove(e));
    c.addEventListener("pointerup", (e) => this.onUp(e));
    c.addEventListener("pointercancel", (e) => this.onUp(e));
    c.addEventListener("pointerleave", () => { this.hover = null; this.requestDraw(); });
    c.addEventListener("dblclick", (e) => {
      if (this.tool === "polygon" && !this.poly.closed && this.poly.points.length >= 3) {
        this.poly.points.pop(); // the second click of the double-click added a vertex
        this.closePolygon();
      }
    });
  }

  onDown(e) {
    this.canvas.focus();
    const [x, y] = this.toImage(e);
    const panning = this.tool === "pan" || e.button === 1 || this.spaceDown;
    if (panning) {
      this.pointer = { mode: "pan", sx: e.clientX, sy: e.clientY, px: this.panX, py: this.panY };
      this.canvas.setPointerCapture(e.pointerId);
      return;
    }
    if (e.button !== 0 && !(e.button === 2 && this.tool === "points")) return;
    if (this.tool === "select") { this.pick(x, y); return; }
    if (!this.editable) { toast("read-only", "error"); return; }
    switch (this.tool) {
      case "brush": case "eraser": {
        if (this.tool === "eraser" && this.model.kind === "instance" && !this.selected) { toast("select the object to erase from"); return; }
        this.model.begin(this.tool);
        const seg = this.tool === "brush" ? this.target() : null;
        if (this.tool === "brush" && !seg) { this.model.cancel(); return; }
        this.pointer = { mode: "stroke", last: [x, y], seg: seg ? seg.id : null };
        this.dab([x, y], [x, y]);
        this.canvas.setPointerCapture(e.pointerId);
        break;
      }
      case "fill": this.fill(x, y); break;
      case "polygon": this.polygonDown(x, y, e); break;
      case "points":
        this.assist.points.push([x, y, !(e.shiftKey || e.button === 2 || e.altKey)]);
        this.runAssist();
        break;
      case "box":
        this.pointer = { mode: "box", start: [x, y], moved: false, shift: e.shiftKey || e.altKey };
        this.canvas.setPointerCapture(e.pointerId);
        break;
    }
    this.requestDraw();
  }

  onMove(e) {
    const [x, y] = this.toImage(e);
    this.hover = [x, y];
    const p = this.pointer;
    if (p && p.mode === "pan") {
      this.panX = p.px + e.clientX - p.sx; this.panY = p.py + e.clientY - p.sy;
    } else if (p && p.mode === "stroke") {
      this.dab(p.last, [x, y]);
      p.last = [x, y];
    } else if (p && p.mode === "box") {
      if (Math.hypot(x - p.start[0], y - p.start[1]) * this.zoom > 4) p.moved = true;
      if (p.moved) this.assist.box = [p.start[0], p.start[1], x, y];
    } else if (p && p.mode === "vertex") {
      this.poly.points[p.index] = [x, y];
    }
    this.requestDraw();
  }

  onUp(e) {
    const p = this.pointer;
    this.pointer = null;
    if (!p) return;
    if (p.mode === "stroke") this.model.commit();
    if (p.mode === "box") {
      if (p.moved) { this.assist.points = []; this.runAssist(); }
      else { const [x, y] = this.toImage(e); this.assist.points.push([x, y, !p.shift]); this.runAssist(); }
    }
    this.requestDraw();
  }

  dab(from, to) {
    const W = this.image.width, H = this.image.height;
    const regions = from[0] === to[0] && from[1] === to[1] ? [dabRegion(to[0], to[1], this.brush, W, H)]
      : strokeRegions(from[0], from[1], to[0], to[1], this.brush, W, H);
    for (const reg of regions) {
      if (!reg) continue;
      if (this.tool === "brush") this.model.paint(reg, this.pointer.seg, { protect: this.protect });
      else this.model.erase(reg, this.model.kind === "instance" ? this.selected : null);
    }
  }

  // The segment new paint goes to: the selected object when it has the active class, the class's
  // segment where a class has one segment only, else a new object.
  target({ forceNew = false } = {}) {
    const cat = this.activeClass;
    if (cat === null || cat === undefined) { toast("pick a class first", "error"); return null; }
    if (this.model.onePerClass(cat)) {
      const s = this.model.newSegment(cat);
      this.selectSegment(s.id, false);
      return s;
    }
    const sel = this.model.byId.get(this.selected);
    if (!forceNew && !this.wantNew && sel && sel.category_id === cat) {
      if (sel.locked) { toast("the selected object is locked", "error"); return null; }
      return sel;
    }
    const s = this.model.newSegment(cat);
    this.wantNew = false;
    this.selectSegment(s.id, false);
    return s;
  }

  pick(x, y) {
    const id = this.model.segmentAt(Math.floor(x), Math.floor(y));
    this.selectSegment(id || null);
  }

  fill(x, y) {
    x = Math.floor(x); y = Math.floor(y);
    if (this.model.kind === "instance" && !this.selected) { toast("select the object whose hole to fill"); return; }
    this.model.begin("fill");
    const seg = this.model.kind === "instance" ? this.model.byId.get(this.selected) : this.target();
    if (!seg) { this.model.cancel(); return; }
    const reg = this.model.fillRegion(x, y, seg.id);
    if (!reg) { this.model.cancel(); toast("that region is not closed by the object; fill needs a hole", "error"); return; }
    this.model.paint(reg, seg.id, { protect: this.protect });
    this.model.commit();
  }

  // ------------------------------------------------------------------ polygon
  polygonDown(x, y, e) {
    const P = this.poly.points;
    const tol = 7 / this.zoom;
    const hit = P.findIndex(([px, py]) => Math.abs(px - x) <= tol && Math.abs(py - y) <= tol);
    if (this.poly.closed) {
      if (hit >= 0 && (e.altKey || e.button === 2)) {
        if (P.length > 3) P.splice(hit, 1);
      } else if (hit >= 0) {
        this.pointer = { mode: "vertex", index: hit };
        this.canvas.setPointerCapture(e.pointerId);
      } else {
        // Click near an edge: insert a vertex there and drag it.
        for (let k = 0; k < P.length; k++) {
          const [ax, ay] = P[k], [bx, by] = P[(k + 1) % P.length];
          const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2 || 1)));
          if (Math.hypot(ax + t * (bx - ax) - x, ay + t * (by - ay) - y) <= tol) {
            P.splice(k + 1, 0, [x, y]);
            this.pointer = { mode: "vertex", index: k + 1 };
            this.canvas.setPointerCapture(e.pointerId);
            break;
          }
        }
      }
      return;
    }
    if (hit === 0 && P.length >= 3) { this.closePolygon(); return; }
    P.push([x, y]);
  }

  closePolygon() {
    if (this.poly.points.length < 3) return;
    this.poly.closed = true;
    toast("polygon closed: drag vertices to adjust, Enter to apply, Esc to cancel");
    this.requestDraw();
  }

  commitPolygon(addToSelected = false) {
    const P = this.poly.points;
    if (P.length < 3) return;
    const reg = polygonRegion(P, this.image.width, this.image.height);
    this.poly = { points: [], closed: false, drag: -1 };
    if (!reg) return;
    this.model.begin("polygon");
    const seg = this.target({ forceNew: !addToSelected });
    if (seg) this.model.paint(reg, seg.id, { protect: this.protect });
    this.model.commit();
    this.requestDraw();
  }

  // ------------------------------------------------------------------ assist
  async runAssist() {
    const a = this.assist;
    if (!a.points.length && !a.box) return;
    if (a.busy) { a.again = true; return; }
    a.busy = true;
    this.canvas.dataset.assist = "busy";
    this.statusEl.textContent = "assist…";
    try {
      const box = a.box ? [a.box[0], a.box[1], a.box[2], a.box[3]] : null;
      const res = await api.post(`/api/images/${this.image.id}/assist`, {
        tool: a.method, points: a.points.map(([x, y, positive]) => ({ x, y, positive })), box,
        tolerance: a.tolerance,
      });
      a.proposal = res.mask;
      a.canvas = proposalCanvas(res.mask);
      if (!res.mask) toast("the assist found nothing there");
    } catch (err) {
      toast(err.message, "error");
    } finally {
      a.busy = false;
      this.canvas.dataset.assist = a.proposal ? "ready" : "none";
      this.updateStatus();
      this.requestDraw();
      if (a.again) { a.again = false; this.runAssist(); }
    }
  }

  async runText() {
    const text = this.textInput.value.trim();
    if (!text) return;
    try {
      const res = await api.post(`/api/images/${this.image.id}/assist`, { tool: "text", text });
      this.assist.proposal = res.mask;
      this.assist.canvas = proposalCanvas(res.mask);
      this.requestDraw();
    } catch (err) { toast(err.message, "error"); }
  }

  acceptProposal(addToSelected) {
    const a = this.assist;
    if (!a.proposal) { toast("nothing to accept: click or drag a box with an assist tool first"); return; }
    if (!this.editable) { toast("read-only", "error"); return; }
    this.model.begin("assist");
    const seg = this.target({ forceNew: !addToSelected });
    if (seg) this.model.paint(cropRegion(a.proposal), seg.id, { protect: this.protect });
    this.model.commit();
    this.clearAssist();
  }

  clearAssist() {
    Object.assign(this.assist, { points: [], box: null, proposal: null, canvas: null });
    this.canvas.dataset.assist = "none";
    this.requestDraw();
  }

  // ------------------------------------------------------------------ state changes
  setTool(name) {
    if (this.tool === "polygon" && name !== "polygon") this.poly = { points: [], closed: false, drag: -1 };
    if ((this.tool === "points" || this.tool === "box") && name !== "points" && name !== "box") this.clearAssist();
    this.tool = name;
    for (const b of this.root.querySelectorAll(".tool")) b.classList.toggle("active", b.dataset.tool === name);
    this.canvas.dataset.tool = name;
    this.requestDraw();
  }

  setView(v) {
    this.renderer.setView(v);
    for (const b of this.viewBar.querySelectorAll("button")) b.classList.toggle("active", b.dataset.view === v);
    this.root.querySelector(".editor").dataset.view = v;
    this.renderObjects();
    this.requestDraw();
  }

  setActiveClass(cat) {
    this.activeClass = cat;
    const sel = this.model.byId.get(this.selected);
    if (sel && sel.category_id !== cat) {
      const s = this.model.onePerClass(cat) ? this.model.segmentOfClass(cat) : null;
      this.selectSegment(s ? s.id : null, false);
    }
    this.renderClasses();
  }

  selectSegment(id, syncClass = true) {
    this.selected = id;
    const s = this.model.byId.get(id);
    if (s && syncClass) { this.activeClass = s.category_id; this.renderClasses(); }
    this.renderer.setSelected(id);
    this.renderObjects();
    this.requestDraw();
  }

  onModel(ev) {
    this.renderer.update(ev);
    // The object list changes with the segments only (not with the pixels of a stroke).
    if (ev.type === "segments" || ev.type === "all" || (ev.type === "commit" && ev.segments) || ev.relut) {
      this.renderObjectsSoon();
    }
    if (ev.type !== "pixels" && ev.type !== "segments") this.updateUnlabeled();
    if (ev.type === "commit" || ev.type === "all" || ev.type === "rect") {
      if (!this.model.byId.has(this.selected)) { this.selected = null; this.renderer.setSelected(null); }
      this.markDirty();
    }
    this.requestDraw();
  }

  segEdit(label, fn) {
    if (!this.editable) { toast("read-only", "error"); return; }
    this.model.begin(label);
    fn();
    this.model.commit();
  }

  // ------------------------------------------------------------------ panels
  renderClasses() {
    const f = (this.classFilter.value || "").toLowerCase();
    clear(this.classList).append(...this.classes.filter((c) => !f || c.name.toLowerCase().includes(f)).map((c) =>
      h("button", {
        class: `class-item${c.category_id === this.activeClass ? " active" : ""}`, "data-class": c.name,
        onclick: () => { this.setActiveClass(c.category_id); this.canvas.focus(); }, title: `${c.isthing ? "thing" : "stuff"} · id ${c.category_id}`,
      }, h("span", { class: "swatch", style: { background: c.color } }), h("span", { class: "name" }, c.name),
      h("span", { class: "tag" }, c.isthing ? "thing" : "stuff"), c.hotkey ? h("kbd", {}, c.hotkey) : null)));
  }

  renderObjectsSoon() {
    if (this.objTimer) return;
    this.objTimer = setTimeout(() => { this.objTimer = null; this.renderObjects(); }, 60);
  }

  // The object list is one HTML string and one delegated click handler: hundreds of rows stay cheap.
  renderObjects() {
    const m = this.model;
    const rank = new Map();
    const esc = (t) => String(t).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
    const n = m.segments.length;
    const rows = m.segments.map((s, k) => {
      const cls = m.cls(s.category_id);
      const r = rank.get(s.category_id) || 0;
      rank.set(s.category_id, r + 1);
      const rgb = cls ? cls.color.match(/\w\w/g).map((x) => parseInt(x, 16)) : [200, 200, 200];
      const col = cls && cls.isthing && this.renderer.view !== "semantic" ? shade(rgb, r) : rgb;
      // Only the selected row carries a class menu: hundreds of rows x hundreds of classes stay light.
      const name = s.id === this.selected
        ? `<select class="obj-class" title="change the class">${this.classes.filter((c) => m.kind !== "instance" || c.isthing)
          .map((c) => `<option value="${c.category_id}"${c.category_id === s.category_id ? " selected" : ""}>${esc(c.name)}</option>`).join("")}</select>`
        : `<span class="obj-class">${esc(cls ? cls.name : `class ${s.category_id}`)}</span>`;
      return `<div class="obj${s.id === this.selected ? " active" : ""}${s.hidden ? " hidden" : ""}" data-id="${s.id}">` +
        `<span class="swatch" style="background: rgb(${col.join(",")})"></span><span class="obj-id">#${s.id}</span>${name}` +
        `<button class="icon" data-act="hide" title="${s.hidden ? "show" : "hide"}">${s.hidden ? "○" : "●"}</button>` +
        `<button class="icon${s.locked ? " on" : ""}" data-act="lock" title="${s.locked ? "unlock" : "lock (L)"}">${s.locked ? "▣" : "□"}</button>` +
        `<button class="icon" data-act="up" title="up"${k === 0 ? " disabled" : ""}>↑</button>` +
        `<button class="icon" data-act="down" title="down"${k === n - 1 ? " disabled" : ""}>↓</button>` +
        `<button class="icon" data-act="delete" title="delete (Del)">✕</button></div>`;
    });
    const html = rows.length ? rows.join("") : `<p class="muted small">no objects yet</p>`;
    // Replace the rows only when they changed: a needless re-render under the pointer between
    // mousedown and mouseup swallows the click (a lock or delete button pressed during an autosave).
    if (html !== this.objHtml) {
      this.objHtml = html;
      this.objList.innerHTML = html;
    }
    this.updateUnlabeled();
  }

  bindObjectList() {
    this.objList.addEventListener("click", (e) => {
      const row = e.target.closest(".obj");
      if (!row || e.target.tagName === "SELECT" || e.target.tagName === "OPTION") return;
      const id = Number(row.dataset.id);
      const s = this.model.byId.get(id);
      const act = e.target.dataset.act;
      const m = this.model;
      if (!act) { this.selectSegment(id); return; }
      if (act === "hide") this.segEdit("hide", () => m.updateSegment(id, { hidden: !s.hidden }));
      else if (act === "lock") this.segEdit("lock", () => m.updateSegment(id, { locked: !s.locked }));
      else if (act === "up") this.segEdit("order", () => m.move(id, -1));
      else if (act === "down") this.segEdit("order", () => m.move(id, 1));
      else if (act === "delete") this.segEdit("delete", () => m.deleteSegment(id));
    });
    this.objList.addEventListener("change", (e) => {
      if (!e.target.classList.contains("obj-class")) return;
      const id = Number(e.target.closest(".obj").dataset.id);
      this.segEdit("class", () => { const nid = this.model.setClass(id, Number(e.target.value)); this.selectSegment(nid); });
    });
  }

  updateUnlabeled() {
    const m = this.model;
    const un = m.unlabeledCount();
    this.unlabeledEl.textContent = un === null ? `${m.segments.length} objects (overlaps allowed)`
      : `unlabeled: ${un} px (${((100 * un) / (m.width * m.height)).toFixed(1)}%)`;
  }

  async renderReview() {
    const el = this.reviewEl;
    const img = this.image;
    clear(el).append(h("p", {}, "Status: ", h("b", { id: "review-status" }, STATUS_LABELS[img.status])));
    if (img.review_comment) el.append(h("p", { class: "comment", id: "review-comment" }, "“", img.review_comment, "”"));
    if (this.me.role === "annotator") return;
    try {
      const labels = await api.get(`/api/images/${img.id}/labels`);
      if (labels.length) {
        el.append(h("p", { class: "muted small" }, "Labels of this image:"),
          h("ul", { class: "labels" }, labels.map((l) => h("li", {},
            h("a", { href: `#/images/${img.id}?label=${l.id}` }, `#${l.id} ${l.author || "imported"} v${l.version}`),
            l.submitted ? h("span", { class: "tag" }, "submitted") : null))));
      }
      if (labels.length >= 2) {
        const opts = () => labels.map((l) => h("option", { value: String(l.id) }, `#${l.id} ${l.author || "imported"}`));
        const a = h("select", { id: "agree-a" }, opts()), b = h("select", { id: "agree-b" }, opts());
        b.selectedIndex = 1;
        const out = h("span", { id: "agreement" });
        el.append(h("div", { class: "row" }, a, b, h("button", { id: "btn-agreement", onclick: async () => {
          try {
            const r = await api.get(`/api/images/${img.id}/agreement?a=${a.value}&b=${b.value}`);
            out.textContent = `${r.metric} = ${r.value === null ? "n/a" : r.value.toFixed(3)}`;
          } catch (err) { toast(err.message, "error"); }
        } }, "Agreement")), out);
      }
    } catch (err) { /* reviewers only */ }
  }

  // ------------------------------------------------------------------ saving & workflow
  markDirty() {
    this.dirty = true;
    this.updateStatus();
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), SAVE_DELAY);
  }

  updateStatus() {
    this.statusEl.textContent = this.conflict ? "conflict" : this.saving ? "saving…" : this.dirty ? "unsaved changes"
      : this.labelId ? `saved v${this.version}` : "no changes";
    this.statusEl.className = `save-status${this.conflict ? " bad" : this.dirty ? " warn" : ""}`;
    this.badge.textContent = STATUS_LABELS[this.image.status];
    this.badge.className = `badge ${this.image.status}`;
  }

  async save(force = false) {
    if (this.conflict && !force) return;
    if (this.saving) { this.saveAgain = true; return this.savePromise; }
    if (!this.dirty) return;
    if (this.model.tx) this.model.commit();
    this.saving = true;
    this.updateStatus();
    const rev = this.model.revision;
    const body = { version: this.version, ...this.model.toApi() };
    const q = this.labelId ? `?label_id=${this.labelId}` : "";
    this.savePromise = (async () => {
      try {
        const r = await api.put(`/api/images/${this.image.id}/label${q}`, body);
        this.labelId = r.id; this.version = r.version;
        if (this.image.status !== r.status) { this.image.status = r.status; this.renderReview(); }
        if (this.model.revision === rev) this.dirty = false;
        this.conflict = false;
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          this.conflict = true;
          this.banner(`Not saved: ${err.message}`, "bad", [
            h("button", { onclick: () => this.go(`#/images/${this.image.id}?r=${Date.now()}`, true) }, "Reload (lose my changes)"),
            h("button", { onclick: () => this.overwrite() }, "Keep mine (overwrite)")]);
        } else {
          toast(`not saved: ${err.message}`, "error");
        }
      } finally {
        this.saving = false;
        this.updateStatus();
        if (this.saveAgain) { this.saveAgain = false; if (this.dirty) this.save(); }
      }
    })();
    return this.savePromise;
  }

  async overwrite() {
    const current = await api.get(`/api/images/${this.image.id}/label${this.labelId ? `?label_id=${this.labelId}` : ""}`);
    this.labelId = current.id; this.version = current.version;
    this.conflict = false;
    this.hideBanner();
    this.dirty = true;
    await this.save(true);
  }

  async flush() {
    clearTimeout(this.saveTimer);
    if (this.saving) await this.savePromise;
    if (this.dirty) await this.save();
    return !this.dirty;
  }

  async submit() {
    if (!(await this.flush())) { toast("save failed; not submitted", "error"); return; }
    if (!this.labelId) { toast("nothing to submit yet: label something first", "error"); return; }
    try {
      const img = await api.post(`/api/images/${this.image.id}/status`, { status: "submitted", label_id: this.labelId });
      this.image = img; this.updateStatus(); this.renderReview();
      toast("submitted for review");
    } catch (err) { toast(err.message, "error"); }
  }

  async review(status) {
    let comment = "";
    if (status === "rejected") {
      comment = await this.ask("Why are the labels rejected?");
      if (comment === null) return;
    }
    await this.flush();
    try {
      const img = await api.post(`/api/images/${this.image.id}/status`, { status, comment, label_id: this.labelId || this.doc.id || null });
      this.image = img; this.updateStatus(); this.renderReview();
      toast(status === "approved" ? "approved" : "rejected");
    } catch (err) { toast(err.message, "error"); }
  }

  ask(question) {
    return new Promise((resolve) => {
      const input = h("textarea", { id: "ask-input", rows: "3" });
      const dlg = h("dialog", { class: "ask", id: "ask" }, h("p", {}, question), input,
        h("div", { class: "row" },
          h("button", { id: "ask-ok", class: "primary", onclick: () => { dlg.close(); dlg.remove(); resolve(input.value); } }, "OK"),
          h("button", { onclick: () => { dlg.close(); dlg.remove(); resolve(null); } }, "Cancel")));
      document.body.append(dlg);
      dlg.showModal();
      input.focus();
    });
  }

  async neighbor(which) {
    const n = await api.get(`/api/images/${this.image.id}/neighbors`);
    if (n[which]) this.go(`#/images/${n[which]}`);
    else toast(`no ${which === "next" ? "next" : "previous"} image`);
  }

  // ------------------------------------------------------------------ keyboard
  onKey(e) {
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT") && e.key !== "Escape") return;
    if (document.querySelector("dialog[open]")) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && key === "z") { e.preventDefault(); if (e.shiftKey) this.model.redo(); else this.model.undo(); return; }
    if (mod && key === "y") { e.preventDefault(); this.model.redo(); return; }
    if (mod && key === "s") { e.preventDefault(); this.save(); return; }
    if (mod || e.altKey) return;
    if (e.shiftKey && /^Digit[123]$/.test(e.code)) { this.setView(VIEWS[Number(e.code.slice(5)) - 1]); e.preventDefault(); return; }
    if (key === " ") { this.spaceDown = true; const up = (ev) => { if (ev.key === " ") { this.spaceDown = false; window.removeEventListener("keyup", up); } }; window.addEventListener("keyup", up); e.preventDefault(); return; }
    if (key === "Enter") {
      if (this.tool === "polygon" && this.poly.points.length >= 3) this.commitPolygon(e.shiftKey);
      else if (this.assist.proposal) this.acceptProposal(e.shiftKey);
      e.preventDefault();
      return;
    }
    if (key === "Escape") {
      if (this.poly.points.length) this.poly = { points: [], closed: false, drag: -1 };
      else this.clearAssist();
      this.requestDraw();
      return;
    }
    if (key === "Backspace" && this.tool === "polygon" && !this.poly.closed) { this.poly.points.pop(); this.requestDraw(); return; }
    if ((key === "Delete" || key === "Backspace") && this.selected) {
      const id = this.selected;
      this.segEdit("delete", () => this.model.deleteSegment(id));
      return;
    }
    const tool = TOOLS.find((x) => x.key === key);
    if (tool) { this.setTool(tool.name); return; }
    if (key === "[") { this.brush = Math.max(1, Math.round(this.brush / 1.25)); this.sizeInput.value = this.brush; this.sizeLabel.textContent = `${this.brush}px`; this.requestDraw(); return; }
    if (key === "]") { this.brush = Math.min(500, Math.round(this.brush * 1.25) + 1); this.sizeInput.value = this.brush; this.sizeLabel.textContent = `${this.brush}px`; this.requestDraw(); return; }
    if (key === "n") { this.wantNew = true; this.selectSegment(null); toast("next stroke starts a new object"); return; }
    if (key === "m" && this.protectBox) { this.protect = !this.protect; this.protectBox.checked = this.protect; toast(this.protect ? "protecting labeled pixels" : "new paint takes pixels from others"); return; }
    if (key === "o") { const cb = this.root.querySelector("#show-unlabeled"); cb.checked = !cb.checked; cb.dispatchEvent(new Event("change")); return; }
    if (key === "l" && this.selected) { const s = this.model.byId.get(this.selected); this.segEdit("lock", () => this.model.updateSegment(s.id, { locked: !s.locked })); return; }
    if (key === "?") { this.showHelp(); return; }
    const cls = this.classes.find((c) => c.hotkey && c.hotkey === key);
    if (cls) this.setActiveClass(cls.category_id);
  }
}
