"""Lecture mode: `make slides` builds a reveal.js deck that renders offline in Chromium.

One deck (03) is built with the Makefile's own recipe into build/slides/ and opened from file://:
reveal.js must start, the deck must have its slides, the formulas must be typeset (MathJax), a
figure and a slider figure (drawn from the saved widget state) must render, and no request may
leave the machine (every asset is local).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, require

DECK_NOTEBOOK = "notebooks/03_relu_saturation.ipynb"
SLIDES = ROOT / "build" / "slides"


def build_deck() -> Path:
    """`make slides` for one notebook, with this interpreter's Jupyter (its environment is set up)."""
    require(shutil.which("make") is not None, "make is missing")
    require(shutil.which("npm") is not None, "npm is missing: `make slides` fetches reveal.js and MathJax with it")
    command = ["make", "--no-print-directory", "-o", "setup", "slides", f"BIN={Path(sys.executable).parent}",
               f"SLIDES_NOTEBOOKS={DECK_NOTEBOOK}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"make slides failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    deck = SLIDES / (Path(DECK_NOTEBOOK).stem + ".slides.html")
    assert deck.exists(), f"make slides did not write {deck}"
    return deck


def test_slide_deck_renders_offline(browser, screenshots):
    deck = build_deck()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    outside, crashes = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.on("pageerror", lambda error: crashes.append(str(error)))
    try:
        page.goto(deck.as_uri())
        page.wait_for_selector(".reveal.ready", state="attached", timeout=60_000)  # Reveal.initialize finished
        horizontal = page.locator(".reveal .slides > section").count()
        assert horizontal >= 4, f"only {horizontal} slides: the notebook's slide metadata is missing"
        assert page.locator(".reveal .slides section").count() >= 8
        page.wait_for_function("() => document.querySelectorAll('.reveal .MathJax_CHTML').length > 10", timeout=60_000)
        assert "03" in page.inner_text(".reveal section.present"), "the deck does not open on the title slide"

        # The first slide holding a figure, reached with the keyboard as a lecturer would.
        for _ in range(40):
            if page.locator(".reveal section.present:not(.stack) img").count():
                break
            page.keyboard.press("Space")  # next slide, vertical ones included
            page.wait_for_timeout(100)
        figure = page.locator(".reveal section.present:not(.stack) img").first
        figure.wait_for(state="visible")
        size = figure.evaluate("img => [img.naturalWidth, img.getBoundingClientRect().width]")
        assert size[0] > 100 and size[1] > 100, f"the figure did not render: {size}"
        page.wait_for_timeout(800)  # the slide transition
        page.screenshot(path=str(screenshots / "slides_03_figure.png"))

        # The static slider figures: widgets rendered from the notebook's saved widget state.
        page.wait_for_selector(".reveal .widget-slider", state="attached", timeout=60_000)
        assert page.locator(".reveal .widget-output img").count() >= 1, "the widgets' figures are missing"
        assert not outside, f"the deck fetched from outside the machine: {outside}"
        assert not crashes, f"JavaScript errors in the deck: {crashes}"
    finally:
        page.close()
