"""Shared fixtures: where the real COCO data lives, the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "src" / "panoptix" / "data" / "sample"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real COCO subsets beside the repository (skips cleanly when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The sample bundled in the package (two COCO panoptic images)."""
    return SAMPLE


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    """Real headless Chromium (Debian's) driven by Playwright, one for the whole session
    (Playwright's sync API allows one running instance per process)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(params=["native", "fallback"])
def speedups(request, monkeypatch):
    """Both paths of the label PNG decoder and the pair counters: the C extension, and
    Pillow + numpy where it was not built."""
    if request.param == "fallback":
        from panoptix.io import png

        monkeypatch.setattr(png, "native", None)
    return request.param
