# Two commands a new user needs: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is pinned: plain `torch` would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
SAMPLE := src/panoptix/data/sample
DEMO   := demo-out
PORT   ?= 8000

.PHONY: demo test install install-test studio clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall (and rebuild the C extension) whenever the package definition or the C source changes.
BUILD_INPUTS := pyproject.toml setup.py src/panoptix/_speedups.c
$(VENV)/.installed: $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q -e ".[viz,studio]"
	touch $@

$(VENV)/.installed-test: $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[viz,models,studio,dask,test]"
	$(BIN)/pip install -q --no-deps panopticapi-lite
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/panoptix info $(SAMPLE)/panoptic.json
	$(BIN)/panoptix convert $(SAMPLE)/panoptic.json $(DEMO)/semantic --to semantic-png
	$(BIN)/panoptix convert $(SAMPLE)/panoptic.json $(DEMO)/instances.json --to coco-instances
	$(BIN)/panoptix validate $(DEMO)/instances.json
	@echo "demo outputs in $(DEMO)/ -- now the labeling studio (Ctrl+C to stop):"
	$(BIN)/panoptix studio --demo --port $(PORT)

test: install-test
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
