# Two commands for a fresh machine: `make run` (the default sweep) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/config.yaml
CORES ?= 2

.PHONY: run test venv bench bench-quick paper clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[pipeline,hpc,test]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/netsense run --configfile $(CONFIG) --cores $(CORES)

test: $(STAMP)
	$(BIN)/python -m pytest tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/run.py --quick

# The paper reproduction and the beam models: four sweeps, then their findings
# into data/findings/, docs/ and the README. About 15 minutes on 2 cores.
PAPER_RUNS := paper-sec2c beams paper-fig1 paper-gap
paper: $(STAMP)
	for c in $(PAPER_RUNS); do $(BIN)/netsense run --configfile config/$$c.yaml --cores $(CORES) || exit 1; done
	$(BIN)/netsense findings collect $(addprefix results/,$(PAPER_RUNS)) --readme README.md

clean:
	rm -rf results .snakemake
