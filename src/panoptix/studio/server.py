"""Running the studio: first-run admin, the demo project, uvicorn."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ..core.taxonomy import Taxonomy
from ..io.files import read_json
from . import models as m
from . import services as S
from .config import StudioSettings
from .db import Database
from .schemas import ClassIn, GroundTruthRef, ProjectCreate

__all__ = ["SAMPLE", "prepare", "setup_demo", "serve"]

#: The bundled sample (two COCO val2017 images with panoptic ground truth).
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"

# Hotkeys for the demo's most common classes (the rest are picked from the list).
_DEMO_HOTKEYS = {"person": "1", "car": "2", "dog": "3", "cat": "4", "chair": "5", "sky-other-merged": "6",
                 "tree-merged": "7", "grass-merged": "8", "road": "9", "wall-other-merged": "0"}


def prepare(settings: StudioSettings, admin_password: str | None = None) -> tuple[Database, str | None]:
    """Open (and migrate) the database; create the first admin. Returns ``(db, new_admin_password)``."""
    settings.project_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    db.upgrade()
    return db, S.ensure_admin(db, admin_password)


def setup_demo(db: Database, settings: StudioSettings, sample: Path = SAMPLE, name: str = "demo") -> int:
    """Create (once) a panoptic project over the bundled sample images, with its classes and ground truth.

    Returns the project id. ``settings.roots`` must include ``sample``.
    """
    sample = Path(sample).resolve()
    with db.session() as s:
        existing = s.execute(select(m.Project).where(m.Project.name == name)).scalar_one_or_none()
        if existing is not None:
            return existing.id
        tax = Taxonomy.from_coco(read_json(sample / "panoptic.json")["categories"])
        classes = [ClassIn(category_id=c.id, name=c.name, color=S.hex_color(c.color), isthing=c.isthing,
                           hotkey=_DEMO_HOTKEYS.get(c.name)) for c in tax]
        data = ProjectCreate(name=name, kind="panoptic", image_root=str(sample / "images"), classes=classes,
                             description="Label the two COCO sample images, export, and evaluate against the "
                                         "bundled ground truth (Evaluate button).",
                             ground_truth=GroundTruthRef(path=str(sample / "panoptic.json"), format="coco-panoptic",
                                                         png_dir=str(sample / "panoptic")))
        admin = s.execute(select(m.User).where(m.User.role == "admin").order_by(m.User.id)).scalars().first()
        project = S.create_project(s, settings, data, admin)
        added, _, _ = S.add_folder(s, project)
        # Keep the COCO image ids, so exports line up with the ground truth.
        coco_ids = {i["file_name"]: i["id"] for i in read_json(sample / "panoptic.json")["images"]}
        for img in added:
            if img.path in coco_ids:
                img.source_id = str(coco_ids[img.path])
        return project.id


def serve(settings: StudioSettings, host: str = "127.0.0.1", port: int = 8000, *, admin_password: str | None = None,
          demo: bool = False, echo=print) -> None:
    """Prepare the database and run the server until interrupted."""
    import uvicorn

    from .app import create_app

    db, password = prepare(settings, admin_password)
    if password is not None:
        if admin_password:
            echo("created user 'admin' with the password you gave")
        else:
            echo(f"created user 'admin' with password: {password}   (shown once; change it in the UI)")
    if demo:
        pid = setup_demo(db, settings)
        echo(f"demo project ready: http://{host}:{port}/#/projects/{pid}")
    app = create_app(settings, db=db, migrate=False)
    echo(f"panoptix studio on http://{host}:{port}/  (API docs: http://{host}:{port}/docs, "
         f"database: {db._safe_url()})")
    uvicorn.run(app, host=host, port=port, log_level="warning")
