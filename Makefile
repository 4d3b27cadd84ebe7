# musegen — two commands: `make lab` (open the course) and `make test` (run every test).
# Both create .venv with `python3 -m venv` when it is missing and install requirements.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.musegen-installed

.PHONY: install lab test notebooks benchmarks clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

# Normal mode: full data and training (unset MUSEGEN_FAST in case the shell has it).
lab: install
	env -u MUSEGEN_FAST -u CI $(BIN)/jupyter lab notebooks/

# Fast mode always: smaller data and fewer epochs, the same code path.
test: install
	MUSEGEN_FAST=1 $(BIN)/python -m pytest

notebooks: install
	$(BIN)/python -m musegen_helpers.course build-notebooks

benchmarks: install
	$(BIN)/python -m benchmarks

clean-venv:
	rm -rf $(VENV)
