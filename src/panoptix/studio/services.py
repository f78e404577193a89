"""The studio's work, apart from HTTP: projects, images, labels, imports, export, evaluation.

Routers and the CLI call these functions; they take a SQLAlchemy session and the
server settings and raise :class:`~panoptix.core.errors.PanoptixError` subclasses for
bad input (the routers turn them into 4xx answers, the CLI into one red line).
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.errors import FormatError, PanoptixError, ValidationError
from ..core.labels import Instances
from ..core.taxonomy import Category, Taxonomy, stable_color
from ..io import files as F
from ..io.dataset import Dataset, ImageInfo, Sample
from . import models as m
from .config import StudioSettings
from .labelstore import KINDS, LabelDoc
from .security import PathError, check_relative, hash_password, is_remote, is_under, join_remote, local_root, \
    resolve_under

__all__ = [
    "ConflictError", "NotAllowedError", "taxonomy_of", "hex_color", "rgb_color", "slugify", "check_image_root",
    "create_project", "add_classes", "image_location", "read_image_array", "read_image_bytes", "add_folder",
    "save_upload", "pick_label", "doc_of", "save_label", "set_status", "export_dataset", "write_export",
    "import_labels", "ensure_admin", "evaluate_project", "WRITE_FORMATS", "write_formats", "derive_kinds",
    "check_server_path", "can_edit", "advise",
]

#: Formats ``panoptix.io.write_dataset`` writes (asked from panoptix.io when it says).
WRITE_FORMATS = ("coco-instances", "coco-panoptic", "semantic-png", "cityscapes", "labelme", "yolo-seg")


class ConflictError(PanoptixError):
    """The request clashes with the current state (stale version, duplicate name...): HTTP 409."""


class NotAllowedError(PanoptixError):
    """The user's role does not allow this (HTTP 403)."""


# --------------------------------------------------------------------------- small helpers
def hex_color(rgb) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``.

    Examples
    --------
    >>> hex_color((255, 0, 16))
    '#ff0010'
    """
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


def rgb_color(hexstr: str) -> tuple[int, int, int]:
    h = hexstr.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def slugify(name: str) -> str:
    """A folder-safe version of a project name.

    Examples
    --------
    >>> slugify("Street scenes / 2024")
    'street-scenes-2024'
    """
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s or "project"


def taxonomy_of(session: Session, project: m.Project) -> Taxonomy:
    """The project's classes as a :class:`~panoptix.core.taxonomy.Taxonomy` (in list order)."""
    rows = session.execute(select(m.ProjectClass).where(m.ProjectClass.project_id == project.id)
                           .order_by(m.ProjectClass.position, m.ProjectClass.id)).scalars().all()
    return Taxonomy([Category(r.category_id, r.name, r.isthing, rgb_color(r.color)) for r in rows])


# --------------------------------------------------------------------------- projects
def check_image_root(settings: StudioSettings, root: str, *, create: bool = False) -> str:
    """An image root the server may read: an fsspec URL (when allowed) or a folder under the allowed roots."""
    if is_remote(root):
        if not settings.allow_remote:
            raise PathError("remote image roots are disabled on this server", file=root)
        return str(root).rstrip("/")
    path = local_root(root) if os.path.isabs(os.path.expanduser(str(root).replace("file://", ""))) \
        else local_root(str(settings.project_dir / root))
    if not is_under(path, settings.roots):
        raise PathError("image root is outside the folders this server may read "
                        f"({', '.join(str(r) for r in settings.roots)}; add one with --images)", file=root)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    if not path.is_dir():
        raise PathError("image root is not a folder", file=root)
    return str(path)


def add_classes(session: Session, project: m.Project, classes) -> list[m.ProjectClass]:
    """Add classes (``ClassIn``-like objects); ids default to the next free id, colours to a stable one."""
    rows = session.execute(select(m.ProjectClass).where(m.ProjectClass.project_id == project.id)).scalars().all()
    ids = {r.category_id for r in rows}
    names = {r.name for r in rows}
    keys = {r.hotkey for r in rows if r.hotkey}
    pos = max((r.position for r in rows), default=-1) + 1
    # Panoptic id 0 is VOID; semantic projects may use class 0 (often "background").
    first_free = 0 if project.kind == "semantic" else 1
    out = []
    for c in classes:
        cid = c.category_id
        if cid is None:
            cid = max(ids, default=first_free - 1) + 1
        if cid == 0 and project.kind != "semantic":
            raise ValidationError("class id 0 is reserved for unlabeled pixels (VOID) in this project kind")
        if cid in ids:
            raise ConflictError(f"class id {cid} already exists")
        if c.name in names:
            raise ConflictError(f"class name {c.name!r} already exists")
        if c.hotkey and c.hotkey in keys:
            raise ConflictError(f"hotkey {c.hotkey!r} is already used by another class")
        isthing = bool(c.isthing)
        if project.kind == "instance" and not isthing:
            raise ValidationError(f"instance projects label things only; {c.name!r} cannot be stuff")
        row = m.ProjectClass(project_id=project.id, category_id=cid, name=c.name,
                             color=(c.color or hex_color(stable_color(cid))).lower(), isthing=isthing,
                             hotkey=c.hotkey or None, position=pos)
        pos += 1
        ids.add(cid)
        names.add(c.name)
        if c.hotkey:
            keys.add(c.hotkey)
        session.add(row)
        out.append(row)
    session.flush()
    return out


def create_project(session: Session, settings: StudioSettings, data, user: m.User | None) -> m.Project:
    """Create a project from a ``ProjectCreate``-like object; the kind comes from ``kind`` or the answers."""
    kind = data.kind
    if kind is None:
        if data.answers is None:
            raise ValidationError("give the project kind, or answer the 'which technique?' questions")
        kind = advise(data.answers.model_dump()).kind
    if kind not in KINDS:
        raise ValidationError(f"unknown kind {kind!r}")
    if session.execute(select(m.Project).where(m.Project.name == data.name)).scalar_one_or_none():
        raise ConflictError(f"a project named {data.name!r} already exists")
    if data.image_root:
        root = check_image_root(settings, data.image_root)
    else:
        root = check_image_root(settings, str(settings.project_dir / "images" / slugify(data.name)), create=True)
    gt = data.ground_truth.model_dump() if data.ground_truth is not None else None
    if gt is not None:
        check_server_path(settings, gt["path"])
    project = m.Project(name=data.name, kind=kind, description=data.description or "", image_root=root,
                        ground_truth=gt, created_by=user.id if user else None)
    session.add(project)
    session.flush()
    if data.classes:
        add_classes(session, project, data.classes)
    return project


def advise(answers: dict):
    """``panoptix.viz.advise.advise`` (the one place the rules live)."""
    from ..viz.advise import advise as _advise

    return _advise(**answers)


def check_server_path(settings: StudioSettings, path: str) -> Path:
    """A path on the server given by an admin (imports, ground truth): must lie under the allowed roots."""
    if is_remote(path):
        raise PathError("give a local path for datasets", file=path)
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = settings.project_dir / p
    real = Path(os.path.realpath(p))
    if not is_under(real, settings.roots):
        raise PathError("path is outside the folders this server may read", file=path)
    if not real.exists():
        raise PathError("no such file or folder", file=path)
    return real


# --------------------------------------------------------------------------- images
def image_location(project: m.Project, rel: str) -> str | Path:
    """Where an image lives: a checked local Path, or an fsspec URL for remote roots."""
    if is_remote(project.image_root):
        return join_remote(project.image_root, rel)
    return resolve_under(project.image_root, rel)


def read_image_bytes(project: m.Project, rel: str) -> bytes:
    loc = image_location(project, rel)
    try:
        if isinstance(loc, Path):
            return loc.read_bytes()
        import fsspec

        with fsspec.open(loc, "rb") as fh:
            return fh.read()
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read image: {exc}", file=rel) from None


def read_image_array(project: m.Project, image: m.Image) -> np.ndarray:
    """The image as H×W×3 uint8 (checked against the size recorded at import)."""
    loc = image_location(project, image.path)
    if isinstance(loc, Path):
        arr = F.read_image(loc)
    else:
        arr = F.read_image(io.BytesIO(read_image_bytes(project, image.path)))
    if arr.shape[:2] != (image.height, image.width):
        raise FormatError(f"image is now {arr.shape[1]}x{arr.shape[0]}, it was {image.width}x{image.height} "
                          "when imported", file=image.path, image_id=image.id)
    return arr


def _size_of(fh_or_path) -> tuple[int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            with PILImage.open(fh_or_path) as img:
                w, h = img.size
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
            raise FormatError("image too large (decompression bomb refused)") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise FormatError(f"not a readable image ({exc})") from None
    if w * h > (PILImage.MAX_IMAGE_PIXELS or 2**31):
        raise FormatError("image too large (decompression bomb refused)")
    return int(h), int(w)


def _existing_paths(session: Session, project: m.Project) -> set[str]:
    return set(session.execute(select(m.Image.path).where(m.Image.project_id == project.id)).scalars())


def add_folder(session: Session, project: m.Project, folder: str = "", recursive: bool = True):
    """Reference every image file under ``image_root/folder`` (never copied). ``(added, skipped, messages)``."""
    folder = check_relative(folder)
    known = _existing_paths(session, project)
    found: list[str] = []
    messages: list[str] = []
    if is_remote(project.image_root):
        import fsspec

        url = join_remote(project.image_root, folder)
        fs, base = fsspec.core.url_to_fs(url)
        root_fs, root_path = fsspec.core.url_to_fs(project.image_root)
        listing = fs.find(base) if recursive else [p for p in fs.ls(base, detail=False)]
        for p in sorted(listing):
            if str(p).lower().endswith(F.IMAGE_SUFFIXES):
                rel = str(PurePosixPath(p).relative_to(PurePosixPath(root_path)))
                found.append(rel)
    else:
        base = resolve_under(project.image_root, folder)
        if not base.is_dir():
            raise PathError("not a folder under the image root", file=folder)
        root = local_root(project.image_root)
        walker = os.walk(base, followlinks=False) if recursive else [(str(base), [], os.listdir(base))]
        for dirpath, dirnames, filenames in walker:
            dirnames.sort()
            for name in sorted(filenames):
                if not name.lower().endswith(F.IMAGE_SUFFIXES):
                    continue
                rel = Path(dirpath, name).relative_to(root).as_posix()
                try:
                    resolve_under(project.image_root, rel)  # a symlink out of the root is refused
                except PathError as exc:
                    messages.append(str(exc))
                    continue
                found.append(rel)
    added, skipped = [], 0
    for rel in found:
        if rel in known:
            skipped += 1
            continue
        try:
            loc = image_location(project, rel)
            if isinstance(loc, Path):
                h, w = _size_of(loc)
            else:
                h, w = _size_of(io.BytesIO(read_image_bytes(project, rel)))
        except PanoptixError as exc:
            messages.append(f"{rel}: {exc.message}")
            skipped += 1
            continue
        img = m.Image(project_id=project.id, path=rel, width=w, height=h, status="new", review_comment="")
        session.add(img)
        added.append(img)
        known.add(rel)
    session.flush()
    return added, skipped, messages


_UPLOAD_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


def save_upload(session: Session, settings: StudioSettings, project: m.Project, filename: str, data: bytes
                ) -> m.Image:
    """Check an uploaded file (size, real image by decoding, no bomb) and store it under ``image_root/uploads``."""
    if len(data) > settings.max_upload_bytes:
        raise ValidationError(f"file is larger than the {settings.max_upload_bytes} byte upload limit", file=filename)
    if is_remote(project.image_root):
        raise ValidationError("uploads need a local image root; this project reads a remote one", file=filename)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            with PILImage.open(io.BytesIO(data)) as img:
                fmt = img.format
                w, h = img.size
                if w * h > (PILImage.MAX_IMAGE_PIXELS or 2**31):
                    raise PILImage.DecompressionBombError("too many pixels")
                img.load()  # decode all of it: a truncated or fake file fails here
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
            raise ValidationError("image too large (decompression bomb refused)", file=filename) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValidationError(f"not a readable image ({exc})", file=filename) from None
    if fmt not in _UPLOAD_FORMATS:
        raise ValidationError(f"image format {fmt} is not accepted (use {', '.join(_UPLOAD_FORMATS)})", file=filename)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(str(filename).replace("\\", "/")).stem).strip("._") or "image"
    suffix = _UPLOAD_FORMATS[fmt]
    (local_root(project.image_root) / "uploads").mkdir(parents=True, exist_ok=True)
    folder = resolve_under(project.image_root, "uploads")  # refuses an "uploads" symlink out of the root
    known = _existing_paths(session, project)
    name = f"{stem[:100]}{suffix}"
    k = 1
    while f"uploads/{name}" in known or (folder / name).exists():
        name = f"{stem[:100]}-{k}{suffix}"
        k += 1
    with F.atomic_write(folder / name) as fh:
        fh.write(data)
    img = m.Image(project_id=project.id, path=f"uploads/{name}", width=w, height=h, status="new", review_comment="")
    session.add(img)
    session.flush()
    return img


# --------------------------------------------------------------------------- labels
def doc_of(label: m.Label | None, image: m.Image, kind: str) -> LabelDoc:
    if label is None:
        return LabelDoc.empty(kind, image.height, image.width)
    try:
        return LabelDoc.from_db(kind, image.height, image.width, label.data, label.segments or [])
    except PanoptixError as exc:
        raise exc.at(image_id=image.id) from None


def pick_label(session: Session, image: m.Image, user: m.User) -> tuple[m.Label | None, str]:
    """The label a user opens: their own, else the submitted one, else the latest, else the imported one."""
    rows = session.execute(select(m.Label).where(m.Label.image_id == image.id)
                           .order_by(m.Label.updated_at.desc(), m.Label.id.desc())).scalars().all()
    own = next((r for r in rows if r.user_id == user.id), None)
    if own is not None:
        return own, "own"
    if image.submitted_label_id is not None:
        sub = next((r for r in rows if r.id == image.submitted_label_id), None)
        if sub is not None:
            return sub, "submitted"
    others = [r for r in rows if r.user_id is not None]
    if others:
        return others[0], "other"
    imported = next((r for r in rows if r.user_id is None), None)
    if imported is not None:
        return imported, "imported"
    return None, "empty"


def can_edit(user: m.User, label: m.Label | None, image: m.Image) -> bool:
    """Annotators edit their own labels of images not yet approved; reviewers and admins edit any."""
    if user.role in ("admin", "reviewer"):
        return True
    if image.status == "approved":
        return False
    return label is None or label.user_id == user.id


def save_label(session: Session, image: m.Image, project: m.Project, user: m.User, doc: LabelDoc,
               *, label_id: int | None, version: int) -> m.Label:
    """Store ``doc`` in one transaction; ConflictError (409) when ``version`` is not the stored one.

    ``label_id`` None saves the user's own label (created at version 1 when ``version`` is 0).
    The image moves from new/rejected to in_progress.
    """
    tax = taxonomy_of(session, project)
    doc.validate(tax, image_id=image.id)
    blob, records = doc.to_db()
    now = m.utcnow()
    if label_id is None:
        own = session.execute(select(m.Label).where(m.Label.image_id == image.id, m.Label.user_id == user.id)
                              ).scalar_one_or_none()
        if own is None:
            if version != 0:
                raise ConflictError(f"your label of image {image.id} does not exist any more (version {version} "
                                    "was expected); reload", image_id=image.id)
            if not can_edit(user, None, image):
                raise NotAllowedError("approved images can only be edited by a reviewer", image_id=image.id)
            label = m.Label(image_id=image.id, user_id=user.id, kind=project.kind, version=1, data=blob,
                            segments=records, created_at=now, updated_at=now)
            session.add(label)
            try:
                session.flush()
            except Exception:  # the unique (image, user) constraint: a second tab created it first
                session.rollback()
                raise ConflictError("your label of this image was just created elsewhere; reload",
                                    image_id=image.id) from None
        else:
            label_id = own.id
    if label_id is not None:
        label = session.get(m.Label, label_id)
        if label is None or label.image_id != image.id:
            raise ValidationError(f"no label {label_id} on this image", image_id=image.id)
        if not can_edit(user, label, image):
            raise NotAllowedError("you may only edit your own labels of images that are not approved",
                                  image_id=image.id)
        # Compare-and-swap on the version: a concurrent save makes this match no row.
        from sqlalchemy import update

        res = session.execute(update(m.Label).where(m.Label.id == label_id, m.Label.version == version)
                              .values(data=blob, segments=records, version=m.Label.version + 1, updated_at=now)
                              .execution_options(synchronize_session=False))
        if res.rowcount != 1:
            current = session.execute(select(m.Label.version).where(m.Label.id == label_id)).scalar_one()
            session.rollback()
            raise ConflictError(f"label {label_id} was saved elsewhere (version {current}, you had {version}); "
                                "reload to see the changes", image_id=image.id)
        session.expire(label)
    if image.status in ("new", "rejected"):
        image.status = "in_progress"
    image.updated_at = now
    session.commit()
    return session.get(m.Label, label.id)


_TRANSITIONS = {
    # status -> (roles that may set it, statuses it may come from)
    "in_progress": (("admin", "reviewer", "annotator"), ("new", "rejected", "submitted", "approved")),
    "submitted": (("admin", "reviewer", "annotator"), ("new", "in_progress", "rejected")),
    "approved": (("admin", "reviewer"), ("submitted", "in_progress", "rejected")),
    "rejected": (("admin", "reviewer"), ("submitted", "approved", "in_progress")),
    "new": (("admin",), ("in_progress", "rejected", "submitted", "approved")),
}


def set_status(session: Session, image: m.Image, user: m.User, status: str, comment: str = "",
               label_id: int | None = None) -> m.Image:
    """Move an image through the workflow; records who did it and why."""
    roles, sources = _TRANSITIONS[status]
    if user.role not in roles:
        raise NotAllowedError(f"a {user.role} cannot mark images {status}", image_id=image.id)
    if image.status == status:
        return image
    if image.status not in sources:
        raise ConflictError(f"an image that is {image.status} cannot become {status}", image_id=image.id)
    if user.role == "annotator" and image.status == "approved":
        raise NotAllowedError("approved images can only be reopened by a reviewer", image_id=image.id)
    if status == "rejected" and not comment.strip():
        raise ValidationError("say why the labels are rejected (comment)", image_id=image.id)
    if status == "submitted":
        if label_id is None:
            own = session.execute(select(m.Label).where(m.Label.image_id == image.id, m.Label.user_id == user.id)
                                  ).scalar_one_or_none()
            if own is None:
                raise ValidationError("nothing to submit: save labels first", image_id=image.id)
            label_id = own.id
        label = session.get(m.Label, label_id)
        if label is None or label.image_id != image.id:
            raise ValidationError(f"no label {label_id} on this image", image_id=image.id)
        if user.role == "annotator" and label.user_id != user.id:
            raise NotAllowedError("annotators submit their own labels", image_id=image.id)
        image.submitted_label_id = label.id
    if status in ("approved", "rejected") and image.submitted_label_id is None:
        # Reviewing without a submission: take the label the reviewer looks at.
        if label_id is not None:
            image.submitted_label_id = label_id
    image.status = status
    image.review_comment = comment if status in ("rejected", "approved") else image.review_comment
    image.updated_at = m.utcnow()
    session.add(m.Review(image_id=image.id, user_id=user.id, status=status, comment=comment))
    session.commit()
    return image


# --------------------------------------------------------------------------- export / import
def write_formats() -> tuple[str, ...]:
    """Formats the installed ``panoptix.io`` writes."""
    try:
        from .. import io as pio
    except ImportError:  # pragma: no cover
        return WRITE_FORMATS
    for name in ("WRITE_FORMATS", "WRITERS", "FORMATS"):
        val = getattr(pio, name, None)
        if val:
            return tuple(val)
    return WRITE_FORMATS


def _io_function(name: str):
    from .. import io as pio

    fn = getattr(pio, name, None)
    if fn is None:
        raise PanoptixError(f"panoptix.io.{name} is not available in this installation")
    return fn


def derive_kinds(sample: Sample, kind: str, taxonomy: Taxonomy) -> Sample:
    """Fill the two other label kinds of a studio sample with :mod:`panoptix.convert`.

    Instance projects keep the editor's object order: the first object of the list is on top.
    """
    from .. import convert

    if kind == "instance":
        inst = sample.instances
        sample.semantic = convert.instances_to_semantic(inst, taxonomy, order="given")
        sample.panoptic = convert.instances_to_panoptic(inst, taxonomy, order="given")
        return sample
    for k in convert.KINDS:
        if getattr(sample, k) is None:
            sample = convert.to_kind(sample, k, taxonomy)
    return sample


def _export_label(session: Session, image: m.Image) -> m.Label | None:
    if image.submitted_label_id is not None:
        lab = session.get(m.Label, image.submitted_label_id)
        if lab is not None:
            return lab
    rows = session.execute(select(m.Label).where(m.Label.image_id == image.id)
                           .order_by(m.Label.user_id.is_(None), m.Label.updated_at.desc(), m.Label.id.desc())
                           ).scalars().all()
    return rows[0] if rows else None


def export_dataset(db, project_id: int, statuses=None, *, all_kinds: bool = True) -> Dataset:
    """The project's labels as a lazy :class:`~panoptix.io.dataset.Dataset` (one label per image).

    Per image the label is the submitted one, else the latest saved, else the imported one;
    images without any label are left out, and so are images whose status is not in
    ``statuses`` (all statuses when None). ``ImageInfo.file_name`` is the path under the
    project's image root, ``Dataset.image_root`` that root.
    """
    with db.session() as s:
        project = s.get(m.Project, project_id)
        if project is None:
            raise ValidationError(f"no project {project_id}")
        taxonomy = taxonomy_of(s, project)
        q = select(m.Image).where(m.Image.project_id == project_id).order_by(m.Image.id)
        if statuses:
            q = q.where(m.Image.status.in_(list(statuses)))
        infos, label_of = [], {}
        for img in s.execute(q).scalars():
            lab = _export_label(s, img)
            if lab is None:
                continue
            iid = int(img.source_id) if img.source_id and img.source_id.isdigit() else img.id
            infos.append(ImageInfo(iid, img.path, img.height, img.width))
            label_of[iid] = (img.id, lab.id)
        kind, root, name = project.kind, project.image_root, project.name

    def load(info: ImageInfo) -> Sample:
        image_id, label_id = label_of[info.id]
        with db.session() as s2:
            img, lab = s2.get(m.Image, image_id), s2.get(m.Label, label_id)
            doc = doc_of(lab, img, kind)
        sample = doc.to_sample(info, taxonomy)
        return derive_kinds(sample, kind, taxonomy) if all_kinds else sample

    return Dataset(taxonomy, infos, load, image_root=None if is_remote(root) else root,
                   source=f"studio project {name!r}", format=f"studio-{kind}")


def write_export(db, project_id: int, fmt: str, dst, statuses=None) -> Path:
    """Export with ``panoptix.io.write_dataset`` to ``dst``; returns ``dst``."""
    if fmt not in write_formats():
        raise ValidationError(f"unknown export format {fmt!r} (one of {', '.join(write_formats())})")
    ds = export_dataset(db, project_id, statuses)
    if len(ds) == 0:
        raise ValidationError("nothing to export: no image of the project has labels"
                              + (f" with status {', '.join(statuses)}" if statuses else ""))
    write = _io_function("write_dataset")
    write(ds, dst, fmt)
    return Path(dst)


def import_labels(session: Session, settings: StudioSettings, project: m.Project, path: str,
                  fmt: str | None = None, png_dir: str | None = None) -> tuple[int, int, list[str]]:
    """Read a dataset with ``panoptix.io.read_dataset`` and store its labels as pre-annotations.

    Samples are matched to project images by path, then by file name. Classes the
    project lacks are added (id, name, thing/stuff and colour from the dataset). Labels
    of another kind are converted with :func:`panoptix.convert.to_kind`.
    Returns ``(imported, unmatched, messages)``.
    """
    from .. import convert

    src = check_server_path(settings, path)
    png = str(check_server_path(settings, png_dir)) if png_dir else None
    read = _io_function("read_dataset")
    ds = read(str(src), format=fmt, png_dir=png)
    tax = taxonomy_of(session, project)
    new = [c for c in ds.taxonomy if c.id not in tax]
    if project.kind == "instance":
        new = [c for c in new if c.isthing]
    if new:
        from .schemas import ClassIn

        taken = {c.name for c in tax}
        add_classes(session, project, [ClassIn(category_id=c.id, name=c.name if c.name not in taken else
                                               f"{c.name}-{c.id}", color=hex_color(c.color), isthing=c.isthing)
                                       for c in new])
        tax = taxonomy_of(session, project)
    images = session.execute(select(m.Image).where(m.Image.project_id == project.id)).scalars().all()
    by_path = {i.path: i for i in images}
    by_name: dict[str, list[m.Image]] = {}
    for i in images:
        by_name.setdefault(PurePosixPath(i.path).name, []).append(i)
    attr = "instances" if project.kind == "instance" else project.kind
    done, unmatched, messages = 0, 0, []
    for info in ds.images:
        img = by_path.get(info.file_name)
        if img is None:
            cands = by_name.get(PurePosixPath(info.file_name).name, [])
            img = cands[0] if len(cands) == 1 else None
        if img is None:
            unmatched += 1
            continue
        if (int(info.height), int(info.width)) != (img.height, img.width):
            messages.append(f"{info.file_name}: labels are {info.width}x{info.height}, the image is "
                            f"{img.width}x{img.height}; skipped")
            unmatched += 1
            continue
        sample = ds.load(info)
        sample = convert.to_kind(sample, attr, ds.taxonomy)
        if project.kind == "instance":
            keep = [k for k in range(len(sample.instances)) if int(sample.instances.category_ids[k]) in tax]
            sample.instances = sample.instances[np.asarray(keep, dtype=int)] if keep else \
                sample.instances[np.zeros(0, dtype=int)]
        doc = LabelDoc.from_sample(sample, project.kind, tax)
        doc.validate(tax, image_id=info.id, file=str(src))
        blob, records = doc.to_db()
        old = session.execute(select(m.Label).where(m.Label.image_id == img.id, m.Label.user_id.is_(None))
                              ).scalar_one_or_none()
        now = m.utcnow()
        if old is None:
            session.add(m.Label(image_id=img.id, user_id=None, kind=project.kind, version=1, data=blob,
                                segments=records, created_at=now, updated_at=now))
        else:
            old.data, old.segments, old.version, old.updated_at = blob, records, old.version + 1, now
        if img.source_id is None:
            img.source_id = str(info.id)
        done += 1
    session.commit()
    return done, unmatched, messages


# --------------------------------------------------------------------------- users & evaluation
def ensure_admin(db, password: str | None = None, username: str = "admin") -> str | None:
    """Create the first admin when the database has no user; returns the password used (None if users exist)."""
    with db.session() as s:
        if s.execute(select(func.count()).select_from(m.User)).scalar_one():
            return None
        password = password or secrets.token_urlsafe(12)
        s.add(m.User(username=username, password_hash=hash_password(password), role="admin", active=True))
    return password


def evaluate_project(session: Session, db, settings: StudioSettings, project: m.Project) -> dict:
    """Score the project's labels against its ground truth with :mod:`panoptix.metrics`.

    Only images that have labels and are in the ground truth count. Panoptic: PQ/SQ/RQ
    (:class:`~panoptix.metrics.PanopticEvaluator`); semantic: mIoU and friends
    (:class:`~panoptix.metrics.SemanticEvaluator`); instance: COCO mask AP
    (:class:`~panoptix.metrics.InstanceEvaluator`, every labeled object with score 1).
    """
    if not project.ground_truth:
        raise ValidationError("this project has no ground truth to evaluate against")
    from .. import convert, metrics

    gt_ref = project.ground_truth
    read = _io_function("read_dataset")
    gt = read(str(check_server_path(settings, gt_ref["path"])), format=gt_ref.get("format"),
              png_dir=str(check_server_path(settings, gt_ref["png_dir"])) if gt_ref.get("png_dir") else None)
    pred = export_dataset(db, project.id, all_kinds=False)
    taxonomy = taxonomy_of(session, project)
    if project.kind == "panoptic":
        ev, metric = metrics.PanopticEvaluator(taxonomy), "PQ"
    elif project.kind == "semantic":
        top = max(taxonomy.ids, default=0)
        ev, metric = metrics.SemanticEvaluator(top + 1, ignore_index=taxonomy.ignore_index), "mIoU"
    else:
        ev, metric = metrics.InstanceEvaluator(taxonomy), "AP"
    attr = "instances" if project.kind == "instance" else project.kind
    n = 0
    for info in pred.images:
        try:
            g_info = gt.find(info.file_name)
        except PanoptixError:
            continue
        g = convert.to_kind(gt.load(g_info), attr, gt.taxonomy)
        p = pred.load(info)
        if project.kind == "panoptic":
            ev.update(g.panoptic, p.panoptic, image_id=info.id)
        elif project.kind == "semantic":
            ev.update(g.semantic, p.semantic, image_id=info.id)
        else:
            inst = p.instances
            scored = Instances(inst.rles, inst.height, inst.width, inst.category_ids,
                               scores=np.ones(len(inst)), iscrowd=inst.iscrowd, ids=inst.ids)
            ev.update(g.instances, scored, image_id=info.id)
        n += 1
    if not n:
        raise ValidationError("no labeled image of the project is in the ground truth")
    res = ev.compute()
    keys = {"panoptic": ("PQ", "SQ", "RQ", "PQ_th", "PQ_st"), "semantic": ("mIoU", "pAcc", "mAcc"),
            "instance": ("AP", "AP50", "AP75")}[project.kind]
    summary = {k: (None if res.summary.get(k) is None or res.summary[k] != res.summary[k] else float(res.summary[k]))
               for k in keys if k in res.summary}
    return {"metric": metric, "images": n, "summary": summary}
