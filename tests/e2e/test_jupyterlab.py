"""Every notebook with widgets, run in JupyterLab in headless Chromium, as a reader would.

For each notebook that displays a widget (found by its content, not a list): open a copy in
JupyterLab, clear the outputs and run all cells from the menus, then move every slider and
dropdown of every slider figure and check that the figure below it (image or text) is redrawn.
No error output may appear anywhere: not in the page (tracebacks, in cells or in a widget's
output) and not in the notebook saved from the browser. Then every cell's outputs in the saved
notebook are compared with the committed ones as nbval compares them (tests/nbcompare.py): this run
is the notebook's nbval check, so nbval does not compute it a second time. A screenshot per notebook
goes to build/e2e-screenshots/.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from nbcompare import compare_notebook

from .conftest import NOTEBOOKS

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RUN_ALL_TIMEOUT_MS = 600_000  # 08_imagenet computes about 40 s on a 2-core CPU; leave room for a busy one
REDRAW_TIMEOUT_MS = 180_000   # a control may start a computation (08: IG for another class)
TRACEBACK = re.compile(r"Traceback|\b\w*Error\b|\bException\b")

# The kernel's status, read from JupyterLab's application object (exposed by the lab fixture).
KERNEL_STATUS = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const session = panel && panel.sessionContext && panel.sessionContext.session;
    return session && session.kernel ? session.kernel.status : null;
}"""
PROMPTS = "() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')).map(p => p.textContent.trim())"
STDERR = "() => Array.from(document.querySelectorAll('.jp-Notebook [data-mime-type=\"application/vnd.jupyter.stderr\"]')).map(e => e.innerText)"
RUN_FINISHED = f"""() => {{
    const prompts = ({PROMPTS})();
    if (({KERNEL_STATUS})() !== 'idle' || prompts.some(p => p.includes('*'))) return false;
    return prompts.every(p => /^\\[\\d+\\]:$/.test(p)) || ({STDERR})().length > 0;
}}"""
# A slider figure's view: a cell output holding a widget with an Output area (the figure) and controls.
VIEWS = ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output"
# What the figure shows: a hash of the outputs in the widget's Output area (their type and rendered
# content: the <img> data, the text, the HTML), not of the area's own attributes (its style changes
# while it redraws).
FINGERPRINT = """(view) => {
    const outputs = view.querySelectorAll('.widget-output .jp-OutputArea-output');
    const html = Array.from(outputs).map(o => o.getAttribute('data-mime-type') + ':' + o.innerHTML).join('\\n');
    let h = 0;
    for (let i = 0; i < html.length; i++) h = (Math.imul(h, 31) + html.charCodeAt(i)) | 0;
    return html.length + ':' + h;
}"""
SHOWS_SOMETHING = """(view) => {
    const out = view.querySelector('.widget-output');
    return !!out && (out.querySelector('img') !== null || out.innerText.trim().length > 0);
}"""


def builds_widget(cell) -> bool:
    """A code cell that displays a widget: a widget view among its outputs, or (outputs not kept)
    an nbval-ignore-output cell that calls a widget factory."""
    if cell.cell_type != "code":
        return False
    if any(WIDGET_VIEW in output.get("data", {}) for output in cell.outputs):
        return True
    return "nbval-ignore-output" in cell.metadata.get("tags", []) and re.search(r"\w_widget\(", cell.source) is not None


def widget_notebooks() -> list[Path]:
    return [path for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
            if any(builds_widget(cell) for cell in nbformat.read(path, as_version=4).cells)]


WIDGET_NOTEBOOKS = widget_notebooks()


def test_widget_notebooks_are_found():
    assert WIDGET_NOTEBOOKS, "no notebook with widgets found: the end-to-end test would check nothing"


def open_notebook(page, lab, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell")
    page.wait_for_function(f"({KERNEL_STATUS})() === 'idle'")


def menu(page, *path: str) -> None:
    for item in path:
        page.get_by_role("menuitem", name=item, exact=True).click()


def run_all(page, n_code: int) -> None:
    """View > Expand All Code (a collapsed solution cell draws no prompt), Edit > Clear Outputs of
    All Cells, then Run > Run All Cells; wait until every cell has run."""
    menu(page, "View", "Expand All Code")
    prompts = page.evaluate(PROMPTS)
    assert len(prompts) == n_code, f"{len(prompts)} code cells in the page, {n_code} in the notebook"
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"({PROMPTS})().every(p => p === '[ ]:')")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_ALL_TIMEOUT_MS, polling=500)


def no_tracebacks(page, where: str) -> None:
    """No error output in the page: JupyterLab draws tracebacks (and warnings) as stderr."""
    errors = [text for text in page.evaluate(STDERR) if TRACEBACK.search(text)]
    shown = [text if len(text) < 3000 else f"{text[:1500]}\n[...]\n{text[-1500:]}" for text in errors]
    assert not errors, f"error output {where}:\n" + "\n---\n".join(shown)
    text = page.inner_text(".jp-NotebookPanel")
    assert "Error displaying widget" not in text, f"a widget failed to render {where}"


def settle(page, view) -> str:
    """Wait until the kernel is idle and the figure stops changing; return its fingerprint."""
    page.wait_for_function(f"({KERNEL_STATUS})() === 'idle'", timeout=REDRAW_TIMEOUT_MS)
    shown, deadline = view.evaluate(FINGERPRINT), time.monotonic() + REDRAW_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = view.evaluate(FINGERPRINT)
        if now == shown and page.evaluate(f"({KERNEL_STATUS})()") == "idle":
            return now
        shown = now
    raise AssertionError("the widget's figure kept changing")


def drag_slider(page, handle) -> str:
    """Drag a slider handle with the mouse, toward the side with more room, until its value changes.

    (The keyboard is not used: JupyterLab's command mode binds ArrowLeft/ArrowRight, so they never
    reach a focused slider handle.)
    """
    before = handle.get_attribute("aria-valuenow")
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    left, right = handle.evaluate("""h => {
        const track = h.closest('.noUi-base').getBoundingClientRect();
        const x = h.getBoundingClientRect().left + h.getBoundingClientRect().width / 2;
        let left = track.left, right = track.right;
        for (const other of h.closest('.noUi-base').querySelectorAll('.noUi-handle')) {
            if (other === h) continue;
            const o = other.getBoundingClientRect().left + other.getBoundingClientRect().width / 2;
            if (o < x) left = Math.max(left, o); else right = Math.min(right, o);
        }
        return [left, right];
    }""")
    target = right if right - x >= x - left else left
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(x + (target - x) * k / 20, y)
        if handle.get_attribute("aria-valuenow") != before:
            break
    page.mouse.up()
    after = handle.get_attribute("aria-valuenow")
    assert after != before, f"dragging the slider did not move it from {before}"
    readout = handle.evaluate("h => h.closest('.widget-slider').querySelector('.widget-readout').textContent.trim()")
    return f"dragging the {label(handle)} slider to {readout}"


def label(control) -> str:
    """The description shown left of a slider or dropdown."""
    text = control.evaluate("c => c.closest('.widget-slider, .widget-dropdown').querySelector('.widget-label').textContent")
    return text.strip() or "unlabelled"


def choose_next(select) -> str:
    """Pick the next option of a dropdown (the first one after the last)."""
    n = select.locator("option").count()
    assert n > 1, "a dropdown with a single option"
    index = (select.evaluate("s => s.selectedIndex") + 1) % n
    select.select_option(index=index)
    chosen = " ".join(select.evaluate("s => s.options[s.selectedIndex].text").split())
    return f"choosing {chosen!r} in the {label(select)} dropdown"


def controls(view) -> list:
    return [("slider", h) for h in view.locator(".noUi-handle").all()] + \
           [("dropdown", s) for s in view.locator("select").all()]


def save(page, name: str) -> None:
    """JupyterLab's Save command (File > Save); wait until the tab is no longer dirty. The command's promise is
    not awaited: if JupyterLab opens a dialog (a conflict with the file on disk), that promise waits for
    an answer forever, and the test fails here with the dialog's text instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
    try:
        page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
                               timeout=60_000)
    except PlaywrightTimeout:
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        pytest.fail(f"{name}: not saved within 60 s" + (f"; JupyterLab asks: {dialogs}" if dialogs else ""),
                    pytrace=False)


@pytest.mark.parametrize("path", WIDGET_NOTEBOOKS, ids=[p.stem for p in WIDGET_NOTEBOOKS])
def test_widgets_respond_in_jupyterlab(path, browser, lab, screenshots):
    n_code = sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    crashes: list[str] = []
    views: list = []
    page.on("pageerror", lambda error: crashes.append(str(error)))
    try:
        start = time.monotonic()
        open_notebook(page, lab, path.name)
        run_all(page, n_code)
        print(f"{path.name}: opened and ran in {time.monotonic() - start:.1f} s")
        no_tracebacks(page, f"after running {path.name}")
        if "progress(" in path.read_text():  # a loop with a tqdm bar: it renders as a JupyterLab progress widget
            assert page.locator(".widget-hprogress").count(), f"{path.name}: no progress bar rendered"

        views = [v for v in page.locator(VIEWS).all()
                 if v.locator(".widget-output").count() and (v.locator(".noUi-handle").count() or v.locator("select").count())]
        assert views, f"{path.name}: no slider figure in the page after running it"
        for k, view in enumerate(views):
            view.scroll_into_view_if_needed()
            before = settle(page, view)
            assert view.evaluate(SHOWS_SOMETHING), f"{path.name}: widget {k} shows no figure after running"
            for kind, control in controls(view):
                moving = time.monotonic()
                what = drag_slider(page, control) if kind == "slider" else choose_next(control)
                try:
                    page.wait_for_function(f"([view, before]) => ({FINGERPRINT})(view) !== before",
                                           arg=[view.element_handle(), before], timeout=REDRAW_TIMEOUT_MS)
                except PlaywrightTimeout:
                    pytest.fail(f"{path.name}: widget {k}: the figure did not change within "
                                f"{REDRAW_TIMEOUT_MS // 1000} s after {what}", pytrace=False)
                after = settle(page, view)
                assert after != before, f"{path.name}: widget {k}: the figure did not change after {what}"
                assert view.evaluate(SHOWS_SOMETHING), f"{path.name}: widget {k}: empty figure after {what}"
                no_tracebacks(page, f"in {path.name}, widget {k}, after {what}")
                print(f"  widget {k}: {what}: redrawn in {time.monotonic() - moving:.1f} s")
                before = after

        save(page, path.name)
        saved = nbformat.read(lab.root / path.name, as_version=4)
        code = [cell for cell in saved.cells if cell.cell_type == "code"]
        assert all(cell.execution_count for cell in code), f"{path.name}: not every cell ran"
        errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: error outputs in the saved notebook: {[e.ename for e in errors]}"
        differs = compare_notebook(nbformat.read(path, as_version=4), saved)
        assert not differs, (f"{path.name}: outputs differ from the committed notebook (compared as nbval "
                             "compares them):\n" + "\n".join(differs))
        assert not crashes, f"{path.name}: JavaScript errors in the page: {crashes}"
    finally:
        try:
            if views:  # the last widget moved, in the middle of the screenshot
                views[-1].evaluate("v => v.scrollIntoView({block: 'center'})")
            page.screenshot(path=str(screenshots / f"{path.stem}.png"))
        finally:
            page.close()
            lab.shutdown_kernels()
