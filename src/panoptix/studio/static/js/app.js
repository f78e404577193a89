// The studio's pages: login, projects, one project (images, progress, classes, import, export), the editor.

import { api, setUnauthorizedHandler } from "./api.js";
import { h, clear, toast, fmtDate, STATUS_LABELS } from "./ui.js";
import { openEditor } from "./editor/editor.js";

const main = document.getElementById("app");
const nav = document.getElementById("nav");
let me = null;
let editor = null;

setUnauthorizedHandler(() => {
  me = null;
  if (!location.hash.startsWith("#/login")) location.hash = "#/login";
});

function go(hash, replace = false) {
  if (replace) { location.replace(hash); route(); } else location.hash = hash;
}

async function route() {
  if (editor) { const e = editor; editor = null; await e.destroy(); }
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] !== "login" && !me) {
    try { me = await api.get("/api/auth/me"); } catch (e) { return; }
  }
  renderNav();
  document.body.classList.toggle("editing", parts[0] === "images");
  try {
    if (parts[0] === "login") return loginPage();
    if (parts[0] === "users") return usersPage();
    if (parts[0] === "projects" && parts[1] === "new") return newProjectPage();
    if (parts[0] === "projects" && parts[1]) return projectPage(Number(parts[1]), params);
    if (parts[0] === "images" && parts[1]) {
      const root = clear(main);
      editor = await openEditor(root, { imageId: Number(parts[1]), me, go, labelId: params.get("label") });
      return;
    }
    return projectsPage();
  } catch (err) {
    clear(main).append(h("div", { class: "card error" }, h("h2", {}, "Something went wrong"), h("p", {}, err.message)));
  }
}

function renderNav() {
  clear(nav);
  if (!me) return;
  nav.append(...[h("a", { href: "#/" }, "Projects"),
    me.role === "admin" ? h("a", { href: "#/users" }, "Users") : null,
    h("a", { href: "/docs", target: "_blank" }, "API"),
    h("span", { class: "who" }, `${me.username} (${me.role})`),
    h("button", { class: "link", id: "logout", onclick: async () => {
      await api.post("/api/auth/logout").catch(() => {});
      me = null;
      go("#/login");
    } }, "Log out")].filter(Boolean));
}

// ------------------------------------------------------------------ login
function loginPage() {
  const user = h("input", { name: "username", id: "username", autocomplete: "username", required: true });
  const pass = h("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card narrow", id: "login-form", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await api.post("/api/auth/login", { username: user.value, password: pass.value });
      me = r.user;
      go("#/");
    } catch (err) { toast(err.message, "error"); }
  } }, h("h2", {}, "Log in to panoptix studio"),
  h("label", { for: "username" }, "Username"), user, h("label", { for: "password" }, "Password"), pass,
  h("button", { class: "primary", type: "submit" }, "Log in"));
  clear(main).append(form);
  user.focus();
}

// ------------------------------------------------------------------ projects
async function projectsPage() {
  const projects = await api.get("/api/projects");
  const list = projects.length ? h("table", { class: "table", id: "projects" },
    h("tr", {}, h("th", {}, "Project"), h("th", {}, "Kind"), h("th", {}, "Images"), h("th", {}, "Approved"), h("th", {}, "")),
    projects.map((p) => h("tr", {},
      h("td", {}, h("a", { href: `#/projects/${p.id}` }, p.name)), h("td", {}, p.kind), h("td", {}, p.images),
      h("td", {}, `${p.by_status.approved || 0}`),
      h("td", {}, h("a", { href: `#/projects/${p.id}` }, "open")))))
    : h("p", { class: "muted" }, me.role === "admin" ? "No project yet." : "You are not a member of any project yet.");
  clear(main).append(h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h2", {}, "Projects"),
      me.role === "admin" ? h("a", { class: "button primary", href: "#/projects/new", id: "new-project" }, "New project") : null),
    list));
}

const QUESTIONS = [
  ["every_pixel", "Does every pixel of the image need a label (background included)?"],
  ["separate_objects", "Must objects of the same class be told apart (counted, measured one by one)?"],
  ["overlaps", "Can objects overlap, with each one needing its whole shape?"],
  ["scores", "Does each object need a confidence score?"],
  ["countable_and_background", "Do your classes mix countable things (people, cars) and background (road, sky)?"],
];

function newProjectPage() {
  const name = h("input", { id: "p-name", required: true });
  const kinds = ["panoptic", "instance", "semantic"].map((k) => h("label", { class: "radio" },
    h("input", { type: "radio", name: "kind", value: k, checked: k === "panoptic" }), k));
  const answers = QUESTIONS.map(([k, q]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: k }), q));
  const advice = h("p", { id: "advice", class: "muted" });
  const root = h("input", { id: "p-root", placeholder: "default: a new folder in the studio folder" });
  const classes = h("textarea", { id: "p-classes", rows: "5", placeholder: "one class per line: name[, stuff][, #rrggbb][, hotkey]\ne.g.\nperson, , #dc143c, 1\nsky, stuff" });
  const form = h("form", { class: "card", id: "new-project-form", onsubmit: async (e) => {
    e.preventDefault();
    const kind = form.querySelector("input[name=kind]:checked").value;
    const cls = classes.value.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
      const [n, stuff, color, hotkey] = line.split(",").map((s) => (s || "").trim());
      return { name: n, isthing: stuff !== "stuff", color: color || null, hotkey: hotkey || null };
    });
    try {
      const p = await api.post("/api/projects", { name: name.value, kind, image_root: root.value || null, classes: cls });
      go(`#/projects/${p.id}`);
    } catch (err) { toast(err.message, "error"); }
  } },
  h("h2", {}, "New project"), h("label", { for: "p-name" }, "Name"), name,
  h("fieldset", {}, h("legend", {}, "Kind"), kinds),
  h("details", { id: "which" }, h("summary", {}, "Not sure? Answer five questions"), answers,
    h("button", { type: "button", id: "btn-advise", onclick: async () => {
      const body = {};
      for (const [k] of QUESTIONS) body[k] = form.querySelector(`input[name=${k}]`).checked;
      const a = await api.post("/api/advise", body);
      advice.textContent = `${a.kind}: ${a.reason}. Metric: ${a.metric}.`;
      form.querySelector(`input[name=kind][value=${a.kind}]`).checked = true;
    } }, "Advise"), advice),
  h("label", { for: "p-root" }, "Image root (a folder on the server, or an fsspec URL)"), root,
  h("label", { for: "p-classes" }, "Classes (more can be added later)"), classes,
  h("button", { class: "primary", type: "submit", id: "create-project" }, "Create"));
  clear(main).append(h("div", { class: "page" }, form));
}

// ------------------------------------------------------------------ one project
async function projectPage(pid, params) {
  const status = params.get("status") || "";
  const [project, classes, page, stats] = await Promise.all([
    api.get(`/api/projects/${pid}`), api.get(`/api/projects/${pid}/classes`),
    api.get(`/api/projects/${pid}/images?limit=500${status ? `&status=${status}` : ""}`),
    api.get(`/api/projects/${pid}/stats`)]);
  const admin = me.role === "admin";
  const reviewer = admin || me.role === "reviewer";
  const bar = h("div", { class: "progress", id: "progress", title: "images per status" },
    Object.entries(stats.by_status).map(([s, n]) => n ? h("span", { class: `seg ${s}`, style: { flex: String(n) } }, `${STATUS_LABELS[s]} ${n}`) : null));
  const dashboard = h("section", { class: "card", id: "dashboard" }, h("h3", {}, "Progress"), bar,
    h("p", {}, `${stats.labeled_images} of ${stats.images} images labeled · ${stats.segments} segments · `,
      h("b", {}, `${Math.round(stats.progress * 100)}% approved`)),
    stats.users.length ? h("table", { class: "table small" }, h("tr", {}, h("th", {}, "user"), h("th", {}, "labels"), h("th", {}, "submitted"), h("th", {}, "approved")),
      stats.users.map((u) => h("tr", {}, h("td", {}, u.username), h("td", {}, u.labels), h("td", {}, u.submitted), h("td", {}, u.approved)))) : null,
    project.ground_truth ? h("div", { class: "row" }, h("button", { id: "btn-evaluate", onclick: async (e) => {
      try {
        const r = await api.post(`/api/projects/${pid}/evaluate`);
        e.target.nextSibling.textContent = `${r.metric} vs ground truth over ${r.images} image(s): ` +
          Object.entries(r.summary).map(([k, v]) => `${k} ${v === null ? "n/a" : v.toFixed(3)}`).join(", ");
      } catch (err) { toast(err.message, "error"); }
    } }, "Evaluate against ground truth"), h("span", { id: "evaluation" })) : null);

  const filter = h("select", { id: "status-filter", onchange: (e) => go(`#/projects/${pid}${e.target.value ? `?status=${e.target.value}` : ""}`) },
    h("option", { value: "" }, "all statuses"), Object.keys(STATUS_LABELS).map((s) => h("option", { value: s, selected: s === status }, STATUS_LABELS[s])));
  const images = h("section", { class: "card" }, h("div", { class: "page-head" }, h("h3", {}, `Images (${page.total})`), filter),
    page.items.length ? h("table", { class: "table", id: "images" },
      h("tr", {}, h("th", {}, ""), h("th", {}, "Image"), h("th", {}, "Size"), h("th", {}, "Status"), h("th", {}, "Updated")),
      page.items.map((im) => h("tr", { "data-image": String(im.id) },
        h("td", {}, h("img", { class: "thumb", loading: "lazy", src: `/api/images/${im.id}/file`, alt: "" })),
        h("td", {}, h("a", { href: `#/images/${im.id}` }, im.path)), h("td", {}, `${im.width}×${im.height}`),
        h("td", {}, h("span", { class: `badge ${im.status}` }, STATUS_LABELS[im.status])), h("td", {}, fmtDate(im.updated_at)))))
      : h("p", { class: "muted" }, "No images yet."));

  const classTable = h("table", { class: "table small", id: "classes" },
    h("tr", {}, h("th", {}, ""), h("th", {}, "id"), h("th", {}, "name"), h("th", {}, "kind"), h("th", {}, "key"), admin ? h("th", {}, "") : null),
    classes.map((c) => h("tr", {}, h("td", {}, h("span", { class: "swatch", style: { background: c.color } })),
      h("td", {}, c.category_id), h("td", {}, c.name), h("td", {}, c.isthing ? "thing" : "stuff"), h("td", {}, c.hotkey || ""),
      admin ? h("td", {}, h("button", { class: "icon", title: "delete", onclick: async () => {
        try { await api.del(`/api/projects/${pid}/classes/${c.id}`); route(); } catch (err) { toast(err.message, "error"); }
      } }, "✕")) : null)));
  const classForm = admin ? h("form", { class: "row wrap", id: "class-form", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      await api.post(`/api/projects/${pid}/classes`, [{ name: f.cname.value, color: f.ccolor.value,
        isthing: project.kind === "instance" || !f.cstuff.checked, hotkey: f.ckey.value || null }]);
      route();
    } catch (err) { toast(err.message, "error"); }
  } }, h("input", { name: "cname", placeholder: "class name", required: true }),
  h("input", { name: "ccolor", type: "color", value: "#e6194b" }),
  project.kind !== "instance" ? h("label", { class: "check" }, h("input", { type: "checkbox", name: "cstuff" }), "stuff") : null,
  h("input", { name: "ckey", placeholder: "key", maxlength: "1", size: "3" }), h("button", { type: "submit" }, "Add class")) : null;
  const classesCard = h("section", { class: "card" }, h("h3", {}, `Classes (${classes.length})`),
    h("div", { class: "scroll" }, classTable), classForm);

  const side = [];
  if (admin) {
    const folder = h("input", { id: "folder", placeholder: "sub-folder of the image root (empty = all)" });
    const files = h("input", { id: "upload", type: "file", multiple: true, accept: "image/*" });
    const annPath = h("input", { id: "ann-path", placeholder: "server path of an annotation file or folder" });
    const annFormat = h("input", { id: "ann-format", placeholder: "format (optional, e.g. coco-panoptic)" });
    const annPng = h("input", { id: "ann-png", placeholder: "PNG folder (panoptic, optional)" });
    side.push(h("section", { class: "card", id: "import" }, h("h3", {}, "Import"),
      h("p", { class: "muted small" }, `Image root: ${project.image_root}`),
      h("div", { class: "row" }, folder, h("button", { id: "btn-folder", onclick: async () => {
        try {
          const r = await api.post(`/api/projects/${pid}/images/folder`, { folder: folder.value, recursive: true });
          toast(`added ${r.added} image(s), skipped ${r.skipped}`); route();
        } catch (err) { toast(err.message, "error"); }
      } }, "Add folder")),
      h("div", { class: "row" }, files, h("button", { id: "btn-upload", onclick: async () => {
        if (!files.files.length) return;
        const fd = new FormData();
        for (const f of files.files) fd.append("files", f);
        try { const r = await api.upload(`/api/projects/${pid}/images/upload`, fd); toast(`uploaded ${r.added}`); route(); }
        catch (err) { toast(err.message, "error"); }
      } }, "Upload")),
      h("p", { class: "muted small" }, "Pre-annotations (any format panoptix reads):"),
      annPath, annFormat, annPng, h("button", { id: "btn-import-labels", onclick: async () => {
        try {
          const r = await api.post(`/api/projects/${pid}/labels/import`, { path: annPath.value, format: annFormat.value || null, png_dir: annPng.value || null });
          toast(`imported labels of ${r.added} image(s); ${r.skipped} not matched`); route();
        } catch (err) { toast(err.message, "error"); }
      } }, "Import labels")));
    const members = await api.get(`/api/projects/${pid}/members`);
    const who = h("input", { id: "member-name", placeholder: "username" });
    side.push(h("section", { class: "card", id: "members" }, h("h3", {}, "Members"),
      h("ul", {}, members.map((u) => h("li", {}, `${u.username} (${u.role})`))),
      h("div", { class: "row" }, who, h("button", { onclick: async () => {
        try { await api.post(`/api/projects/${pid}/members`, { username: who.value }); route(); } catch (err) { toast(err.message, "error"); }
      } }, "Add member"))));
  }
  if (reviewer) {
    const formats = await api.get("/api/export/formats");
    const fmt = h("select", { id: "export-format" }, formats.map((f) => h("option", { value: f }, f)));
    const only = h("select", { id: "export-status" }, h("option", { value: "" }, "all labeled images"),
      h("option", { value: "approved" }, "approved only"));
    side.push(h("section", { class: "card", id: "export" }, h("h3", {}, "Export"), h("div", { class: "row" }, fmt, only,
      h("button", { id: "btn-export", onclick: async () => {
        try {
          const res = await api.blob(`/api/projects/${pid}/export`, { format: fmt.value, statuses: only.value ? [only.value] : null });
          const blob = await res.blob();
          const a = h("a", { href: URL.createObjectURL(blob), download: `${project.name}-${fmt.value}.zip` });
          document.body.append(a); a.click(); a.remove();
        } catch (err) { toast(err.message, "error"); }
      } }, "Download"))));
  }
  clear(main).append(h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h2", { id: "project-name" }, project.name), h("span", { class: "tag" }, project.kind)),
    project.description ? h("p", { class: "muted" }, project.description) : null,
    h("div", { class: "grid" }, h("div", {}, dashboard, images), h("div", {}, classesCard, side))));
}

// ------------------------------------------------------------------ users
async function usersPage() {
  const users = await api.get("/api/users");
  const form = h("form", { class: "row wrap", id: "user-form", onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      await api.post("/api/users", { username: f.uname.value, password: f.upass.value, role: f.urole.value });
      route();
    } catch (err) { toast(err.message, "error"); }
  } }, h("input", { name: "uname", placeholder: "username", required: true }),
  h("input", { name: "upass", type: "password", placeholder: "password (8+ characters)", required: true, minlength: "8" }),
  h("select", { name: "urole" }, ["annotator", "reviewer", "admin"].map((r) => h("option", { value: r }, r))),
  h("button", { type: "submit" }, "Create user"));
  clear(main).append(h("div", { class: "page" }, h("h2", {}, "Users"),
    h("table", { class: "table", id: "users" }, h("tr", {}, h("th", {}, "user"), h("th", {}, "role"), h("th", {}, "active")),
      users.map((u) => h("tr", {}, h("td", {}, u.username), h("td", {}, u.role), h("td", {}, u.active ? "yes" : "no")))),
    h("section", { class: "card" }, h("h3", {}, "New user"), form)));
}

window.addEventListener("hashchange", route);
route();
