# agentcron developer commands. Everything runs from a local virtualenv built from pinned requirements:
# `make run` installs what running needs (requirements-run.txt); `make test` / `make bench` add the test and
# bench tools (requirements-dev.txt) to the same .venv.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: run test test-py313 model-check bench lint venv venv-run clean

# The Lambda runtime's Python (template.yaml: python3.13), for the SSRF guard's tests; pyenv's shim honours
# PYENV_VERSION, a python3.13 of the system ignores it.
PY313      ?= python3.13
PYENV_313  ?= 3.13.0
VENV313    ?= .venv-py313
SSRF_TESTS := tests/integration/test_tools_http_fetch.py

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

## make test: template lint + the SSRF tests on Python 3.13 + the whole test suite.
test: venv lint test-py313
	$(PY) -m pytest -n 2 --dist loadgroup $(ARGS)

## make model-check: the model-checked pipeline's long profile (new random interleavings; README).
model-check: venv
	AGENTCRON_MODEL_CHECK=long $(PY) -m pytest -p no:xdist tests/integration/test_pipeline_model.py $(ARGS)

## make test-py313: the http_fetch network guard's tests (real local sockets) on Python 3.13, in a venv of
## its own holding only the layer's requirements and pytest: address parsing (ipaddress, urllib) changes
## between Python versions, and Lambda runs 3.13. Fails, saying why, when no Python 3.13 is found.
test-py313: $(VENV313)/.installed
	PYTHONPATH=layers/agentcron $(VENV313)/bin/python -m pytest --noconftest -q $(SSRF_TESTS)

$(VENV313)/.installed: layers/agentcron/requirements.txt requirements-dev.txt
	@PYENV_VERSION=$(PYENV_313) $(PY313) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' \
	  || { echo "make test-py313: no Python 3.13 found as '$(PY313)' (with PYENV_VERSION=$(PYENV_313));" \
	       "install one (pyenv install 3.13.0) or pass PY313=/path/to/python3.13" >&2; exit 1; }
	rm -rf $(VENV313)
	PYENV_VERSION=$(PYENV_313) $(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --disable-pip-version-check -r layers/agentcron/requirements.txt \
	  $$(grep -E '^(pytest|cryptography)==' requirements-dev.txt)
	@$(VENV313)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 13), sys.version'
	@touch $@

lint: venv
	$(VENV)/bin/cfn-lint template.yaml

## make bench: measured figures as JSON under bench/results/.
## The cold start is measured on the Lambda runtime's Python with only the layer installed (the test-py313 venv);
## without a Python 3.13 it falls back to .venv's interpreter and says so in its figures.
bench: venv
	@$(MAKE) --no-print-directory $(VENV313)/.installed || echo "make bench: no Python 3.13; cold start measured on $(PY)"
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) $(VENV313) .pytest_cache .hypothesis
