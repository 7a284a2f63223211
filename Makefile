# cockpit: developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help setup demo test check format screenshots bench mutation clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install cockpit with its test tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup ## run the bundled demo: deploy a bad release, watch it go RED, roll it back
	$(BIN)/cockpit demo

test: setup ## run the whole test suite (installs tmux and prometheus when root and missing)
	$(BIN)/python -m pytest -n auto --dist loadgroup

check: setup ## ruff format check, ruff lint, strict mypy
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/mypy

format: setup ## format the code
	$(BIN)/ruff format src tests scripts benchmarks
	$(BIN)/ruff check --fix src tests scripts benchmarks

screenshots: setup ## render every phase of the real app into screenshots/
	$(BIN)/python scripts/screenshots.py

# About 13 minutes on 2 cores (4 of them generating a 24-hour journal, cached for the next run).
# BENCH_QUICK=1: one short run of each (shape only); BENCH_ARGS passes options, e.g. --only.
bench: setup ## run every benchmark and write BENCHMARKS.md (see benchmarks/README.md)
	$(BIN)/python benchmarks/report.py $(BENCH_ARGS)

# CPU-heavy (about 950 mutants, 2 test processes): niced, and not part of `make test`.
# MUTATE_ARGS passes options, e.g. MUTATE_ARGS="src/cockpit/engine/rules.py --json out.json".
mutation: setup ## mutation score of the safety core's six modules (scripts/mutate.py)
	nice -n 10 $(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
