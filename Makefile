# salesmetrics: every target sets itself up. Only Python 3.11+ and pip are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: help install browser test test-fast lint format demo report lab clean

help:
	@echo "make report   run the pipeline health report on the demo log: reports/pipeline_health.html"
	@echo "make test     install into .venv (pinned versions) and run the whole suite"
	@echo "make test-fast  lint, then the suite without notebook kernels and slow tests (the inner loop)"
	@echo "make browser  install Debian's chromium (as root) for the report browser test; make test runs it"
	@echo "make demo     regenerate the demo log in datasets/demo from the simulator"
	@echo "make lint     ruff lint and format check"
	@echo "make format   ruff format and autofix"

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements/constraints.txt -e ".[dev,scale]"
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check salesmetrics tests benchmarks
	$(BIN)/ruff format --check salesmetrics tests benchmarks
	$(BIN)/lint-imports  # the layers of docs/architecture.md ([tool.importlinter] in pyproject.toml)

format: install
	$(BIN)/ruff format salesmetrics tests benchmarks
	$(BIN)/ruff check --fix salesmetrics tests benchmarks

# Debian's chromium for tests/test_report_browser.py. Installed only as root (CI is); otherwise that test skips.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the report browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "chromium is not installed and this is not root: tests/test_report_browser.py will skip."; \
		echo "Install it with: sudo apt-get install --no-install-recommends chromium"; \
	fi

test: install lint browser
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile  # 1 thread per worker, no oversubscription
# The report notebooks run once, in tests/test_report_notebooks.py (through the runner: every cell, no stderr, the HTML).
# To run them as plain notebooks: $(BIN)/python -m pytest --nbval-lax salesmetrics/reports/notebooks

# The inner loop: the suite minus what is marked notebook (a Jupyter kernel) or slow; `make test` runs everything.
test-fast: install lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not notebook and not slow"

datasets/demo/salesmetrics.yaml:
	$(MAKE) demo

report: install datasets/demo/salesmetrics.yaml
	$(BIN)/salesmetrics report pipeline_health datasets/demo --out reports --overwrite

# JupyterLab on exercises/, the trainee's own copies of the packaged notebooks (git ignores it; decision 0041).
lab: install  # as root (containers, shared servers) it passes --allow-root: salesmetrics/exercises/lab.py
	@mkdir -p exercises
	$(BIN)/python -m salesmetrics.exercises.lab exercises

demo: install  # the same settings as salesmetrics.simulation.simulator.DEMO; tests/test_demo.py checks the files match
	$(BIN)/python -c "from salesmetrics.simulation import main_demo; print('wrote', main_demo('datasets/demo'))"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
