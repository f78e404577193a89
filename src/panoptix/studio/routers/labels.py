"""Labels of one image: load, save (versioned), list, compare (agreement), import pre-annotations."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import models as m
from .. import services as S
from ..agreement import agreement as compute_agreement
from ..deps import current_user, get_image, get_project, get_session, require_role, state
from ..labelstore import LabelDoc
from ..schemas import AgreementOut, ImportOut, LabelImportIn, LabelIn, LabelOut, LabelSummary, SavedOut

router = APIRouter(prefix="/api", tags=["labels"])


def _may_read(user: m.User, label: m.Label, image: m.Image) -> bool:
    if user.role in ("admin", "reviewer") or label.user_id in (None, user.id):
        return True
    return label.id == image.submitted_label_id


def _summary(session: Session, label: m.Label, image: m.Image) -> LabelSummary:
    author = session.get(m.User, label.user_id).username if label.user_id else None
    return LabelSummary(id=label.id, author=author, version=label.version, segments=len(label.segments or []),
                        updated_at=label.updated_at, submitted=label.id == image.submitted_label_id)


@router.get("/images/{image_id}/label", response_model=LabelOut)
def load_label(image_id: int, label_id: int | None = None, user: m.User = Depends(current_user),
               session: Session = Depends(get_session)):
    """The label to open: ``label_id``, else your own, else the submitted, latest or imported one.

    ``id`` is null when you have no label of your own yet: save with ``version`` 0 to create it.
    """
    image, project = get_image(session, image_id, user)
    if label_id is not None:
        label = session.get(m.Label, label_id)
        if label is None or label.image_id != image.id or not _may_read(user, label, image):
            raise HTTPException(404, f"no label {label_id} on image {image_id}")
        source = "own" if label.user_id == user.id else ("imported" if label.user_id is None else "other")
    else:
        label, source = S.pick_label(session, image, user)
    doc = S.doc_of(label, image, project.kind)
    # Someone else's or imported labels open as a starting point for your own (saved as a new label),
    # except for reviewers/admins, who edit the label they opened.
    edits_in_place = label is not None and (label.user_id == user.id or
                                            (user.role in ("admin", "reviewer") and label.user_id is not None))
    body = {
        "id": label.id if edits_in_place else None,
        "image_id": image.id,
        "author": (session.get(m.User, label.user_id).username if label and label.user_id else None),
        "version": label.version if edits_in_place else 0,
        "kind": project.kind, "width": image.width, "height": image.height,
        "editable": S.can_edit(user, label if edits_in_place else None, image),
        "source": source,
        **doc.to_api(),
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.put("/images/{image_id}/label", response_model=SavedOut)
def save_label(image_id: int, body: LabelIn, label_id: int | None = None, user: m.User = Depends(current_user),
               session: Session = Depends(get_session)):
    """Save a label in one transaction. ``version`` must be the version you loaded (409 otherwise)."""
    image, project = get_image(session, image_id, user)
    doc = LabelDoc.from_api(body.model_dump(), project.kind, image.height, image.width)
    label = S.save_label(session, image, project, user, doc, label_id=label_id, version=body.version)
    session.refresh(image)
    return SavedOut(id=label.id, version=label.version, status=image.status)


@router.get("/images/{image_id}/labels", response_model=list[LabelSummary])
def list_labels(image_id: int, user: m.User = Depends(current_user), session: Session = Depends(get_session)):
    image, _ = get_image(session, image_id, user)
    rows = session.execute(select(m.Label).where(m.Label.image_id == image.id).order_by(m.Label.id)).scalars().all()
    return [_summary(session, r, image) for r in rows if _may_read(user, r, image)]


@router.get("/images/{image_id}/agreement", response_model=AgreementOut)
def agreement(image_id: int, a: int = Query(...), b: int = Query(...),
              user: m.User = Depends(require_role("admin", "reviewer")), session: Session = Depends(get_session)):
    """Agreement of two labels of one image: PQ (panoptic), mean mask IoU (instance), mIoU (semantic)."""
    image, project = get_image(session, image_id, user)
    la, lb = session.get(m.Label, a), session.get(m.Label, b)
    for lid, lab in ((a, la), (b, lb)):
        if lab is None or lab.image_id != image.id:
            raise HTTPException(404, f"no label {lid} on image {image_id}")
    tax = S.taxonomy_of(session, project)
    res = compute_agreement(project.kind, S.doc_of(la, image, project.kind), S.doc_of(lb, image, project.kind), tax)
    value = res["value"]
    return AgreementOut(metric=res["metric"], value=None if value != value else value,
                        a=_summary(session, la, image), b=_summary(session, lb, image), details=res["details"])


@router.post("/projects/{project_id}/labels/import", response_model=ImportOut, status_code=201)
def import_labels(project_id: int, body: LabelImportIn, user: m.User = Depends(require_role("admin")),
                  session: Session = Depends(get_session), st=Depends(state)):
    """Pre-annotations from any format ``panoptix.io`` reads (matched to images by file name)."""
    p = get_project(session, project_id, user)
    done, unmatched, messages = S.import_labels(session, st.settings, p, body.path, body.format, body.png_dir)
    return ImportOut(added=done, skipped=unmatched, messages=messages)
