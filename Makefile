# The collection's two commands: `make lab` (open the notebooks) and `make test` (run every test).
# Both build their own environment in .venv first (torch pinned to 2.13.0 in pyproject.toml).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lab test setup figures clean

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

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
