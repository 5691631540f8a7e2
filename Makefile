# Herd Lab: `make run` starts the app, `make test` runs every test, `make check` a quick subset.
# All create .venv/ when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
ARGS ?=
PYTEST_ARGS ?=
CHECK := tests/engine tests/transport/test_lab_payloads.py tests/transport/test_layers.py \
	tests/browser/test_lab.py::test_promise_coalescing_sends_one_query_per_chunk

.PHONY: run test check bench clean

run: $(VENV)/.stamp-run
	$(PY) -m webapp $(ARGS)

test: $(VENV)/.stamp-dev
	@tests/require.sh chromium
	@tests/require.sh redis-server
	@tests/require.sh postgres postgresql
	@tests/require.sh nginx nginx
	@tests/require.sh openssl openssl
	@tests/require.sh systemd-analyze systemd
	@tests/require.sh prlimit util-linux
	@# Most tests wait on a browser, a server or a worker: they run three at a time. Those that time
	@# a server or drive the real services run alone afterwards (marker `serial`, tests/conftest.py).
	@# Both parts always run; `make test` fails if either failed. Exit 5 is "no test selected" (a
	@# PYTEST_ARGS that picks only one kind).
	@failed=0; \
	$(PY) -m pytest -n 3 --dist loadfile --no-loadscope-reorder -m "not serial" --durations=15 \
		$(PYTEST_ARGS) \
		|| [ $$? -eq 5 ] || failed=1; \
	$(PY) -m pytest -m serial --durations=15 $(PYTEST_ARGS) || [ $$? -eq 5 ] || failed=1; \
	if [ $$failed -ne 0 ]; then echo "make test: some tests failed (see both parts above)"; fi; \
	exit $$failed

# The quick loop for contributors (under 90 s on a 2-core machine): the engine, the validation of
# what browsers send, and one lab run in Chromium. `make test` before you push.
check: $(VENV)/.stamp-dev
	@tests/require.sh chromium
	$(PY) -m pytest -n 3 -q $(CHECK) $(PYTEST_ARGS)

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
