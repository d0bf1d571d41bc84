"""The book: the collection as a static website (Sphinx + myst-nb), built by `make book`.

The source folder is the repository root (`sphinx-build -c book . build/book/html`): the README is
the front page, so its links to notebooks/ and figures/ work unchanged. Notebooks are rendered from
their committed outputs and never executed. MathJax 3 and the widget renderer are served from
build/book/vendor/ (unpacked from npm by `make setup`), so a page fetches nothing from outside the
machine.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where `make setup` unpacked mathjax, requirejs and html-manager (IGLIB_BOOK_VENDOR overrides it;
# a relative path is taken from the repository root).
VENDOR = (ROOT / os.environ.get("IGLIB_BOOK_VENDOR", "build/book/vendor")).resolve()

project = "iglib"
author = "the iglib authors"
root_doc = "README"

extensions = ["myst_nb"]
# Only the README, the numbered notebooks and their kept full-mode runs (runs/full/, `make full`) are pages.
include_patterns = ["README.md", "notebooks/[0-9][0-9]*.ipynb", "runs/full/[0-9][0-9]*.ipynb"]
exclude_patterns = ["build", ".venv", "**/.ipynb_checkpoints"]

# The book shows the committed outputs: nothing is re-executed (that is nbval's and `make figures`' job).
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # the README's [Data](#data) links
suppress_warnings = ["myst.header"]  # notebooks open with a level-1 title, then sections at any level

# MathJax 3 from the local copy (relative to _static), never the CDN default.
mathjax_path = "mathjax/es5/tex-mml-chtml.js"
# The saved widget state drawn by the html-manager from the local copies (myst-nb defaults to CDNs).
nb_ipywidgets_js = {
    "requirejs/require.js": {},
    "html-manager/dist/embed-amd.js": {"data-jupyter-widgets-cdn": ""},
}
html_static_path = [str(VENDOR), "_static"]
html_theme = "alabaster"
html_title = "iglib"
html_theme_options = {"description": "Integrated Gradients you can run", "font_family": "sans-serif",
                      "head_font_family": "sans-serif", "page_width": "1200px"}
html_sidebars = {"**": ["about.html", "searchfield.html", "navigation.html"]}
html_show_sourcelink = False
html_copy_source = False


# The table of contents: the lecture path (00_index) first, then the notebooks in order; then the
# full-mode runs that were kept.
TOC = {"Notebooks": sorted(f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("[0-9][0-9]*.ipynb")),
       "Full mode, as run": sorted(f"runs/full/{p.stem}" for p in (ROOT / "runs" / "full").glob("[0-9][0-9]*.ipynb"))}


def add_toc(app, docname: str, source: list[str]) -> None:
    """Append the (hidden) tables of contents to the front page, so the README itself stays as it is."""
    if docname == root_doc:
        for caption, pages in TOC.items():
            if pages:
                entries = "\n".join(pages)
                source[0] += f"\n\n```{{toctree}}\n:hidden:\n:caption: {caption}\n:maxdepth: 1\n\n{entries}\n```\n"


def write_index(app, exception) -> None:
    """index.html is the front page (a copy of README.html: same folder, so every link still works)."""
    if exception is None and app.builder.format == "html":
        shutil.copyfile(Path(app.outdir) / "README.html", Path(app.outdir) / "index.html")


def setup(app):
    if not (VENDOR / "mathjax" / "es5" / "tex-mml-chtml.js").exists():
        raise RuntimeError(f"MathJax is missing from {VENDOR}: run `make setup` (it unpacks it with npm)")
    # After MathJax (priority 500, deferred), before the widgets (drawn on DOMContentLoaded).
    app.add_js_file("widgets_mathjax3.js", priority=501, defer="defer")
    app.connect("source-read", add_toc)
    app.connect("build-finished", write_index)
