# AirPrompts Migrate: make serve runs the app, make test runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENDOR := static/vendor
# app/ and its JSON Schemas as one zip (app/bundle.py; pyscript.toml [files]); the dev server builds its own on request.
ARCHIVE := static/app.zip
# The folders too: removing a module changes its folder's time.
ARCHIVE_SOURCES := $(shell find app static/schemas -name __pycache__ -prune -o \( -type d -o -name '*.py' -o -name '*.json' \) -print 2>/dev/null)
WASM_PIP_FLAGS := --no-deps --require-hashes --only-binary=:all: \
	--platform pyemscripten_2026_0_wasm32 --platform any \
	--python-version 3.14 --implementation cp --abi cp314 --abi none

.PHONY: setup serve test test-unit test-e2e bench lint clean chromium schemas constants

setup: $(VENV)/.stamp $(VENDOR)/.stamp $(ARCHIVE)

# The local Python environment for tests, the dev server and the benchmark.
$(VENV)/.stamp: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Browser assets, served from our own origin: Pyodide core, PyScript, wheels; React for the React host example.
$(VENDOR)/.stamp: node_modules/.stamp requirements/browser.txt
	rm -rf $(VENDOR).tmp && mkdir -p $(VENDOR).tmp/wheels $(VENDOR).tmp/react
	cp -r node_modules/pyodide $(VENDOR).tmp/pyodide
	cp -r node_modules/@pyscript/core/dist $(VENDOR).tmp/pyscript
	cp node_modules/react/umd/react.production.min.js node_modules/react-dom/umd/react-dom.production.min.js \
		node_modules/react/LICENSE $(VENDOR).tmp/react/
	$(PYTHON) -m pip download -q --disable-pip-version-check $(WASM_PIP_FLAGS) \
		-r requirements/browser.txt -d $(VENDOR).tmp/wheels
	rm -rf $(VENDOR) && mv $(VENDOR).tmp $(VENDOR)
	touch $@

# For a static server other than make serve's: rebuilt whenever a source is newer.
$(ARCHIVE): $(ARCHIVE_SOURCES)
	$(PYTHON) -m app.bundle $@

# Debian's chromium for the end-to-end tests (make serve does not need it).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

serve: setup
	$(PY) -m app.devserver --host 127.0.0.1 --port $(PORT)

test: setup chromium
	$(PY) -m pytest

test-unit: setup
	$(PY) -m pytest tests/unit

test-e2e: setup chromium
	$(PY) -m pytest tests/e2e

bench: setup chromium
	$(PY) -m tests.bench.run

# The record JSON Schemas of static/schemas, written from the pydantic models.
schemas: setup
	$(PY) -m app.core.schemas

# static/js/constants.js, written from app/core/keys.py and the version registry.
constants: setup
	$(PY) -m app.core.jsconstants

lint: setup
	$(PY) -m ruff check app tests playwright.config.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) $(ARCHIVE) .pytest_cache .ruff_cache .hypothesis tests/artifacts
