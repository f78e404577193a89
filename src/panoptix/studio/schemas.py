"""Typed request and response bodies of the studio API (pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["admin", "annotator", "reviewer"]
Kind = Literal["semantic", "instance", "panoptic"]
Status = Literal["new", "in_progress", "submitted", "approved", "rejected"]

# Keys the editor keeps for its tools and views; a class hotkey may not take them.
RESERVED_KEYS = frozenset("vhpbefaxnlom[]")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- auth & users -------------------------------------------------------------------
class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(_Out):
    id: int
    username: str
    role: Role
    active: bool


class LoginOut(BaseModel):
    token: str
    user: UserOut


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=1024)
    role: Role = "annotator"


class UserUpdate(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    active: bool | None = None


# -- projects & classes ---------------------------------------------------------------
class AdviseIn(BaseModel):
    """The "which technique?" questions (see ``panoptix.viz.advise``)."""

    every_pixel: bool
    separate_objects: bool
    overlaps: bool = False
    scores: bool = False
    countable_and_background: bool = False


class AdviseOut(BaseModel):
    kind: Kind
    reason: str
    annotation: str = ""
    metric: str = ""
    notes: list[str] = []


class ClassIn(BaseModel):
    category_id: int | None = Field(default=None, ge=0, le=2**31 - 1)
    name: str = Field(min_length=1, max_length=128)
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    isthing: bool = True
    hotkey: str | None = Field(default=None, min_length=1, max_length=1)

    @field_validator("hotkey")
    @classmethod
    def _hotkey(cls, v):
        if v is None:
            return v
        v = v.lower()
        if v in RESERVED_KEYS or not v.isprintable() or v == " ":
            raise ValueError(f"hotkey {v!r} is taken by a tool; reserved: {''.join(sorted(RESERVED_KEYS))}")
        return v


class ClassUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    isthing: bool | None = None
    hotkey: str | None = Field(default=None, max_length=1)
    position: int | None = None

    @field_validator("hotkey")
    @classmethod
    def _hotkey(cls, v):
        if v in (None, ""):
            return v
        return ClassIn._hotkey(v)


class ClassOut(_Out):
    id: int
    category_id: int
    name: str
    color: str
    isthing: bool
    hotkey: str | None
    position: int


class GroundTruthRef(BaseModel):
    """A dataset to evaluate the project's labels against (read with ``panoptix.io``)."""

    path: str
    format: str | None = None
    png_dir: str | None = None


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    kind: Kind | None = None
    answers: AdviseIn | None = None
    description: str = ""
    image_root: str | None = None
    classes: list[ClassIn] = []
    ground_truth: GroundTruthRef | None = None


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = None
    ground_truth: GroundTruthRef | None = None


class ProjectOut(_Out):
    id: int
    name: str
    kind: Kind
    description: str
    image_root: str
    ground_truth: dict | None
    created_at: datetime
    images: int = 0
    by_status: dict[str, int] = {}


class MemberIn(BaseModel):
    username: str


# -- images ----------------------------------------------------------------------------
class ImageOut(_Out):
    id: int
    project_id: int
    path: str
    width: int
    height: int
    status: Status
    review_comment: str
    source_id: str | None
    updated_at: datetime


class ImagePage(BaseModel):
    total: int
    items: list[ImageOut]


class FolderImportIn(BaseModel):
    folder: str = ""
    recursive: bool = True


class ImportOut(BaseModel):
    added: int
    skipped: int
    images: list[ImageOut] = []
    messages: list[str] = []


class LabelImportIn(BaseModel):
    path: str
    format: str | None = None
    png_dir: str | None = None


class StatusIn(BaseModel):
    status: Status
    comment: str = Field(default="", max_length=10000)
    label_id: int | None = None


class ReviewOut(_Out):
    id: int
    user: str | None = None
    status: Status
    comment: str
    created_at: datetime


# -- labels ----------------------------------------------------------------------------
class SegmentRec(BaseModel):
    id: int = Field(ge=1, le=256**3 - 1)
    category_id: int = Field(ge=0)
    iscrowd: bool = False
    hidden: bool = False
    locked: bool = False


class Runs(BaseModel):
    """Row-major run-lengths of the segment id map: ``values[i]`` repeated ``lengths[i]`` times."""

    values: list[int]
    lengths: list[int]


class MaskCrop(BaseModel):
    """An object mask: its box ``[x, y, w, h]`` and alternating 0/1 run counts inside it (row-major)."""

    bbox: list[int] = Field(min_length=4, max_length=4)
    counts: list[int]


class LabelIn(BaseModel):
    version: int = Field(ge=0, description="the version you loaded (0 for a new label)")
    segments: list[SegmentRec] = []
    map: Runs | None = None
    masks: dict[str, MaskCrop] | None = None


class LabelOut(BaseModel):
    id: int | None
    image_id: int
    author: str | None
    version: int
    kind: Kind
    width: int
    height: int
    segments: list[SegmentRec]
    map: Runs | None = None
    masks: dict[str, MaskCrop] | None = None
    editable: bool = True
    source: Literal["own", "submitted", "other", "imported", "empty"] = "own"


class LabelSummary(BaseModel):
    id: int
    author: str | None
    version: int
    segments: int
    updated_at: datetime
    submitted: bool


class SavedOut(BaseModel):
    id: int
    version: int
    status: Status


class AgreementOut(BaseModel):
    metric: str
    value: float | None
    a: LabelSummary
    b: LabelSummary
    details: dict = {}


# -- assist, export, stats ----------------------------------------------------------------
class AssistPoint(BaseModel):
    x: float
    y: float
    positive: bool = True


class AssistIn(BaseModel):
    tool: Literal["grabcut", "superpixel", "magic_wand", "sam", "text"]
    points: list[AssistPoint] = Field(default=[], max_length=256)
    box: list[float] | None = Field(default=None, min_length=4, max_length=4)
    text: str | None = Field(default=None, max_length=500)
    tolerance: float = Field(default=32.0, ge=0, le=442, description="magic wand: Euclidean RGB distance")
    superpixel_size: int = Field(default=400, ge=16, le=100000)


class AssistOut(BaseModel):
    tool: str
    mask: MaskCrop | None
    area: int


class ExportIn(BaseModel):
    format: str
    statuses: list[Status] | None = None


class UserStats(BaseModel):
    username: str
    labels: int
    submitted: int
    approved: int


class ProjectStats(BaseModel):
    images: int
    by_status: dict[str, int]
    labeled_images: int
    segments: int
    by_class: dict[str, int]
    users: list[UserStats]
    progress: float


class EvaluateOut(BaseModel):
    metric: str
    images: int
    summary: dict[str, float | None]
