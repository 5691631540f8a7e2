# Herd Lab: `make run` starts the app, `make test` runs every test, `make check` a quick subset.
# All create .venv/ when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
ARGS ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= 3
CHECK := tests/engine tests/transport/test_lab_payloads.py tests/transport/test_layers.py \
	tests/browser/test_lab.py::test_promise_coalescing_sends_one_query_per_chunk

.PHONY: run test check bench clean

# The tests start ~850 Python processes (simulation workers, servers, pytest's workers): where the
# environment says not to write bytecode (CI's does), each compiled the project's code again, about
# 35 CPU s of a run (bench/README.md). The tests write it, in the usual __pycache__ (git ignores it).
test check: export PYTHONDONTWRITEBYTECODE :=

run: $(VENV)/.stamp-run
	$(PY) -m webapp $(ARGS)

test: $(VENV)/.stamp-dev
	@tests/require.sh chromium-headless-shell
	@tests/require.sh redis-server
	@tests/require.sh postgres postgresql
	@tests/require.sh nginx nginx
	@tests/require.sh openssl openssl
	@tests/require.sh systemd-analyze systemd
	@tests/require.sh prlimit util-linux
	@# Most tests wait on a browser, a server or a worker: they run $(TEST_WORKERS) at a time (three:
	@# on two cores, contention makes the same work cost more CPU: the browser tests 17% more at
	@# four than at two, the whole suite 5% more at four than at three; bench/README.md). Those
	@# that time a server or drive the real services run afterwards (marker `serial`), in two streams
	@# side by side, each the other's one busy neighbour: the real-services tests (markers `real`,
	@# their own PostgreSQL and Redis, and `redis`, a Redis killed and restarted) and the rest.
	@# The lessons' claims on many seeds (marker `claims`, minutes of CPU and nothing else) run
	@# beside all of it, at a low priority, on the cores the waiting tests leave idle
	@# (tests/conftest.py says why). Outputs that ran beside are printed at the end. Every part
	@# always runs; `make test` fails if any failed. Exit 5 is "no test selected" (a PYTEST_ARGS
	@# that picks only some kinds).
	@mkdir -p test-artifacts; failed=0; \
	nice -n 10 $(PY) -m pytest -m claims --durations=5 $(PYTEST_ARGS) > test-artifacts/claims.log 2>&1 & \
	claims=$$!; \
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not serial and not claims" \
		--durations=15 $(PYTEST_ARGS) || [ $$? -eq 5 ] || failed=1; \
	$(PY) -m pytest -m "serial and (real or redis)" --durations=10 $(PYTEST_ARGS) > test-artifacts/serial-real.log 2>&1 & \
	real=$$!; \
	$(PY) -m pytest -m "serial and not (real or redis)" --durations=15 $(PYTEST_ARGS) || [ $$? -eq 5 ] || failed=1; \
	echo "== the real-services tests, run beside the part above (test-artifacts/serial-real.log):"; \
	wait $$real || [ $$? -eq 5 ] || failed=1; \
	cat test-artifacts/serial-real.log; \
	echo "== the lessons' claims, run beside all the parts above (test-artifacts/claims.log):"; \
	wait $$claims || [ $$? -eq 5 ] || failed=1; \
	cat test-artifacts/claims.log; \
	if [ $$failed -ne 0 ]; then echo "make test: some tests failed (see the four parts above)"; fi; \
	exit $$failed

# The quick loop for contributors (under 90 s on a 2-core machine): the engine, the validation of
# what browsers send, and one lab run in Chromium. `make test` before you push.
check: $(VENV)/.stamp-dev
	@tests/require.sh chromium-headless-shell
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
