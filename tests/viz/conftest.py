"""Hand-made taxonomy for the picture tests (colours repeated in the test modules)."""

from __future__ import annotations

import pytest

from panoptix.core import Category, Taxonomy


@pytest.fixture
def tax() -> Taxonomy:
    return Taxonomy([
        Category(1, "person", True, (220, 20, 60)),
        Category(3, "car", True, (0, 0, 142)),
        Category(7, "road", False, (128, 64, 128)),
        Category(184, "sky", False, (70, 130, 180)),
    ])


@pytest.fixture
def page(browser):
    """A fresh page that records every request it makes (none may leave the machine)."""
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.requests_seen = []
    pg.on("request", lambda r: pg.requests_seen.append(r.url))
    yield pg
    pg.close()
