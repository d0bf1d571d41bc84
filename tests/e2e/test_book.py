"""The book: `make book` builds a static website of the README, every notebook and the pages of docs/
that works offline.

The book is built once per session with the Makefile's own recipe into a temporary folder (the
notebooks are rendered from their committed outputs, never executed). Every page is opened from
file:// in Chromium, as the README says to: it must load without JavaScript errors, its images must
have loaded, MathJax must have typeset its formulas without a TeX error (and the theory notebooks
have formulas), and no request may leave the machine. The search page is served from 127.0.0.1
(a search from file:// cannot fetch the result summaries) and must find "completeness".
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import NOTEBOOKS, ROOT, require

PAGES = sorted(path.stem for path in NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))
DOCS = sorted(path.stem for path in (ROOT / "docs").glob("*.md"))  # the reference pages, docs/api among them
FULL_PAGES = sorted(path.stem for path in (ROOT / "runs" / "full").glob("[0-9][0-9]*.ipynb"))  # make full's kept runs
THEORY = [stem for stem in PAGES if "01" <= stem[:2] <= "07"]  # 01-07: the paper's theory, formulas on every page
# The key figures the README shows (figures/NAME.png), each of which the front page must draw.
KEY_FIGURES = re.findall(r"\]\(figures/([^)]+\.png)\)", (ROOT / "README.md").read_text())
LOCAL = ("file:", "data:", "blob:")


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Path:
    """`make book` into a temporary folder, with this interpreter's Sphinx; returns the html folder."""
    require(shutil.which("make") is not None, "make is missing")
    require(importlib.util.find_spec("myst_nb") is not None, "sphinx and myst-nb are missing: pip install -e '.[book]'")
    if not (ROOT / "build" / "book" / "vendor" / ".installed").exists():
        require(shutil.which("npm") is not None, "npm is missing: `make book` fetches MathJax with it")
    out = tmp_path_factory.mktemp("book")
    command = ["make", "--no-print-directory", "-o", "setup", "book", f"BIN={Path(sys.executable).parent}",
               f"BOOK_DIR={out}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"make book failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    html = out / "html"
    assert (html / "index.html").exists(), f"make book did not write {html / 'index.html'}"
    return html


class Recorder:
    """What a page did: requests that left the machine, files it could not load, console errors and
    uncaught JavaScript errors. (The browser's own request for /favicon.ico, which the book has not, is
    not the page's.)"""

    def __init__(self, page, allowed: tuple[str, ...] = LOCAL):
        self.outside, self.missing, self.console, self.crashes = [], [], [], []
        page.on("request", lambda r: self.outside.append(r.url) if not r.url.startswith(allowed) else None)
        page.on("requestfailed", lambda r: self.missing.append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: self.missing.append(f"{r.url} ({r.status})")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        # "Failed to load resource" repeats a failed request without its address: self.missing has it.
        page.on("console", lambda m: self.console.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda error: self.crashes.append(str(error)))
        # Requests in flight, and when the last one started or ended (see wait_until_quiet).
        self.inflight, self.last_activity = set(), time.monotonic()
        page.on("request", lambda r: self._activity(r, True))
        page.on("requestfinished", lambda r: self._activity(r, False))
        page.on("requestfailed", lambda r: self._activity(r, False))

    def _activity(self, request, started: bool) -> None:
        (self.inflight.add if started else self.inflight.discard)(request)
        self.last_activity = time.monotonic()

    def wait_until_quiet(self, page, quiet_s: float = 0.5, timeout_s: float = 30.0) -> None:
        """Wait until no request has been in flight for quiet_s seconds. (Playwright's "networkidle" is not
        used: on these pages it fires during MathJax's start-up, a pause of over 500 ms before MathJax asks
        for its fonts and before the load event, is withdrawn by those requests and never fires again.)"""
        deadline = time.monotonic() + timeout_s
        while self.inflight or time.monotonic() - self.last_activity < quiet_s:
            pending = [request.url for request in self.inflight]
            assert time.monotonic() < deadline, f"requests still in flight after {timeout_s} s: {pending}"
            page.wait_for_timeout(100)

    def check(self, name: str) -> None:
        assert not self.outside, f"{name} fetched from outside the machine: {self.outside}"
        assert not self.missing, f"{name} could not load: {self.missing}"
        assert not self.crashes, f"JavaScript errors on {name}: {self.crashes}"
        assert not self.console, f"console errors on {name}: {self.console}"


def open_page(browser, url: str, allowed: tuple[str, ...] = LOCAL):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    recorder = Recorder(page, allowed)
    page.goto(url, wait_until="load")
    recorder.wait_until_quiet(page)  # the widget renderer and MathJax's fonts
    # MathJax typesets after it has loaded; wait for that (a page without formulas does not load it).
    page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
    return page, recorder


def broken_images(page) -> list[str]:
    """The images on the page that did not load (naturalWidth 0), by source."""
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=30_000)
    return page.evaluate("() => Array.from(document.images).filter(img => !img.naturalWidth)"
                         ".map(img => img.src.slice(0, 120))")


def test_front_page_is_the_readme_with_key_figures_and_every_notebook(browser, book, screenshots):
    page, recorder = open_page(browser, (book / "index.html").as_uri())
    try:
        assert "Integrated Gradients you can run" in page.inner_text("h1")
        sources = page.eval_on_selector_all("img", "imgs => imgs.map(img => img.src)")
        missing = [name for name in KEY_FIGURES if not any(src.endswith("/" + name) for src in sources)]
        assert KEY_FIGURES and not missing, f"key figures missing from the front page: {missing}"
        assert not broken_images(page), f"images that did not load: {broken_images(page)}"
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        unlinked = [stem for stem in PAGES if f"notebooks/{stem}.html" not in links]
        unlinked += [stem for stem in FULL_PAGES if f"runs/full/{stem}.html" not in links]
        assert not unlinked, f"notebooks missing from the book's table of contents: {unlinked}"
        unlinked = [page for page in DOCS if f"docs/{page}.html" not in links]
        assert not unlinked, f"pages of docs/ missing from the book's table of contents: {unlinked}"
        # A wide code line wraps instead of scrolling sideways (book/_static/iglib.css).
        wrap = page.eval_on_selector("div.highlight pre", "pre => getComputedStyle(pre).whiteSpace")
        assert wrap == "pre-wrap", f"code blocks do not wrap: white-space is {wrap}"
        page.screenshot(path=str(screenshots / "book_index.png"))
        recorder.check("the front page")
    finally:
        page.close()


@pytest.mark.parametrize("stem", PAGES)
def test_notebook_page_renders_offline(browser, book, screenshots, stem):
    page, recorder = open_page(browser, (book / "notebooks" / f"{stem}.html").as_uri())
    try:
        title = page.inner_text("h1")
        assert title.startswith(stem[:2]), f"{stem}: the page's title is {title!r}"
        assert page.locator("div.cell").count() > 0, f"{stem}: no notebook cells on the page"
        assert not page.locator("div.output.traceback").count(), f"{stem}: a traceback shows"
        assert not broken_images(page), f"{stem}: images that did not load: {broken_images(page)}"
        if stem[:2] != "00":  # every notebook after the index draws figures
            assert page.locator("div.cell_output img").count() > 0, f"{stem}: no figure on the page"
        formulas = page.locator("mjx-container").count()
        if stem in THEORY:
            assert formulas > 10, f"{stem}: MathJax typeset {formulas} formulas"
        errors = page.locator("mjx-merror").all_inner_texts()
        assert not errors, f"{stem}: MathJax could not typeset: {errors}"
        page.screenshot(path=str(screenshots / f"book_{stem}.png"))
        recorder.check(stem)
    finally:
        page.close()


@pytest.mark.parametrize("stem", DOCS)
def test_reference_page_renders_offline(browser, book, stem):
    page, recorder = open_page(browser, (book / "docs" / f"{stem}.html").as_uri())
    try:
        assert page.inner_text("h1"), f"docs/{stem}: no title"
        assert not broken_images(page), f"docs/{stem}: images that did not load: {broken_images(page)}"
        if stem == "api":  # autodoc read the library: signatures of its functions
            functions = page.locator("dl.py.function").count()
            assert functions > 50, f"the API reference shows {functions} functions"
        recorder.check(f"docs/{stem}")
    finally:
        page.close()


@pytest.mark.parametrize("stem", FULL_PAGES)
def test_full_mode_page_renders_offline(browser, book, stem):
    """A kept full-mode run (runs/full/): its own page, titled as such, with its figures and no traceback."""
    page, recorder = open_page(browser, (book / "runs" / "full" / f"{stem}.html").as_uri())
    try:
        title = page.inner_text("h1")
        assert title.startswith(stem[:2]) and "(full mode)" in title, f"{stem}: the page's title is {title!r}"
        assert "Full mode" in page.inner_text("blockquote"), f"{stem}: no line saying when and where it ran"
        assert not page.locator("div.output.traceback").count(), f"{stem}: a traceback shows"
        assert page.locator("div.cell_output img").count() > 0, f"{stem}: no figure on the page"
        assert not broken_images(page), f"{stem}: images that did not load: {broken_images(page)}"
        recorder.check(f"runs/full/{stem}")
    finally:
        page.close()


@pytest.fixture(scope="session")
def served_book(book):
    """The book served on 127.0.0.1 (a static file server), as `python -m http.server -d ...` does."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_search_finds_completeness(browser, served_book, screenshots):
    local = LOCAL + (served_book + "/",)
    page, recorder = open_page(browser, f"{served_book}/search.html?q=completeness", allowed=local)
    try:
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('#search-results h2')"
                               " && !/Searching/.test(document.querySelector('#search-results h2').textContent)",
                               timeout=30_000)  # every summary fetched
        hrefs = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        found = {stem for stem in PAGES if any(f"notebooks/{stem}.html" in href for href in hrefs)}
        assert {"01_attribution_and_baselines", "02_axioms"} <= found, f"search for completeness found {hrefs}"
        summaries = " ".join(results.all_inner_texts()).lower()
        assert "completeness" in summaries, "the search results show no summary with the word"
        page.screenshot(path=str(screenshots / "book_search.png"))
        recorder.check("the search page")
    finally:
        page.close()
