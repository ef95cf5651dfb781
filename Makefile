# collections_automation: the commands a developer and CI use.
# Setup is shared: tools/devenv.py builds what is missing (virtualenv, Odoo
# source, PostgreSQL role, Chromium) in $(COLLECTIONS_ENV), outside the checkout.
PYTHON ?= python3
DEVENV := $(PYTHON) tools/devenv.py
ADDON := collections_automation

.PHONY: run test test-clock lint simulate score-eval bench bench-peer bench-scale bench-score bench-desk load screenshots dist readme env help

help:
	@echo "make run    serve Odoo with the add-on and its demo data on http://127.0.0.1:8069"
	@echo "make test   run the whole test suite on a fresh database, its date-sensitive part at every moment of the clock matrix"
	@echo "make test-clock  the whole suite at every moment of the clock matrix (MOMENTS=saturday,new-year for some)"
	@echo "make lint   ruff and pylint-odoo"
	@echo "make simulate  a simulated year of collections, invariants checked daily (DAYS, CUSTOMERS, SEED)"
	@echo "make score-eval  the payment score on simulated ledgers, beside the baseline (DAYS, CUSTOMERS, SEED)"
	@echo "make bench  engine benchmark (BENCH_SIZE=100000 for the large one)"
	@echo "make bench-peer  end to end, ours and OCA account_credit_control on copies of one dataset"
	@echo "make bench-scale  the engine through queue_job: one worker, two workers, two servers"
	@echo "make bench-score  the payment score: training, scoring, worklist (BENCH_SIZE=100000 for its targets)"
	@echo "make bench-desk  every screen of the desk and the idle hourly run at 1,000,000 collections (BENCH_SIZE)"
	@echo "make load   load test: 20 customers on the payment page, beside Odoo's invoice page"
	@echo "make screenshots  the README's screenshots, from the demo database (on demand)"
	@echo "make dist   build the modules' wheels into dist/"
	@echo "make readme each module's README.rst and Apps page, from its readme/ fragments"
	@echo "make env    build the environment only, and print where it is"

env:
	@$(DEVENV) env

run:
	@$(DEVENV) run

# Pass pytest options with T, e.g. make test T="-k test_access"
test:
	@$(DEVENV) test $(T)

# The suite (or T's part of it) with the machine's clock, and the database's,
# set to each moment of the clock matrix (tools/clock_matrix.py).
test-clock:
	@$(DEVENV) test-clock $(T)

lint:
	@$(DEVENV) lint

# DAYS (365), CUSTOMERS (300) and SEED (1,2,3; several with commas) come from
# the command line: make simulate DAYS=365 CUSTOMERS=300 SEED=42
simulate:
	@$(DEVENV) simulate

# The payment score trained on nine months of a simulated ledger and measured
# on the last three, for each seed: make score-eval SEED=1,2,3
score-eval:
	@$(DEVENV) score-eval

bench:
	@$(DEVENV) bench

bench-peer:
	@$(DEVENV) bench-peer

bench-scale:
	@$(DEVENV) bench-scale

bench-score:
	@$(DEVENV) bench-score

bench-desk:
	@$(DEVENV) bench-desk

load:
	@$(DEVENV) load

dist:
	@$(DEVENV) dist

readme:
	@$(DEVENV) readme

screenshots:
	@$(DEVENV) screenshots
