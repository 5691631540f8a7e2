# Herd Lab: `make run` starts the app, `make test` runs every test. Both create .venv/ when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test bench clean

run: $(VENV)/.stamp-run
	$(PY) -m webapp $(ARGS)

test: $(VENV)/.stamp-dev
	@tests/require.sh chromium
	@tests/require.sh redis-server
	@tests/require.sh postgres postgresql
	@tests/require.sh nginx nginx
	@tests/require.sh openssl openssl
	@tests/require.sh systemd-analyze systemd
	@# Most tests wait on a browser, a server or a worker: they run three at a time. Those that time
	@# a server or drive the real services run alone afterwards (marker `serial`, tests/conftest.py).
	@# Exit 5 is "no test selected" (a PYTEST_ARGS that picks only one kind).
	$(PY) -m pytest -n 3 --dist loadfile -m "not serial" --durations=15 $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PY) -m pytest -m serial --durations=15 $(PYTEST_ARGS) || [ $$? -eq 5 ]

bench: $(VENV)/.stamp-dev
	$(PY) bench/engine.py

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file changed (the stamp is older than it).
$(VENV)/.stamp-run: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	@touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	@touch $@ $(VENV)/.stamp-run

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
