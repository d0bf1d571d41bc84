# The collection's two commands: `make lab` (open the notebooks) and `make test` (run every test).
# Both build their own environment in .venv first (torch pinned to 2.13.0 in pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lab test setup figures benchmark clean slides

# Everything that needs the network happens here (the package index, and npm for lecture mode's
# reveal.js and MathJax when npm is installed); after it, `make test` and the notebooks run offline.
setup: $(VENV)/.installed
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(SLIDES_DIR)/vendor/.installed; \
	else echo "npm not found: lecture mode (make slides) will need it; everything else is installed"; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $@

# (as root, in a container or a VM, JupyterLab refuses to start without --allow-root)
lab: setup
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: setup
	$(BIN)/python -m pytest

# Re-run every notebook headless in place (IGLIB_MODE=fast|full), rewriting figures/ and outputs.
figures: setup
	$(BIN)/python -m iglib.runner

# iglib against Captum on EfficientNet-Lite0: speed, accuracy per evaluation, memory (prints tables, writes JSON).
benchmark: setup
	$(BIN)/python benchmarks/ig_benchmark.py

# Lecture mode: every notebook as a reveal.js deck in build/slides/ (open NN_slug.slides.html).
# nbconvert's template loads reveal.js, require.js, jQuery, MathJax 2 and the widget renderer from CDNs;
# here they are unpacked from their npm tarballs (pinned, no dependencies) into build/slides/vendor/,
# so the decks work offline. The template `offline_reveal` is nbconvert's reveal template without its
# Mermaid import (a CDN module no notebook uses, and not configurable).
SLIDES_DIR       ?= build/slides
SLIDES_NOTEBOOKS ?= $(wildcard notebooks/[0-9][0-9]_*.ipynb)
SLIDES_VENDOR    := reveal.js@4.0.2 requirejs@2.3.7 jquery@3.7.1 mathjax@2.7.9 @jupyter-widgets/html-manager@1.0.15

slides: setup $(SLIDES_DIR)/vendor/.installed $(SLIDES_DIR)/templates/offline_reveal/index.html.j2
	$(BIN)/jupyter nbconvert --to slides --output-dir $(SLIDES_DIR) \
	    --TemplateExporter.extra_template_basedirs=$(SLIDES_DIR)/templates --template offline_reveal \
	    --SlidesExporter.reveal_url_prefix=vendor/reveal.js \
	    --SlidesExporter.reveal_theme=white --SlidesExporter.reveal_scroll=True \
	    --SlidesExporter.require_js_url=vendor/requirejs/require.js \
	    --SlidesExporter.jquery_url=vendor/jquery/dist/jquery.min.js \
	    '--SlidesExporter.mathjax_url=vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe' \
	    --SlidesExporter.widget_renderer_url=vendor/html-manager/dist/embed-amd.js \
	    $(SLIDES_NOTEBOOKS)

$(SLIDES_DIR)/vendor/.installed:
	rm -rf $(SLIDES_DIR)/vendor && mkdir -p $(SLIDES_DIR)/vendor
	cd $(SLIDES_DIR)/vendor && for spec in $(SLIDES_VENDOR); do \
	    name=$${spec%@*}; name=$${name##*/}; tarball=$$(npm pack --silent "$$spec") && \
	    mkdir "$$name" && tar -xzf "$$tarball" --strip-components=1 -C "$$name" && rm "$$tarball" || exit 1; \
	done
	touch $@

$(SLIDES_DIR)/templates/offline_reveal/index.html.j2: Makefile
	mkdir -p $(@D)
	echo '{"base_template": "reveal", "mimetypes": {"text/html": true}}' > $(@D)/conf.json
	echo "{%- extends 'reveal/index.html.j2' -%}{% block html_head_js_mermaidjs %}{% endblock %}" > $@

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
