# Two commands for a fresh machine: `make run` (the default sweep) and `make test`;
# `make docs` builds the documentation site into docs/_build/html.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/config.yaml
CORES ?= 2
# test processes (pytest-xdist); tests/conftest.py says how the suite is split between them
TEST_WORKERS ?= 2

.PHONY: run test docs venv bench bench-quick paper clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[pipeline,hpc,test,docs]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/netsense run --configfile $(CONFIG) --cores $(CORES)

# the tests, and the tutorial notebook executed cell by cell (nbmake)
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	  --durations=15 --nbmake tests docs/tutorial.ipynb

# warnings are errors; the tutorial is executed by the build (its outputs are not committed)
docs: $(STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going docs docs/_build/html
	@echo "netsense: docs     docs/_build/html/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

# The paper reproduction and the beam models: the sweeps `netsense findings runs` names, then
# their findings into data/findings/, docs/ (the findings page) and the README. About 15 minutes
# on 2 cores.
paper: $(STAMP)
	runs="$$($(BIN)/netsense findings runs)" || exit 1; \
	for c in $$runs; do $(BIN)/netsense run --configfile config/$$c.yaml --cores $(CORES) || exit 1; done; \
	$(BIN)/netsense findings collect $$(for c in $$runs; do echo results/$$c; done) \
	  --page docs/guide/findings.md --readme README.md

clean:
	rm -rf results .snakemake
