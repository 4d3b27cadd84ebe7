# musegen — two commands: `make lab` (open the course) and `make test` (run every test).
# Both create .venv with `python3 -m venv` when it is missing and install requirements.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.musegen-installed

.PHONY: install lab test test-latest notebooks benchmarks site chromium clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

# Normal mode: full data and training (unset MUSEGEN_FAST in case the shell has it).
lab: install
	env -u MUSEGEN_FAST -u CI $(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The browser test needs Debian's Chromium; install it when we can (root + apt-get), else the
# browser tests are skipped with that reason.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "note: chromium is not installed; the browser tests will be skipped"

# Fast mode always: smaller data and fewer epochs, the same code path. Two pytest workers
# (pytest-xdist); --dist loadscope keeps each notebook's cells on one worker, in order, in one
# kernel (nbval), and gives each notebook's rerun test (a class in tests/test_rerun.py) its own
# slot; tests/conftest.py puts the longest work first. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
test: install chromium
	MUSEGEN_FAST=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

notebooks: install
	$(BIN)/python -m musegen_helpers.course build-notebooks

benchmarks: install
	$(BIN)/python -m benchmarks

clean-venv:
	rm -rf $(VENV)

# The course as static HTML (every solution notebook executed in fast mode): open site/index.html
site: install
	$(BIN)/python -m musegen_helpers.site --out site

# Scheduled-style check: a fresh .venv-latest with the newest versions requirements.txt allows,
# then the whole suite; prints the versions it tested. Run weekly (or before a course starts).
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -r requirements.txt
	.venv-latest/bin/python -m pip freeze | grep -iE '^(numpy|scipy|music21|mido|pretty.midi|verovio|matplotlib|ipython|ipywidgets|keras|tensorflow|jupyterlab|nbval|pytest|hypothesis|muspy|playwright)=='
	MUSEGEN_FAST=1 .venv-latest/bin/python -m pytest
