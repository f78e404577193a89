"""Images: folder references, uploads (limits, type check, bombs), serving, path traversal."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image


def _png_bytes(w=16, h=12, color=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), color, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png(w=40000, h=40000) -> bytes:
    """A tiny PNG whose header claims 1.6 gigapixels (all-zero rows compress to almost nothing)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = zlib.compress(b"\x00" * (w // 8 + 1) * 16)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def test_folder_import_references_files_in_place(studio, helpers):
    p = studio.project("panoptic", images={"a.png": {"size": (20, 10)}, "sub/b.jpg": {"size": (30, 15)}})
    (p["root"] / "notes.txt").write_text("not an image")
    (p["root"] / "broken.png").write_bytes(b"\x89PNG not really")
    with studio.admin as c:
        imgs = c.get(f"/api/projects/{p['id']}/images").json()
        assert sorted(i["path"] for i in imgs["items"]) == ["a.png", "sub/b.jpg"]
        b = next(i for i in imgs["items"] if i["path"] == "sub/b.jpg")
        assert (b["width"], b["height"], b["status"]) == (30, 15, "new")
        again = c.post(f"/api/projects/{p['id']}/images/folder", json={}).json()
        # Known files are skipped; the unreadable PNG is reported, not imported.
        assert again["added"] == 0 and any("broken.png" in m for m in again["messages"])
        served = c.get(f"/api/images/{b['id']}/file")
        assert served.status_code == 200 and served.content == (p["root"] / "sub" / "b.jpg").read_bytes()
    # Nothing was copied into the studio folder.
    assert not list(studio.project_dir.rglob("b.jpg"))


def test_folder_import_refuses_traversal_and_absolute_paths(studio):
    p = studio.project("panoptic", images={"a.png": {}})
    with studio.admin as c:
        for bad in ("../", "../../etc", "/etc", "sub/../../x", "C:\\Windows"):
            r = c.post(f"/api/projects/{p['id']}/images/folder", json={"folder": bad})
            assert r.status_code == 400, (bad, r.text)
            assert "image root" in r.json()["detail"] or "absolute" in r.json()["detail"]


def test_symlinks_out_of_the_root_are_refused(studio, tmp_path, helpers):
    outside = helpers.write_image(tmp_path / "secret.png")
    p = studio.project("panoptic", images={"a.png": {}})
    os.symlink(outside, p["root"] / "link.png")
    os.symlink(tmp_path, p["root"] / "linkdir")
    with studio.admin as c:
        r = c.post(f"/api/projects/{p['id']}/images/folder", json={}).json()
        assert r["added"] == 0 and any("link.png" in m for m in r["messages"])
        assert c.post(f"/api/projects/{p['id']}/images/folder", json={"folder": "linkdir"}).status_code == 400
        names = [i["path"] for i in c.get(f"/api/projects/{p['id']}/images").json()["items"]]
        assert names == ["a.png"]
    # A file that becomes a symlink to the outside after import is refused when served.
    image = studio.images(p["id"])[0]
    os.replace(p["root"] / "a.png", p["root"] / "a-moved.png")
    os.symlink(outside, p["root"] / "a.png")
    with studio.admin as c:
        r = c.get(f"/api/images/{image['id']}/file")
        assert r.status_code == 404 and "leaves the image root" in r.json()["detail"]


def test_image_roots_must_lie_in_allowed_folders(studio, tmp_path):
    with studio.admin as c:
        r = c.post("/api/projects", json={"name": "escape", "kind": "semantic", "image_root": "/etc"})
        assert r.status_code == 400 and "outside" in r.json()["detail"]
        r = c.post("/api/projects", json={"name": "escape2", "kind": "semantic", "image_root": str(tmp_path)})
        assert r.status_code == 400
        r = c.post("/api/projects", json={"name": "escape3", "kind": "semantic",
                                          "image_root": str(studio.data_dir / ".." / "..")})
        assert r.status_code == 400


def test_upload_checks_type_size_and_bombs(studio):
    p = studio.project("panoptic")
    url = f"/api/projects/{p['id']}/images/upload"
    with studio.admin as c:
        ok = c.post(url, files=[("files", ("../../evil name.png", _png_bytes(), "image/png"))])
        assert ok.status_code == 201, ok.text
        img = ok.json()["images"][0]
        # The name is sanitised and the file stays under the image root.
        assert img["path"] == "uploads/evil_name.png" and (img["width"], img["height"]) == (16, 12)
        assert (p["root"] / "uploads" / "evil_name.png").read_bytes() == _png_bytes()
        twin = c.post(url, files=[("files", ("evil name.png", _png_bytes(color=(1, 2, 3)), "image/png"))]).json()
        assert twin["images"][0]["path"] == "uploads/evil_name-1.png"
        fake = c.post(url, files=[("files", ("x.png", b"GIF89a not a png at all", "image/png"))])
        assert fake.status_code == 422 and "not a readable image" in fake.json()["detail"]
        big = c.post(url, files=[("files", ("big.png", b"\0" * 250_000, "image/png"))])
        assert big.status_code == 413
        bomb = c.post(url, files=[("files", ("bomb.png", _bomb_png(), "image/png"))])
        assert bomb.status_code == 422 and "decompression bomb" in bomb.json()["detail"]
        gif = io.BytesIO()
        Image.new("RGB", (4, 4)).save(gif, format="GIF")
        refused = c.post(url, files=[("files", ("a.gif", gif.getvalue(), "image/gif"))])
        assert refused.status_code == 422 and "not accepted" in refused.json()["detail"]
        names = sorted(i["path"] for i in c.get(f"/api/projects/{p['id']}/images").json()["items"])
        assert names == ["uploads/evil_name-1.png", "uploads/evil_name.png"]


def test_request_body_limit(studio):
    with studio.admin as c:
        r = c.post("/api/auth/login", content=b"x" * (studio.settings.max_request_bytes + 1),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_listing_filters_and_neighbors(studio):
    p = studio.project("semantic", images={f"{k}.png": {} for k in "abcd"})
    with studio.admin as c:
        page = c.get(f"/api/projects/{p['id']}/images", params={"limit": 2, "offset": 1}).json()
        assert page["total"] == 4 and [i["path"] for i in page["items"]] == ["b.png", "c.png"]
        q = c.get(f"/api/projects/{p['id']}/images", params={"q": "d."}).json()
        assert [i["path"] for i in q["items"]] == ["d.png"]
        ids = [i["id"] for i in c.get(f"/api/projects/{p['id']}/images").json()["items"]]
        n = c.get(f"/api/images/{ids[1]}/neighbors").json()
        assert n == {"prev": ids[0], "next": ids[2]}
        assert c.get(f"/api/images/{ids[-1]}/neighbors").json()["next"] is None


def test_upload_folder_symlinked_out_of_the_root_is_refused(studio, tmp_path):
    p = studio.project("panoptic")
    os.symlink(tmp_path, p["root"] / "uploads")
    with studio.admin as c:
        r = c.post(f"/api/projects/{p['id']}/images/upload", files=[("files", ("a.png", _png_bytes(), "image/png"))])
        assert r.status_code == 400 and "leaves the image root" in r.json()["detail"]
    assert list(tmp_path.iterdir()) == []


def test_fsspec_image_root(studio):
    """An fsspec URL as image root (memory:// here: the server runs in this process)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    base = f"memory://studio-{os.getpid()}/imgs"
    with fs.open(f"{base}/a.png", "wb") as fh:
        fh.write(_png_bytes(20, 10))
    with fs.open(f"{base}/sub/b.png", "wb") as fh:
        fh.write(_png_bytes(8, 6))
    with fs.open(f"{base}/notes.txt", "wb") as fh:
        fh.write(b"text")
    with studio.admin as c:
        p = c.post("/api/projects", json={"name": f"remote-{os.getpid()}", "kind": "semantic", "image_root": base,
                                          "classes": [{"name": "red"}]}).json()
        r = c.post(f"/api/projects/{p['id']}/images/folder", json={}).json()
        assert r["added"] == 2, r
        items = c.get(f"/api/projects/{p['id']}/images").json()["items"]
        assert sorted((i["path"], i["width"], i["height"]) for i in items) == [("a.png", 20, 10), ("sub/b.png", 8, 6)]
        a = next(i for i in items if i["path"] == "a.png")
        assert c.get(f"/api/images/{a['id']}/file").content == _png_bytes(20, 10)
        wand = c.post(f"/api/images/{a['id']}/assist", json={"tool": "magic_wand", "points": [{"x": 3, "y": 3}]})
        assert wand.json()["area"] == 200
        assert c.post(f"/api/projects/{p['id']}/images/folder", json={"folder": "../x"}).status_code == 400
        up = c.post(f"/api/projects/{p['id']}/images/upload", files=[("files", ("u.png", _png_bytes(), "image/png"))])
        assert up.status_code == 422 and "local image root" in up.json()["detail"]
