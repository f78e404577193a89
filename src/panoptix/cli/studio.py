"""``panoptix studio``: run the labeling studio, or export a project from the command line.

``panoptix studio [PROJECT_DIR]`` serves (the ``serve`` subcommand is implied), and
``panoptix studio export PROJECT_DIR --to FORMAT OUT`` writes a project's labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from .common import console, handle_errors

__all__ = ["register", "studio_app"]


class _ServeByDefault(TyperGroup):
    """``panoptix studio X ...`` means ``panoptix studio serve X ...`` unless X is a subcommand."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


studio_app = typer.Typer(cls=_ServeByDefault, help="The labeling studio (browser UI + API).",
                         add_completion=False, pretty_exceptions_enable=False)


def _settings(project_dir: Path, db: Optional[str], images: List[Path], **kw):
    from ..studio.config import StudioSettings

    return StudioSettings(project_dir, db_url=db, roots=list(images), **kw)


@studio_app.command("serve")
@handle_errors
def serve_cmd(
    project_dir: Path = typer.Argument(Path("."), help="Folder of the studio (database, default image folders); "
                                                       "with --demo, ./studio-demo by default."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default: PROJECT_DIR/panoptix-studio.db; "
                                                         "e.g. postgresql+psycopg://user:pass@host/db)."),
    admin_password: Optional[str] = typer.Option(None, help="Password of the first admin (else one is generated "
                                                            "and printed once)."),
    images: List[Path] = typer.Option([], "--images", help="Extra folder that image roots may point into "
                                                           "(repeatable)."),
    demo: bool = typer.Option(False, "--demo", help="Open a panoptic project over the bundled sample images."),
    sam: Optional[str] = typer.Option(None, "--sam", help="SAM model for the point/box assist."),
    text_model: Optional[str] = typer.Option(None, "--text-model", help="Text-prompt segmentation model."),
    max_upload_mb: float = typer.Option(64, help="Largest accepted upload, in MiB."),
):
    """Serve the studio (creates the database and the first admin on first run)."""
    from ..studio.server import SAMPLE, serve

    if demo and project_dir == Path("."):
        project_dir = Path("studio-demo")  # keep the demo's database out of the current folder
    roots = list(images) + ([SAMPLE] if demo else [])
    settings = _settings(project_dir, db, roots, sam_model=sam, text_model=text_model,
                         max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    serve(settings, host, port, admin_password=admin_password, demo=demo, echo=console.print)


@studio_app.command("export")
@handle_errors
def export_cmd(
    project_dir: Path = typer.Argument(..., help="Folder of the studio (holds its database)."),
    out: Path = typer.Argument(..., help="Where to write (file or folder, as the format wants)."),
    to: str = typer.Option(..., "--to", help="Format, one of those panoptix.io writes (coco-panoptic, ...)."),
    project: Optional[str] = typer.Option(None, "--project", "-p", help="Project name or id (needed when the "
                                                                         "studio has several)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default: PROJECT_DIR/panoptix-studio.db)."),
    status: List[str] = typer.Option([], "--status", help="Only images with this status (repeatable)."),
):
    """Export a project's labels with panoptix.io (same result as the UI's Export button)."""
    from sqlalchemy import select

    from ..core.errors import PanoptixError
    from ..studio import models as m
    from ..studio.db import Database
    from ..studio.services import write_export

    settings = _settings(project_dir, db, [])
    if db is None and not (settings.project_dir / "panoptix-studio.db").exists():
        raise PanoptixError("no studio database here (panoptix-studio.db); give --db or the right folder",
                            file=str(project_dir))
    bad = [s for s in status if s not in m.STATUSES]
    if bad:
        raise PanoptixError(f"unknown status {bad[0]!r} (one of {', '.join(m.STATUSES)})")
    database = Database(settings.db_url)
    database.upgrade()
    with database.session() as s:
        rows = s.execute(select(m.Project).order_by(m.Project.id)).scalars().all()
        if project is not None:
            chosen = [p for p in rows if p.name == project or str(p.id) == project]
        else:
            chosen = rows
        if not chosen:
            raise PanoptixError(f"no project {project!r}" if project else "the studio has no project yet")
        if len(chosen) > 1:
            raise PanoptixError("the studio has several projects; pick one with --project: "
                                + ", ".join(f"{p.id} {p.name!r}" for p in chosen))
        pid, name = chosen[0].id, chosen[0].name
    write_export(database, pid, to, out, status or None)
    console.print(f"exported project {name!r} as {to} to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(studio_app, name="studio")
