# agentcron developer commands. Everything runs from a local virtualenv built from pinned requirements.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: run test model-check bench lint venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml layers/agentcron/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

## make run: the whole system locally on an embedded moto stack (no AWS account). ARGS="--for 30" stops by itself.
run: venv
	$(PY) -m agentcron.local $(ARGS)

## make test: template lint + the whole test suite.
test: venv lint
	$(PY) -m pytest -n 2 --dist loadgroup $(ARGS)

## make model-check: the model-checked pipeline's long profile (new random interleavings; README).
model-check: venv
	AGENTCRON_MODEL_CHECK=long $(PY) -m pytest -p no:xdist tests/integration/test_pipeline_model.py $(ARGS)

lint: venv
	$(VENV)/bin/cfn-lint template.yaml

## make bench: measured figures as JSON under bench/results/.
bench: venv
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
