"""Users (admin only), and changing one's own password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import models as m
from ..deps import current_user, get_session, require_role
from ..schemas import UserCreate, UserOut, UserUpdate
from ..security import hash_password

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(user: m.User = Depends(require_role("admin", "reviewer")), session: Session = Depends(get_session)):
    return session.execute(select(m.User).order_by(m.User.id)).scalars().all()


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, user: m.User = Depends(require_role("admin")),
                session: Session = Depends(get_session)):
    if session.execute(select(m.User).where(m.User.username == body.username)).scalar_one_or_none():
        raise HTTPException(409, f"user {body.username!r} already exists")
    row = m.User(username=body.username, password_hash=hash_password(body.password), role=body.role, active=True)
    session.add(row)
    session.commit()
    return row


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: int, body: UserUpdate, user: m.User = Depends(current_user),
                session: Session = Depends(get_session)):
    row = session.get(m.User, user_id)
    if row is None:
        raise HTTPException(404, f"no user {user_id}")
    own = row.id == user.id
    if user.role != "admin" and not (own and body.role is None and body.active is None):
        raise HTTPException(403, "only admins change other users, roles and accounts")
    if own and user.role == "admin" and (body.role not in (None, "admin") or body.active is False):
        raise HTTPException(409, "an admin cannot demote or disable their own account")
    if body.role is not None:
        row.role = body.role
    if body.active is not None:
        row.active = body.active
        if not body.active:
            session.execute(delete(m.Token).where(m.Token.user_id == row.id))
    if body.password is not None:
        row.password_hash = hash_password(body.password)
    session.commit()
    return row
