"""Assisted labeling: classical tools (GrabCut, superpixels, magic wand), SAM and text when configured."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from .. import models as m
from .. import services as S
from ..assist import Prompt, available_tools, run_tool
from ..deps import current_user, get_image, get_session, state
from ..labelstore import mask_to_crop
from ..schemas import AssistIn, AssistOut

router = APIRouter(prefix="/api", tags=["assist"])


@router.get("/assist/tools")
def tools(user: m.User = Depends(current_user), st=Depends(state)) -> list[dict]:
    """The assist tools this server can run."""
    return available_tools(st.settings)


@router.post("/images/{image_id}/assist", response_model=AssistOut)
def assist(image_id: int, body: AssistIn, user: m.User = Depends(current_user),
           session: Session = Depends(get_session), st=Depends(state)):
    """One proposed mask from points (positive/negative), a box or a text prompt."""
    image, project = get_image(session, image_id, user)
    pixels = S.read_image_array(project, image)
    prompt = Prompt(points=[(p.x, p.y, p.positive) for p in body.points],
                    box=tuple(body.box) if body.box else None, text=body.text, tolerance=body.tolerance,
                    superpixel_size=body.superpixel_size)
    mask = run_tool(body.tool, pixels, prompt, st.settings, key=f"{image.id}:{image.path}")
    return AssistOut(tool=body.tool, mask=mask_to_crop(mask), area=int(mask.sum()))
