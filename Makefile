# agentcron developer commands. Everything runs from a local virtualenv built from pinned requirements:
# `make run` installs what running needs (requirements-run.txt); `make test` / `make bench` add the test and
# bench tools (requirements-dev.txt) to the same .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: run test bench lint venv venv-run clean

venv-run: $(VENV)/.run-installed
venv: $(VENV)/.installed

$(VENV)/.run-installed: requirements-run.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-run.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.installed: $(VENV)/.run-installed requirements-dev.txt layers/agentcron/requirements.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

## make run: the whole system locally on an embedded moto stack (no AWS account). ARGS="--for 30" stops by itself.
run: venv-run
	$(PY) -m agentcron.local $(ARGS)

## make test: template lint + the whole test suite.
test: venv lint
	$(PY) -m pytest -n 2 --dist loadgroup $(ARGS)

lint: venv
	$(VENV)/bin/cfn-lint template.yaml

## make bench: measured figures as JSON under bench/results/.
bench: venv
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
