# salesmetrics: every target sets itself up. Only Python 3.11+ and pip are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: help install test lint format demo report lab clean

help:
	@echo "make report   run the pipeline health report on the demo log: reports/pipeline_health.html"
	@echo "make test     install into .venv (pinned versions) and run the whole suite"
	@echo "make demo     regenerate the demo log in datasets/demo from the simulator"
	@echo "make lint     ruff lint and format check"
	@echo "make format   ruff format and autofix"

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements/constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check salesmetrics tests benchmarks
	$(BIN)/ruff format --check salesmetrics tests benchmarks

format: install
	$(BIN)/ruff format salesmetrics tests benchmarks
	$(BIN)/ruff check --fix salesmetrics tests benchmarks

test: install lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile
	$(BIN)/python -m pytest --nbval-lax notebooks  # one process: nbval cells share a kernel

datasets/demo/salesmetrics.yaml:
	$(MAKE) demo

report: install datasets/demo/salesmetrics.yaml
	$(BIN)/salesmetrics report pipeline_health --log datasets/demo --out reports --force

demo: install  # the same settings as salesmetrics.simulate.DEMO; tests/test_demo.py checks the files match
	$(BIN)/python -c "from salesmetrics.simulate import main_demo; print('wrote', main_demo('datasets/demo'))"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
