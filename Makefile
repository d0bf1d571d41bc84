# The collection's two commands: `make lab` (open the notebooks) and `make test` (run every test).
# Both build their own environment in .venv first (torch pinned to 2.13.0 in pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lab test setup figures benchmark clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $@

lab: setup
	$(BIN)/jupyter lab notebooks/

test: setup
	$(BIN)/python -m pytest

# Re-run every notebook headless in place (IGLIB_MODE=fast|full), rewriting figures/ and outputs.
figures: setup
	$(BIN)/python -m iglib.runner

# iglib against Captum on EfficientNet-Lite0: speed, accuracy per evaluation, memory (prints tables, writes JSON).
benchmark: setup
	$(BIN)/python benchmarks/ig_benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
