"""The book: the collection as a static website (Sphinx + myst-nb), built by `make book`.

The source folder is the repository root (`sphinx-build -c book . build/book/html`): the README is
the front page, so its links to notebooks/, figures/ and docs/ work unchanged, and the pages of docs/
(performance, at scale, data, tests, dependencies, ...) follow the notebooks. docs/api.md is the
library's reference, read from the module docstrings by autodoc (the modules are found by walking the
package, so a module added or moved is in it without an edit). Notebooks are rendered from
their committed outputs and never executed. MathJax 3 and the widget renderer are served from
build/book/vendor/ (unpacked from npm by `make setup`), so a page fetches nothing from outside the
machine.
"""
from __future__ import annotations

import io
import os
import pkgutil
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # autodoc imports this checkout's iglib, whichever iglib is installed
# Where `make setup` unpacked mathjax, requirejs and html-manager (IGLIB_BOOK_VENDOR overrides it;
# a relative path is taken from the repository root).
VENDOR = (ROOT / os.environ.get("IGLIB_BOOK_VENDOR", "build/book/vendor")).resolve()

project = "iglib"
author = "the iglib authors"
root_doc = "README"

extensions = ["myst_nb", "sphinx.ext.autodoc"]
# Only the README, the numbered notebooks, their kept full-mode runs (runs/full/, `make full`) and docs/ are
# pages; everything else in the repository is not.
include_patterns = ["README.md", "notebooks/[0-9][0-9]*.ipynb", "runs/full/[0-9][0-9]*.ipynb", "docs/*.md"]
exclude_patterns = ["build", ".venv", "**/.ipynb_checkpoints"]

# The book shows the committed outputs: nothing is re-executed (that is nbval's and `make figures`' job).
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # links to a section, as the README's docs/notebooks.md#key-figures
suppress_warnings = ["myst.header"]  # notebooks open with a level-1 title, then sections at any level

# MathJax 3 from the local copy (relative to _static), never the CDN default.
mathjax_path = "mathjax/es5/tex-mml-chtml.js"
# The saved widget state drawn by the html-manager from the local copies (myst-nb defaults to CDNs).
nb_ipywidgets_js = {
    "requirejs/require.js": {},
    "html-manager/dist/embed-amd.js": {"data-jupyter-widgets-cdn": ""},
}
html_static_path = [str(VENDOR), "_static"]
# The theme Jupyter Book uses (pinned in pyproject.toml's book extra); its fonts and scripts ship in the
# wheel, so nothing is fetched. iglib.css wraps long code lines instead of scrolling them sideways.
html_theme = "sphinx_book_theme"
html_title = "iglib: Integrated Gradients you can run"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 2,
    "use_download_button": False,  # the sources are not copied into the book (html_copy_source)
    "navigation_with_keys": False,
}
html_css_files = ["iglib.css"]
# The theme's colour mode: light, as the figures are drawn (unset, its script logs a console error).
html_context = {"default_mode": "light"}
html_show_sourcelink = False
html_copy_source = False

# The API reference: each module's docstring and its public functions and classes, with their signatures,
# in the order of the source (the directives are written by add_toc below).
autodoc_member_order = "bysource"


# The table of contents: the lecture path (00_index) first, then the notebooks in order; then the
# full-mode runs that were kept; then the reference pages of docs/ in this order (a page of docs/ left out
# of it fails the build: -W).
TOC = {"Notebooks": sorted(f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("[0-9][0-9]*.ipynb")),
       "Full mode, as run": sorted(f"runs/full/{p.stem}" for p in (ROOT / "runs" / "full").glob("[0-9][0-9]*.ipynb")),
       "Reference": [f"docs/{page}" for page in ["notebooks", "library", "api", "performance", "at_scale", "data",
                                                 "tests", "slides_and_book", "dependencies"]]}


def toctree(caption: str, entries: list[str]) -> str:
    lines = "\n".join(entries)
    return f"\n\n```{{toctree}}\n:hidden:\n:caption: {caption}\n:maxdepth: 1\n\n{lines}\n```\n"


def public_modules() -> list[str]:
    """Every module of iglib whose dotted name has no part starting with an underscore, in order."""
    import iglib

    found = pkgutil.walk_packages(iglib.__path__, prefix="iglib.")
    return ["iglib"] + sorted(m.name for m in found if not any(part.startswith("_") for part in m.name.split(".")))


def add_toc(app, docname: str, source: list[str]) -> None:
    """Append the (hidden) tables of contents to the front page, so the README itself stays as it is,
    and one automodule section per public module to docs/api.md."""
    if docname == root_doc:
        for caption, pages in TOC.items():
            if pages:
                source[0] += toctree(caption, pages)
    elif docname == "docs/api":
        for name in public_modules():
            # :no-index:: a function appears under its module and under a package that re-exports it
            # (iglib.methods), and is not indexed twice; iglib itself re-exports: its docstring only.
            # autodoc writes reStructuredText, so the directive sits in an eval-rst block of the MyST page.
            options = "   :no-index:\n" if name == "iglib" else "   :members:\n   :no-index:\n"
            source[0] += f"\n\n## `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{options}```\n"


ROLE = re.compile(r":[a-z:]+:`")


def plain_if_not_rst(app, what, name, obj, options, lines: list[str]) -> None:
    """A docstring that is not valid reStructuredText (most are written as plain text, with formulas
    such as |x_i| or x'_i) is shown as written, in a literal block, instead of failing the build."""
    from docutils.core import publish_doctree

    text = ROLE.sub("`", "\n".join(lines))  # Sphinx's roles (:func:, :mod:) are fine: only the markup is checked
    warnings = io.StringIO()
    settings = {"report_level": 2, "halt_level": 5, "warning_stream": warnings, "env": app.env}
    publish_doctree(text, settings_overrides=settings)
    if warnings.getvalue():
        lines[:] = ["::", ""] + [f"    {line}" for line in lines] + [""]


def write_index(app, exception) -> None:
    """index.html is the front page (a copy of README.html: same folder, so every link still works).

    The widget renderer's Font Awesome, which the theme's icons also match, is looked up beside the
    notebook pages (notebooks/@jupyter-widgets/html-manager/dist/, its CDN layout, and the same under
    runs/full/ for the kept full-mode runs): the fonts are copied there."""
    if exception is None and app.builder.format == "html":
        shutil.copyfile(Path(app.outdir) / "README.html", Path(app.outdir) / "index.html")
        for folder in ("notebooks", "runs/full"):
            if not (Path(app.outdir) / folder).is_dir():
                continue  # no kept full-mode run yet
            fonts = Path(app.outdir) / folder / "@jupyter-widgets" / "html-manager" / "dist"
            fonts.mkdir(parents=True, exist_ok=True)
            for font in (VENDOR / "html-manager" / "dist").iterdir():
                if font.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
                    shutil.copyfile(font, fonts / font.name)


def setup(app):
    if not (VENDOR / "mathjax" / "es5" / "tex-mml-chtml.js").exists():
        raise RuntimeError(f"MathJax is missing from {VENDOR}: run `make setup` (it unpacks it with npm)")
    # After MathJax (priority 500, deferred), before the widgets (drawn on DOMContentLoaded).
    app.add_js_file("widgets_mathjax3.js", priority=501, defer="defer")
    app.connect("source-read", add_toc)
    app.connect("autodoc-process-docstring", plain_if_not_rst)
    app.connect("build-finished", write_index)
