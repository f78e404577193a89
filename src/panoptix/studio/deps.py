"""Request dependencies: the database session, the logged-in user, role and membership checks."""

from __future__ import annotations

from typing import Iterator

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .security import hash_token

__all__ = ["COOKIE", "CSRF_HEADER", "get_session", "current_user", "require_role", "get_project",
           "get_image", "is_member", "state"]

#: Name of the HttpOnly login cookie the UI uses.
COOKIE = "panoptix_token"
#: Header the UI adds to every state-changing request made with the cookie (a page on another
#: site cannot add it without a CORS preflight, which this server never grants).
CSRF_HEADER = "X-Panoptix-Request"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def state(request: Request):
    """The app's :class:`~panoptix.studio.app.StudioState` (settings + database)."""
    return request.app.state.studio


def get_session(request: Request) -> Iterator[Session]:
    s = state(request).db.sessions()
    try:
        yield s
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


def _token(request: Request) -> tuple[str | None, bool]:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def current_user(request: Request, session: Session = Depends(get_session)) -> m.User:
    """The user of a valid token (Bearer header or cookie); 401 otherwise."""
    token, from_cookie = _token(request)
    if not token:
        raise HTTPException(401, "not logged in", headers={"WWW-Authenticate": "Bearer"})
    if from_cookie and request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(403, f"cookie-authenticated requests that change data need the {CSRF_HEADER} header")
    row = session.execute(select(m.Token).where(m.Token.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None or row.expires_at < m.utcnow():
        raise HTTPException(401, "session expired or invalid; log in again", headers={"WWW-Authenticate": "Bearer"})
    user = session.get(m.User, row.user_id)
    if user is None or not user.active:
        raise HTTPException(401, "account disabled", headers={"WWW-Authenticate": "Bearer"})
    request.state.token_id = row.id
    return user


def require_role(*roles: str):
    """Dependency factory: 403 unless the user has one of ``roles``."""

    def check(user: m.User = Depends(current_user)) -> m.User:
        if user.role not in roles:
            raise HTTPException(403, f"needs role {' or '.join(roles)} (you are {user.role})")
        return user

    return check


def is_member(session: Session, project_id: int, user: m.User) -> bool:
    if user.role == "admin":
        return True
    return session.get(m.Member, (project_id, user.id)) is not None


def get_project(session: Session, project_id: int, user: m.User) -> m.Project:
    """The project, or 404 when it does not exist or the user is not a member (existence is not leaked)."""
    project = session.get(m.Project, project_id)
    if project is None or not is_member(session, project_id, user):
        raise HTTPException(404, f"no project {project_id}")
    return project


def get_image(session: Session, image_id: int, user: m.User) -> tuple[m.Image, m.Project]:
    image = session.get(m.Image, image_id)
    if image is None or not is_member(session, image.project_id, user):
        raise HTTPException(404, f"no image {image_id}")
    return image, session.get(m.Project, image.project_id)
