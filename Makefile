# Plain entry points. Every target creates .venv when it is missing.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    ?= demo-project

.PHONY: run test wheel-check bench lint screenshots demo clean-venv

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Start the program on the built-in demo project (made on first run).
run: $(STAMP)
	test -f $(DEMO)/labels.json || $(BIN)/skysegui demo $(DEMO)
	$(BIN)/skysegui $(DEMO)

## Run the whole test suite (offscreen Qt; the Xvfb test starts its own server).
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

## Build the wheel, install it (not editable) into a fresh venv and run the installed
## program from outside the checkout (--version, info, the window's --screenshot).
wheel-check: $(STAMP)
	PY=$(BIN)/python .ci/wheel_check.sh

## Run every benchmark and print one table of ratios and figures.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check skysegui tests benchmarks training

## Refresh the README's screenshots.
screenshots: $(STAMP)
	test -f $(DEMO)/labels.json || $(BIN)/skysegui demo $(DEMO)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/skysegui --screenshot docs/img/main-window.png $(DEMO)

demo: $(STAMP)
	$(BIN)/skysegui demo $(DEMO)

clean-venv:
	rm -rf $(VENV)
