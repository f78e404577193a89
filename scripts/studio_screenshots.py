"""Screenshots of the studio editor for the README, taken in headless Chromium.

Starts a studio over the bundled sample (the demo project), imports the sample's COCO
panoptic ground truth as pre-annotations, opens the first image and photographs the
editor in each view of the same labels, plus the project page::

    .venv/bin/python scripts/studio_screenshots.py [--out docs/images]

Writes ``studio-panoptic.png``, ``studio-semantic.png``, ``studio-instance.png`` and
``studio-project.png``, shrunk to 1400 px wide with 256 colours (~0.3 MB each instead of ~1 MB).
"""

from __future__ import annotations

import argparse
import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _save_small(png_bytes: bytes, path: Path, width: int = 1400) -> None:
    """A screenshot at ``width`` px with a 256-colour palette: the README loads fast, and the
    flat UI colours and label fills survive the palette."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    img.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print("wrote", path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = ap.parse_args()

    import httpx
    import uvicorn
    from playwright.sync_api import expect, sync_playwright

    from panoptix.studio.app import create_app
    from panoptix.studio.config import StudioSettings
    from panoptix.studio.server import SAMPLE, prepare, setup_demo

    work = Path(tempfile.mkdtemp(prefix="studio-shots-"))
    password = secrets.token_urlsafe(10)
    settings = StudioSettings(work, roots=[SAMPLE])
    db, _ = prepare(settings, password)
    pid = setup_demo(db, settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db=db, migrate=False), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": password}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        r = api.post(f"/api/projects/{pid}/labels/import", json={"path": str(SAMPLE / "panoptic.json"),
                                                                "format": "coco-panoptic",
                                                                "png_dir": str(SAMPLE / "panoptic")})
        r.raise_for_status()
        image = api.get(f"/api/projects/{pid}/images").json()["items"][0]
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 860})
            page.goto(f"{base}/#/login")
            page.fill("#username", "admin")
            page.fill("#password", password)
            page.click("#login-form button[type=submit]")
            expect(page.locator("#nav .who")).to_be_visible()
            page.goto(f"{base}/#/images/{image['id']}")
            expect(page.locator("#app[data-ready='1']")).to_be_attached(timeout=30000)
            page.fill("#opacity", "62")
            # Select one person so the object list and the outline show a selection.
            page.locator("#object-list .obj .obj-id").nth(2).click()
            for view in ("panoptic", "semantic", "instance"):
                page.click(f"button[data-view='{view}']")
                page.wait_for_timeout(300)
                _save_small(page.screenshot(), args.out / f"studio-{view}.png")
            page.goto(f"{base}/#/projects/{pid}")
            expect(page.locator("#dashboard")).to_be_visible()
            page.wait_for_timeout(500)
            _save_small(page.screenshot(), args.out / "studio-project.png")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
