"""Fixtures of the studio tests: a real uvicorn server on a free port, over SQLite and PostgreSQL.

The API suite runs once per database backend. SQLite always; PostgreSQL when
``PANOPTIX_TEST_POSTGRES_URL`` is set (each test session works in its own schema and
drops it at the end). On CI (``CI=true``) a missing PostgreSQL URL is an error, not a skip.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

PG_URL = os.environ.get("PANOPTIX_TEST_POSTGRES_URL")
ADMIN_PASSWORD = "admin-password-1"
ON_CI = os.environ.get("CI", "").lower() == "true"
# On CI the PostgreSQL run is mandatory: without a URL its tests fail instead of disappearing.
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL or ON_CI else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_image(path: Path, size=(64, 48), shapes=()) -> Path:
    """A synthetic RGB PNG: dark background, bright rectangles ``(x0, y0, x1, y1, (r, g, b))``."""
    w, h = size
    arr = np.full((h, w, 3), 30, np.uint8)
    for x0, y0, x1, y1, color in shapes:
        arr[y0:y1, x0:x1] = color
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _pg_schema_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


class ServerThread:
    """uvicorn serving an app in a background thread (stopped by :meth:`stop`)."""

    def __init__(self, app, port: int):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("studio server did not start")
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Studio:
    """A running studio: base URL, settings, database, and helpers to act as its users."""

    backend: str
    url: str
    settings: object
    db: object
    project_dir: Path
    data_dir: Path
    _tokens: dict = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def login(self, username: str, password: str) -> str:
        with self.client() as c:
            r = c.post("/api/auth/login", json={"username": username, "password": password})
            assert r.status_code == 200, r.text
            return r.json()["token"]

    @property
    def admin(self) -> httpx.Client:
        if "admin" not in self._tokens:
            self._tokens["admin"] = self.login("admin", ADMIN_PASSWORD)
        return self.client(self._tokens["admin"])

    def user(self, role: str, name: str | None = None) -> tuple[str, str, httpx.Client]:
        """Create a user of ``role``; returns ``(username, password, logged-in client)``."""
        name = name or f"{role}-{secrets.token_hex(3)}"
        password = f"pw-{secrets.token_hex(6)}"
        with self.admin as c:
            r = c.post("/api/users", json={"username": name, "password": password, "role": role})
            assert r.status_code == 201, r.text
        return name, password, self.client(self.login(name, password))

    def project(self, kind: str = "panoptic", classes=None, images: dict | None = None, members=()) -> dict:
        """Create a project with classes and synthetic images under its own image root."""
        name = f"{kind}-{secrets.token_hex(4)}"
        root = self.data_dir / name
        root.mkdir(parents=True)
        for rel, spec in (images or {}).items():
            write_image(root / rel, **spec)
        if classes is None:
            classes = [{"category_id": 1, "name": "cat", "color": "#ff0000", "hotkey": "1"},
                       {"category_id": 2, "name": "dog", "color": "#00ff00", "hotkey": "2"}]
            if kind != "instance":
                classes.append({"category_id": 7, "name": "grass", "color": "#0000ff", "isthing": False,
                                "hotkey": "3"})
        with self.admin as c:
            r = c.post("/api/projects", json={"name": name, "kind": kind, "image_root": str(root), "classes": classes})
            assert r.status_code == 201, r.text
            p = r.json()
            if images:
                r = c.post(f"/api/projects/{p['id']}/images/folder", json={})
                assert r.status_code == 201, r.text
            for m in members:
                assert c.post(f"/api/projects/{p['id']}/members", json={"username": m}).status_code == 201
        p["root"] = root
        return p

    def images(self, project_id: int, client=None) -> list[dict]:
        with (client or self.admin) as c:
            return c.get(f"/api/projects/{project_id}/images").json()["items"]


def runs(ids: np.ndarray) -> dict:
    """The API's row-major run-length form of an id map."""
    from panoptix.studio.labelstore import runs_encode

    v, n = runs_encode(np.asarray(ids))
    return {"values": v.tolist(), "lengths": n.tolist()}


def crop(mask: np.ndarray) -> dict:
    from panoptix.studio.labelstore import mask_to_crop

    return mask_to_crop(mask)


def _start_studio(backend: str, base: Path):
    """Start a studio server over ``backend``; returns ``(studio, stop)``."""
    from sqlalchemy import create_engine, text

    from panoptix.studio.app import create_app
    from panoptix.studio.config import StudioSettings
    from panoptix.studio.db import Database
    from panoptix.studio.server import SAMPLE
    from panoptix.studio.services import ensure_admin

    project_dir, data_dir = base / "studio", base / "data"
    data_dir.mkdir(parents=True)
    schema = None
    url = None
    if backend == "postgres":
        if not PG_URL:
            pytest.fail("CI=true but PANOPTIX_TEST_POSTGRES_URL is not set: the studio API suite must also run "
                        "against PostgreSQL")
        schema = f"studio_test_{secrets.token_hex(4)}"
        eng = create_engine(PG_URL)
        with eng.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        eng.dispose()
        url = _pg_schema_url(PG_URL, schema)
    # Cheap Argon2 parameters: the tests create and log in many users on a small machine.
    settings = StudioSettings(project_dir, db_url=url, roots=[data_dir, SAMPLE], max_upload_bytes=200_000,
                              max_request_bytes=2_000_000,
                              password_cost={"time_cost": 1, "memory_cost": 1024, "parallelism": 1})
    project_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    app = create_app(settings, db=db)
    assert ensure_admin(db, ADMIN_PASSWORD) == ADMIN_PASSWORD
    port = free_port()
    server = ServerThread(app, port)

    def stop():
        server.stop()
        db.dispose()
        if schema:
            eng = create_engine(PG_URL)
            with eng.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            eng.dispose()

    return Studio(backend, f"http://127.0.0.1:{port}", settings, db, project_dir, data_dir), stop


@pytest.fixture(scope="session", params=BACKENDS)
def studio(request, tmp_path_factory):
    """A studio server for the whole session, one per database backend."""
    s, stop = _start_studio(request.param, tmp_path_factory.mktemp(f"studio-{request.param}"))
    yield s
    stop()


@pytest.fixture(scope="session")
def ui_studio(tmp_path_factory):
    """A studio server (SQLite) for the browser tests: the UI does not depend on the database."""
    s, stop = _start_studio("sqlite", tmp_path_factory.mktemp("studio-ui"))
    yield s
    stop()


@pytest.fixture(scope="session")
def helpers():
    """Functions the tests share (importable test modules do not mix with --import-mode=importlib)."""

    class H:
        write_image = staticmethod(write_image)
        runs = staticmethod(runs)
        crop = staticmethod(crop)
        free_port = staticmethod(free_port)
        ServerThread = ServerThread

    return H
