"""How the studio copes with a 4K image holding hundreds of objects.

Server side: the label document codec (JSON run-lengths for the browser, PNG for the
database) on a 3840x2160 panoptic map with N segments. Browser side (headless Chromium):
opening the editor on that label, switching views (a full re-render), and brush strokes
(each pointer move paints a dab and redraws only the touched rectangle)::

    .venv/bin/python benchmarks/studio_editor.py [--objects 300] [--no-browser]
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

W, H = 3840, 2160


def synthetic_label(n: int, seed: int = 0):
    """A panoptic map: 6 stuff bands and ``n`` thing ellipses."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((H, W), np.int64)
    segs = []
    for k in range(6):
        ids[k * H // 6:(k + 1) * H // 6] = k + 1
        segs.append({"id": k + 1, "category_id": 100 + k})
    yy, xx = np.ogrid[:H, :W]
    for j in range(n):
        cx, cy = rng.integers(0, W), rng.integers(0, H)
        rx, ry = rng.integers(20, 160), rng.integers(20, 160)
        x0, x1, y0, y1 = max(0, cx - rx), min(W, cx + rx), max(0, cy - ry), min(H, cy + ry)
        sub = ((xx[:, x0:x1] - cx) / rx) ** 2 + ((yy[y0:y1] - cy) / ry) ** 2 <= 1
        ids[y0:y1, x0:x1][sub] = 7 + j
        segs.append({"id": 7 + j, "category_id": 1 + j % 5})
    present = set(np.unique(ids).tolist())
    return ids, [s for s in segs if s["id"] in present]


def timed(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def server_side(ids, segs):
    import orjson

    from panoptix.studio.labelstore import LabelDoc

    doc = LabelDoc("panoptic", H, W, segs, ids=ids)
    t_api, api = timed(doc.to_api)
    body = orjson.dumps(api)
    t_parse, _ = timed(lambda: LabelDoc.from_api(orjson.loads(body), "panoptic", H, W))
    t_db, (blob, recs) = timed(doc.to_db)
    t_load, _ = timed(lambda: LabelDoc.from_db("panoptic", H, W, blob, recs))
    print(f"server  segments={len(segs)}  runs={len(api['map']['values'])}  JSON={len(body) / 1e6:.1f} MB  "
          f"PNG={len(blob) / 1e6:.2f} MB")
    print(f"  to_api (runs) {t_api * 1e3:7.1f} ms   from_api {t_parse * 1e3:7.1f} ms   "
          f"to_db (PNG) {t_db * 1e3:7.1f} ms   from_db {t_load * 1e3:7.1f} ms")


def browser_side(ids, segs):
    import httpx
    import uvicorn
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from panoptix.studio.app import create_app
    from panoptix.studio.config import StudioSettings
    from panoptix.studio.labelstore import runs_encode
    from panoptix.studio.server import prepare

    work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    root = work / "images"
    root.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (H // 8, W // 8, 3), np.uint8)).resize((W, H)).save(root / "4k.jpg")
    pw = secrets.token_urlsafe(8)
    settings = StudioSettings(work)
    db, _ = prepare(settings, pw)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db=db, migrate=False), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    tok = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": pw}).json()["token"]
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=300)
    classes = [{"category_id": c, "name": f"thing{c}"} for c in range(1, 6)] + \
        [{"category_id": 100 + k, "name": f"stuff{k}", "isthing": False} for k in range(6)]
    p = api.post("/api/projects", json={"name": "bench", "kind": "panoptic", "image_root": str(root),
                                        "classes": classes}).json()
    api.post(f"/api/projects/{p['id']}/images/folder", json={})
    iid = api.get(f"/api/projects/{p['id']}/images").json()["items"][0]["id"]
    v, n = runs_encode(ids)
    t = time.perf_counter()
    r = api.put(f"/api/images/{iid}/label", json={"version": 0, "segments": segs,
                                                  "map": {"values": v.tolist(), "lengths": n.tolist()}})
    r.raise_for_status()
    print(f"browser (headless Chromium, software rendering)\n  PUT label over HTTP {1e3 * (time.perf_counter() - t):.0f} ms")
    with sync_playwright() as pwr:
        b = pwr.chromium.launch(executable_path="/usr/bin/chromium",
                                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        ctx = b.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)  # lets us time in the page
        page = ctx.new_page()
        page.goto(f"{base}/#/login")
        page.fill("#username", "admin")
        page.fill("#password", pw)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#nav .who")).to_be_visible()
        t = time.perf_counter()
        page.goto(f"{base}/#/images/{iid}")
        expect(page.locator("#app[data-ready='1']")).to_be_attached(timeout=120000)
        print(f"  open editor (GET label, decode, first render) {1e3 * (time.perf_counter() - t):.0f} ms")
        inside = page.evaluate("""() => {
          const e = window.panoptixEditor, r = e.renderer, m = e.model, W = m.width, H = m.height, out = {};
          let t = performance.now(); r.rebuild(); out.rebuild = performance.now() - t;
          t = performance.now(); e.renderObjects(); out.objects = performance.now() - t;
          t = performance.now(); m.toApi(); out.toApi = performance.now() - t;
          t = performance.now(); e.draw(); out.draw = performance.now() - t;
          e.activeClass = 1; e.tool = "brush"; e.brush = 40; m.begin("bench"); e.pointer = { seg: e.target().id };
          t = performance.now();
          for (let k = 0; k < 200; k++) e.dab([300 + 5 * k, 300 + k], [305 + 5 * k, 302 + k]);
          out.dab = (performance.now() - t) / 200;
          m.commit();
          t = performance.now(); m.undo(); out.undo = performance.now() - t;
          return out; }""")
        print(f"  in the page: full re-render {inside['rebuild']:.0f} ms, object list {inside['objects']:.0f} ms, "
              f"save encoding {inside['toApi']:.0f} ms, one frame {inside['draw']:.1f} ms, "
              f"brush dab (40 px, paint + partial redraw) {inside['dab']:.2f} ms, undo of 200 dabs {inside['undo']:.0f} ms")
        frame = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(0))))"
        views = []
        for view in ("semantic", "instance", "panoptic") * 2:
            t = time.perf_counter()
            page.click(f"button[data-view='{view}']")
            page.evaluate(frame)
            views.append(time.perf_counter() - t)
        print(f"  switch view (full 8.3 Mpx re-render) median {1e3 * statistics.median(views):.0f} ms")
        page.keyboard.press("1")
        page.keyboard.press("b")
        page.fill("#brush-size", "40")
        c = page.locator("#view").bounding_box()
        page.mouse.move(c["x"] + 200, c["y"] + 200)
        page.mouse.down()
        moves = 120
        t = time.perf_counter()
        for k in range(moves):
            page.mouse.move(c["x"] + 200 + 6 * k, c["y"] + 200 + 2 * k)
        page.evaluate(frame)
        per = (time.perf_counter() - t) / moves
        page.mouse.up()
        print(f"  brush stroke driven by Playwright: {1e3 * per:.1f} ms per pointer move (includes the CDP round trip)")
        t = time.perf_counter()
        page.keyboard.press("Control+z")
        page.evaluate(frame)
        print(f"  undo of the stroke {1e3 * (time.perf_counter() - t):.0f} ms")
        b.close()
    server.should_exit = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=300)
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args()
    ids, segs = synthetic_label(a.objects)
    server_side(ids, segs)
    if not a.no_browser:
        browser_side(ids, segs)


if __name__ == "__main__":
    main()
