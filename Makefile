# The collection's two commands: `make lab` (open the notebooks) and `make test` (run every test).
# Both build their own environment in .venv first (torch pinned to 2.13.0 in pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lab test test-cpu setup figures full benchmark clean slides book

# Everything that needs the network happens here (the package index, and npm for the JavaScript of
# lecture mode and the book when npm is installed); after it, tests, notebooks, slides and book run offline.
setup: $(VENV)/.installed
	@if command -v npm >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory $(SLIDES_DIR)/vendor/.installed $(BOOK_VENDOR)/.installed; \
	else echo "npm not found: lecture mode (make slides) and the book (make book) will need it; everything else is installed"; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[lab,test,book]'
	touch $@

# Unpack the npm tarballs $(2) (name@version, pinned, none has dependencies) into folder $(1), one
# folder per package named after it (@jupyter-widgets/html-manager@1.0.15 -> $(1)/html-manager).
define npm_unpack
rm -rf $(1) && mkdir -p $(1)
cd $(1) && for spec in $(2); do \
    name=$${spec%@*}; name=$${name##*/}; tarball=$$(npm pack --silent "$$spec") && \
    mkdir "$$name" && tar -xzf "$$tarball" --strip-components=1 -C "$$name" && rm "$$tarball" || exit 1; \
done
touch $(1)/.installed
endef

# (as root, in a container or a VM, JupyterLab refuses to start without --allow-root)
lab: setup
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Two pytest-xdist workers (TEST_WORKERS=1 for one); a notebook's cells go together to one (tests/nbcompare.py).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The notebooks under nbval with another CPU's kernels: CPU=default (scalar), avx2 or avx512, set for torch's
# own kernels (ATEN_CPU_CAPABILITY), oneDNN's convolutions and MKL's BLAS; NOTEBOOKS= a subset.
# A printed number that depends on the vector unit fails here, on the machine that printed it.
CPU       ?= default
NOTEBOOKS ?= notebooks
CPU_ENV_default := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2
CPU_ENV_avx2    := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
CPU_ENV_avx512  := ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE MKL_ENABLE_INSTRUCTIONS=AVX512
test-cpu: setup
	@test -n "$(CPU_ENV_$(CPU))" || { echo "CPU must be default, avx2 or avx512, not '$(CPU)'"; exit 2; }
	$(CPU_ENV_$(CPU)) $(BIN)/python -m pytest -n $(TEST_WORKERS) -p no:cacheprovider $(NOTEBOOKS)

# Re-run every notebook headless in place (IGLIB_MODE=fast|full), rewriting figures/ and outputs.
figures: setup
	$(BIN)/python -m iglib.apps.runner

# Full mode (the paper-scale parameters) for the notebooks where it differs from fast mode, executed into
# runs/full/ (kept, and not compared by nbval; runs/full/record.json: time, memory, machine) with their figures in
# runs/full/figures/; 08's gallery of the 62 paper images is then copied to figures/imagenet/. A notebook whose
# kept run has the same sources is skipped, and 08 resumes its IG from runs/full/shards/, so an interrupted
# `make full` goes on where it stopped. Without a GPU: IGLIB_FULL_ON_CPU=1 (hours; README: Full mode).
FULL ?= 08_imagenet 09_question_classification 14_interactions 10_translation 13_other_paths 12_imagenet_faithfulness
full: setup
	$(BIN)/python -m iglib.apps.runner --mode full --out runs/full --resume $(foreach name,$(FULL),notebooks/$(name).ipynb)
	@if [ -d runs/full/figures/imagenet ]; then cp runs/full/figures/imagenet/*.png figures/imagenet/; fi

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
	$(call npm_unpack,$(SLIDES_DIR)/vendor,$(SLIDES_VENDOR))

$(SLIDES_DIR)/templates/offline_reveal/index.html.j2: Makefile
	mkdir -p $(@D)
	echo '{"base_template": "reveal", "mimetypes": {"text/html": true}}' > $(@D)/conf.json
	echo "{%- extends 'reveal/index.html.j2' -%}{% block html_head_js_mermaidjs %}{% endblock %}" > $@

# The book: the README, every notebook and the pages of docs/ (performance, at scale, data, tests,
# dependencies, the API reference from the docstrings) as a static website, build/book/html/index.html
# (Sphinx with myst-nb and sphinx-book-theme, configured in book/conf.py). It renders the committed
# outputs and never runs a notebook; with MathJax 3 and the widget renderer unpacked from npm into
# build/book/vendor/, no page fetches anything from outside the machine. -W: a warning (a broken link or reference) fails the build.
BOOK_DIR    ?= build/book
BOOK_VENDOR ?= build/book/vendor
BOOK_NPM    := mathjax@3.2.2 requirejs@2.3.7 @jupyter-widgets/html-manager@1.0.15

book: setup $(BOOK_VENDOR)/.installed
	IGLIB_BOOK_VENDOR=$(abspath $(BOOK_VENDOR)) $(BIN)/sphinx-build -q -W --keep-going -c book -d $(BOOK_DIR)/doctrees . $(BOOK_DIR)/html
	@echo "The book: $(BOOK_DIR)/html/index.html"

$(BOOK_VENDOR)/.installed:
	$(call npm_unpack,$(BOOK_VENDOR),$(BOOK_NPM))

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
