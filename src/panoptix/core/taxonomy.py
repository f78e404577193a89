"""Categories and the taxonomy that every label type refers to.

COCO ids are sparse (1..90 with gaps for instances, up to 200 for panoptic),
so panoptix never assumes contiguous ids: a :class:`Taxonomy` maps ids to
categories and, when a model or a metric needs them, to contiguous indices.
"""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from .errors import CategoryError, FormatError

__all__ = ["Category", "Taxonomy", "VOID", "IGNORE_INDEX", "stable_color"]

#: Panoptic segment id of unlabeled pixels (COCO panoptic: RGB 0,0,0).
VOID = 0
#: Default semantic value of pixels that are not evaluated (VOID, crowd borders...).
IGNORE_INDEX = 255


def stable_color(key: int | str) -> tuple[int, int, int]:
    """A bright colour that depends only on ``key``: stable across images, runs and machines.

    Examples
    --------
    >>> stable_color(3) == stable_color(3)
    True
    >>> all(0 <= c <= 255 for c in stable_color("cat"))
    True
    """
    digest = hashlib.blake2b(str(key).encode(), digest_size=4).digest()
    hue = int.from_bytes(digest[:2], "little") / 65536.0
    sat = 0.55 + 0.4 * digest[2] / 255.0
    val = 0.7 + 0.3 * digest[3] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255))


@dataclass(frozen=True)
class Category:
    """One class of the taxonomy.

    Parameters
    ----------
    id : int
        The dataset's id (sparse; never 0 for panoptic, which is VOID).
    name : str
        Unique name.
    isthing : bool
        True for countable objects (instances), False for amorphous stuff.
    color : tuple of int, optional
        RGB colour; a stable colour derived from the id when not given.
    supercategory : str, optional

    Examples
    --------
    >>> Category(1, "person").isthing
    True
    >>> Category(184, "sky", isthing=False, color=(70, 130, 180)).color
    (70, 130, 180)
    """

    id: int
    name: str
    isthing: bool = True
    color: tuple[int, int, int] | None = None
    supercategory: str = ""

    def __post_init__(self):
        if isinstance(self.id, bool) or not isinstance(self.id, int) or self.id < 0:
            raise CategoryError(f"category id must be a non-negative integer, got {self.id!r}")
        if not isinstance(self.name, str) or not self.name:
            raise CategoryError(f"category {self.id} needs a non-empty name")
        object.__setattr__(self, "isthing", bool(self.isthing))
        color = stable_color(self.id) if self.color is None else tuple(int(c) for c in self.color)
        if len(color) != 3 or not all(0 <= c <= 255 for c in color):
            raise CategoryError(f"category {self.id} ({self.name}): colour must be 3 values in 0..255")
        object.__setattr__(self, "color", color)

    @classmethod
    def from_coco(cls, record: dict, *, default_isthing: bool = True) -> "Category":
        """Build from one COCO ``categories`` record (``isthing`` and ``color`` optional)."""
        try:
            return cls(
                id=record["id"],
                name=record["name"],
                isthing=bool(record.get("isthing", default_isthing)),
                color=record.get("color"),
                supercategory=record.get("supercategory", "") or "",
            )
        except KeyError as exc:
            raise FormatError(f"category record {record!r} has no {exc.args[0]!r} field") from None
        except TypeError as exc:
            raise FormatError(f"category record {record!r}: {exc}") from None

    def to_coco(self) -> dict:
        """The COCO panoptic ``categories`` record (a superset of the instances one)."""
        return {
            "id": self.id,
            "name": self.name,
            "supercategory": self.supercategory,
            "isthing": int(self.isthing),
            "color": list(self.color),
        }


@dataclass
class Taxonomy:
    """An ordered set of categories with sparse ids.

    Parameters
    ----------
    categories : iterable of Category
    ignore_index : int
        Semantic value of pixels that are not evaluated (default 255).

    Examples
    --------
    >>> tax = Taxonomy([Category(1, "person"), Category(184, "sky", isthing=False)])
    >>> tax[184].name, tax["person"].id
    ('sky', 1)
    >>> tax.thing_ids, tax.stuff_ids
    ([1], [184])
    >>> Taxonomy.from_coco(tax.to_coco()) == tax
    True
    """

    categories: list[Category] = field(default_factory=list)
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self):
        self.categories = list(self.categories)
        self._by_id: dict[int, Category] = {}
        self._by_name: dict[str, Category] = {}
        for cat in self.categories:
            if cat.id in self._by_id:
                raise CategoryError(f"duplicate category id {cat.id}")
            if cat.name in self._by_name:
                raise CategoryError(f"duplicate category name {cat.name!r}")
            self._by_id[cat.id] = cat
            self._by_name[cat.name] = cat

    # -- construction ---------------------------------------------------
    @classmethod
    def from_coco(cls, records: Sequence[dict], *, default_isthing: bool = True,
                  ignore_index: int = IGNORE_INDEX) -> "Taxonomy":
        """From a COCO ``categories`` list; instance files have no ``isthing`` (all things)."""
        if not isinstance(records, (list, tuple)):
            raise FormatError("'categories' must be a list")
        return cls([Category.from_coco(r, default_isthing=default_isthing) for r in records],
                   ignore_index=ignore_index)

    @classmethod
    def from_names(cls, names: Iterable[str], *, start: int = 1, stuff: Iterable[str] = ()) -> "Taxonomy":
        """Consecutive ids from ``start``; names listed in ``stuff`` are stuff classes."""
        stuff = set(stuff)
        return cls([Category(start + i, n, isthing=n not in stuff) for i, n in enumerate(names)])

    def to_coco(self) -> list[dict]:
        return [c.to_coco() for c in self.categories]

    # -- lookup -----------------------------------------------------------
    def __getitem__(self, key: int | str) -> Category:
        table = self._by_name if isinstance(key, str) else self._by_id
        try:
            return table[key if isinstance(key, str) else int(key)]
        except (KeyError, TypeError, ValueError):
            raise CategoryError(f"unknown category {key!r}") from None

    def get(self, key: int | str, default=None):
        try:
            return self[key]
        except CategoryError:
            return default

    def __contains__(self, key) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def __eq__(self, other) -> bool:
        return (isinstance(other, Taxonomy) and self.categories == other.categories
                and self.ignore_index == other.ignore_index)

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.categories]

    @property
    def thing_ids(self) -> list[int]:
        return [c.id for c in self.categories if c.isthing]

    @property
    def stuff_ids(self) -> list[int]:
        return [c.id for c in self.categories if not c.isthing]

    def isthing(self, category_id: int) -> bool:
        return self[category_id].isthing

    def color(self, category_id: int) -> tuple[int, int, int]:
        """The category's colour, or a stable colour for an id the taxonomy does not know."""
        cat = self.get(category_id)
        return cat.color if cat is not None else stable_color(category_id)

    def color_lut(self, size: int | None = None):
        """A (size, 3) uint8 lookup table from category id to colour (ignore index grey)."""
        import numpy as np

        size = size or max(max(self.ids, default=0), self.ignore_index) + 1
        lut = np.zeros((size, 3), np.uint8)
        for c in self.categories:
            if c.id < size:
                lut[c.id] = c.color
        if self.ignore_index < size:
            lut[self.ignore_index] = (128, 128, 128)
        return lut

    def check(self, category_id, *, file=None, image_id=None, segment_id=None) -> Category:
        """Return the category or raise :class:`CategoryError` naming where it was met."""
        cat = self.get(category_id)
        if cat is None:
            raise CategoryError(f"unknown category id {category_id!r}", file=file,
                                image_id=image_id, segment_id=segment_id)
        return cat
