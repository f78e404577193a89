"""End to end in real headless Chromium: log in, create a panoptic project, import images, draw,
assist, switch views, submit, review, export COCO panoptic, check the export and re-import it."""

from __future__ import annotations

import io
import re
import secrets
import zipfile

import numpy as np
import pytest
from playwright.sync_api import expect

from panoptix.io import read_dataset
from panoptix.studio.labelstore import crop_to_mask, runs_decode

pytestmark = pytest.mark.browser

W, H = 160, 120
SQUARE = (100, 20, 140, 60)  # the bright object the magic wand should find exactly


class Page:
    """A Playwright page with helpers that speak image coordinates."""

    def __init__(self, page, base):
        self.page, self.base = page, base
        self.errors = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, username, password):
        p = self.page
        p.goto(self.base + "/#/login")
        p.fill("#username", username)
        p.fill("#password", password)
        p.click("#login-form button[type=submit]")
        expect(p.locator("#nav .who")).to_contain_text(username)

    def open_image(self, image_id):
        self.page.goto(f"{self.base}/#/images/{image_id}")
        expect(self.page.locator("#app[data-ready='1']")).to_be_attached(timeout=15000)

    def xy(self, x, y):
        """Screen position of image pixel (x, y) (its centre)."""
        c = self.page.locator("#view")
        box = c.bounding_box()
        zoom = float(c.get_attribute("data-zoom"))
        return (box["x"] + float(c.get_attribute("data-pan-x")) + (x + 0.5) * zoom,
                box["y"] + float(c.get_attribute("data-pan-y")) + (y + 0.5) * zoom)

    def click(self, x, y, **kw):
        self.page.mouse.click(*self.xy(x, y), **kw)

    def drag(self, points):
        m = self.page.mouse
        m.move(*self.xy(*points[0]))
        m.down()
        for pt in points[1:]:
            m.move(*self.xy(*pt), steps=4)
        m.up()

    def key(self, k):
        self.page.locator("#view").focus()
        self.page.keyboard.press(k)

    def objects(self):
        return self.page.locator("#object-list .obj")

    def saved(self):
        expect(self.page.locator("#save-status")).to_have_text(re.compile(r"^saved v\d+"), timeout=15000)


def _make_images(root):
    from PIL import Image

    arr = np.full((H, W, 3), 40, np.uint8)
    arr[:, :, 1] = np.linspace(30, 90, W, dtype=np.uint8)[None, :]  # a gentle gradient: not one flat colour
    x0, y0, x1, y1 = SQUARE
    arr[y0:y1, x0:x1] = (240, 210, 30)
    root.mkdir(parents=True)
    Image.fromarray(arr).save(root / "scene.png")
    Image.fromarray(arr[::-1].copy()).save(root / "second.png")


def test_label_review_export_in_the_browser(ui_studio, browser, tmp_path):
    s = ui_studio
    root = s.data_dir / f"imgs-{secrets.token_hex(3)}"
    _make_images(root)
    rev_name, rev_pw, _ = s.user("reviewer")
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    ui = Page(ctx.new_page(), s.url)
    p = ui.page
    ui.login("admin", "admin-password-1")

    # Create a panoptic project with three classes through the form.
    p.click("#new-project")
    name = f"ui-{secrets.token_hex(3)}"
    p.fill("#p-name", name)
    p.check("input[name=kind][value=panoptic]")
    p.fill("#p-root", str(root))
    p.fill("#p-classes", "cat, , #ff0000, 1\ngrass, stuff, #00aa00, 3\ndog, , #0000ff, 2")
    p.click("#create-project")
    expect(p.locator("#project-name")).to_have_text(name)
    # Reference the images of the folder, add the reviewer as a member.
    p.click("#btn-folder")
    expect(p.locator("#images tr[data-image]")).to_have_count(2)
    p.fill("#member-name", rev_name)
    p.click("#members button")
    expect(p.locator("#members li")).to_have_count(1)
    p.click("#images a:text('scene.png')")
    expect(p.locator("#app[data-ready='1']")).to_be_attached(timeout=15000)
    image_id = int(p.url.rsplit("/", 1)[1])

    # Polygon (cat): four clicks, close on the first vertex, move one vertex, Enter.
    ui.key("1")
    ui.key("p")
    poly = [(10, 10), (60, 10), (60, 50), (10, 50)]
    for x, y in poly + [poly[0]]:
        ui.click(x, y)
    ui.drag([(60, 50), (70, 60)])
    ui.key("Enter")
    expect(ui.objects()).to_have_count(1)
    # Brush stroke (grass, a stuff class) across the bottom, then fill the band below it.
    ui.key("3")
    ui.key("b")
    p.fill("#brush-size", "12")
    ui.drag([(0, 100), (80, 100), (159, 100)])
    expect(ui.objects()).to_have_count(2)
    ui.key("f")
    ui.click(80, 115)
    # Assist: magic wand from one positive click (dog).
    ui.key("2")
    ui.key("a")
    p.select_option("#assist-method", "magic_wand")
    ui.click(120, 40)
    expect(p.locator("#view[data-assist='ready']")).to_be_attached(timeout=20000)
    ui.key("Enter")
    expect(ui.objects()).to_have_count(3)
    # Undo and redo the assist.
    ui.key("Control+z")
    expect(ui.objects()).to_have_count(2)
    ui.key("Control+Shift+z")
    expect(ui.objects()).to_have_count(3)
    # The three views of the same labels.
    for view, key in (("semantic", "Shift+Digit1"), ("instance", "Shift+Digit2"), ("panoptic", "Shift+Digit3")):
        ui.key(key)
        expect(p.locator(f".editor[data-view='{view}']")).to_be_attached()
    p.click("button[data-view='semantic']")
    expect(p.locator("button[data-view='semantic'].active")).to_be_attached()
    p.click("button[data-view='panoptic']")
    ui.saved()
    p.click("#btn-submit")
    expect(p.locator("#image-status")).to_have_text("submitted")
    assert ui.errors == []

    # The stored label: cat polygon, grass stroke, dog square exactly.
    with s.admin as c:
        doc = c.get(f"/api/images/{image_id}/label").json()
    ids = runs_decode(doc["map"]["values"], doc["map"]["lengths"], W * H).reshape(H, W)
    cats = {seg["id"]: seg["category_id"] for seg in doc["segments"]}
    with s.admin as c:
        pid = c.get(f"/api/images/{image_id}").json()["project_id"]
        by_name = {cl["name"]: cl["category_id"] for cl in c.get(f"/api/projects/{pid}/classes").json()}
    masks = {name: np.isin(ids, [k for k, v in cats.items() if v == cid]) for name, cid in by_name.items()}
    x0, y0, x1, y1 = SQUARE
    dog = np.zeros((H, W), bool)
    dog[y0:y1, x0:x1] = True
    assert np.array_equal(masks["dog"], dog)
    # The polygon with its moved vertex: (10,10) (60,10) (70,60) (10,50), area 2450 by the shoelace formula.
    assert abs(int(masks["cat"].sum()) - 2450) <= 150 and masks["cat"][30, 35] and masks["cat"][55, 64]
    assert masks["grass"][100, 80] and masks["grass"][115, 80] and masks["grass"][119, 0]
    assert not masks["grass"][50, 80] and not masks["grass"][80, 80]

    # The reviewer approves and exports COCO panoptic from the UI.
    p.click("#logout")
    expect(p.locator("#login-form")).to_be_visible()
    ui.login(rev_name, rev_pw)
    ui.open_image(image_id)
    expect(p.locator("#image-status")).to_have_text("submitted")
    p.click("#btn-approve")
    expect(p.locator("#image-status")).to_have_text("approved")
    p.goto(f"{s.url}/#/projects/{pid}")
    p.select_option("#export-format", "coco-panoptic")
    with p.expect_download() as dl:
        p.click("#btn-export")
    data = open(dl.value.path(), "rb").read()
    out = s.data_dir / f"export-{secrets.token_hex(3)}"
    zipfile.ZipFile(io.BytesIO(data)).extractall(out)
    ds = read_dataset(out / "panoptic.json", format="coco-panoptic")
    (sample,) = list(ds)
    assert sample.image.file_name == "scene.png"
    assert sample.panoptic.problems(ds.taxonomy, image_id=sample.image.id) == []
    exported = {ds.taxonomy[seg.category_id].name: sample.panoptic.ids == seg.id for seg in sample.panoptic.segments}
    assert set(exported) == {"cat", "grass", "dog"}
    for cls in exported:
        assert np.array_equal(exported[cls], masks[cls]), cls
    assert ui.errors == []
    ctx.close()

    # Re-import the export into a new project: the same labels.
    with s.admin as c:
        q = c.post("/api/projects", json={"name": f"re-{name}", "kind": "panoptic", "image_root": str(root)}).json()
        c.post(f"/api/projects/{q['id']}/images/folder", json={})
        r = c.post(f"/api/projects/{q['id']}/labels/import", json={"path": str(out / "panoptic.json")}).json()
        assert r["added"] == 1
        img = next(i for i in c.get(f"/api/projects/{q['id']}/images").json()["items"] if i["path"] == "scene.png")
        back = c.get(f"/api/images/{img['id']}/label").json()
        names = {cl["category_id"]: cl["name"] for cl in c.get(f"/api/projects/{q['id']}/classes").json()}
    bids = runs_decode(back["map"]["values"], back["map"]["lengths"], W * H).reshape(H, W)
    for seg in back["segments"]:
        assert np.array_equal(bids == seg["id"], masks[names[seg["category_id"]]])


def test_instance_project_overlaps_and_conflicts(ui_studio, browser):
    s = ui_studio
    p_info = s.project("instance", images={"a.png": {"size": (W, H)}})
    image_id = s.images(p_info["id"])[0]["id"]
    ctx = browser.new_context(viewport={"width": 1300, "height": 850})
    ui = Page(ctx.new_page(), s.url)
    ui.login("admin", "admin-password-1")
    ui.open_image(image_id)
    ui.key("1")
    ui.key("b")
    ui.page.fill("#brush-size", "20")
    ui.drag([(20, 60), (90, 60)])
    ui.key("n")  # the next stroke starts a new object
    ui.key("2")
    ui.drag([(70, 40), (70, 100)])
    expect(ui.objects()).to_have_count(2)
    # Lock the first object, then erase across both: only the selected (second) one loses pixels.
    ui.page.locator("#object-list .obj").nth(0).locator("button[data-act=lock]").click()
    expect(ui.page.locator("#object-list .obj").nth(0).locator("button[data-act=lock]")).to_have_class(re.compile("on"))
    ui.page.locator("#object-list .obj").nth(1).click()
    ui.key("e")
    ui.drag([(60, 95), (80, 95)])
    ui.saved()
    with s.admin as c:
        doc = c.get(f"/api/images/{image_id}/label").json()
    a = crop_to_mask(doc["masks"][str(doc["segments"][0]["id"])], H, W)
    b = crop_to_mask(doc["masks"][str(doc["segments"][1]["id"])], H, W)
    assert (a & b)[60, 70]  # the two objects overlap
    assert a[60, 20] and a[60, 90] and not b[95, 70] and b[50, 70]
    assert doc["segments"][0]["locked"] is True

    # A second tab edits the same label; the first tab's next save is refused and says so.
    other = Page(ctx.new_page(), s.url)
    other.open_image(image_id)
    other.key("b")
    other.drag([(10, 10), (30, 10)])
    other.saved()
    ui.key("b")
    ui.drag([(100, 110), (130, 110)])
    expect(ui.page.locator("#save-status")).to_have_text("conflict", timeout=15000)
    expect(ui.page.locator("#banner")).to_contain_text("saved elsewhere")
    # Keep mine: overwrite with this tab's labels.
    ui.page.click("#banner button:text('Keep mine')")
    ui.saved()
    assert ui.errors == [] and other.errors == []
    ctx.close()
