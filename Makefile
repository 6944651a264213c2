# The two commands a user needs: `make run` starts the app, `make test` runs every test.
# Both set up what they need first and are safe to repeat.
PYTHON ?= python3
VENV := .venv
SERVER_VENV := .venv-server
# fonts-wqy-microhei: Chinese glyphs, so the browser tests' Chinese screenshots show text, not boxes.
APT_PACKAGES := chromium ffmpeg fonts-dejavu-core fonts-wqy-microhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Every venv installs from a lock in requirements/ (uv-compiled, every package pinned; see README
# "Dependencies"): --no-deps installs exactly the lock, and `pip check` proves it is complete.
PIP_INSTALL_LOCK = bin/pip install -q --no-deps -r
LOCK_COMPILE := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --custom-compile-command "make lock"

# The whole suite is these tests on two processes (one per core; each runs torch on one thread,
# tests/conftest.py), then the browser and server tests one at a time: they share one app server,
# one Chromium and one `transformers serve`, and a page must never wait on a neighbour's answer.
FAST_TESTS := $(VENV)/bin/pytest -n 2 -m "not browser and not server"

.PHONY: run test test-fast lint format bench lock upgrade-locks system-packages

run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py

test: $(VENV)/.dev $(SERVER_VENV)/.installed system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(FAST_TESTS)
	$(VENV)/bin/pytest -m "browser or server"

# Everything but the real-browser and real-server tests: the loop to run while changing code.
test-fast: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(FAST_TESTS)

# Rewrite the locks after editing a requirements/*.in (pins that still fit are kept) ...
lock: $(VENV)/.dev
	cd requirements && for env in app dev server; do ../$(LOCK_COMPILE) $$env.in -o $$env.txt || exit 1; done

# ... or move every package to its newest release the .in files allow: a deliberate commit.
upgrade-locks: $(VENV)/.dev
	cd requirements && for env in app dev server; do ../$(LOCK_COMPILE) --upgrade $$env.in -o $$env.txt || exit 1; done

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.dev
	$(VENV)/bin/python benchmarks/bench_preprocess.py

$(VENV)/.runtime: requirements/app.txt
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/$(PIP_INSTALL_LOCK) requirements/app.txt
	$(VENV)/bin/pip check
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.txt
	$(VENV)/$(PIP_INSTALL_LOCK) requirements/dev.txt
	$(VENV)/bin/pip check
	touch $@

# transformers 5.x for the tests' real OpenAI-compatible server; it cannot share the app's venv.
$(SERVER_VENV)/.installed: requirements/server.txt
	[ -x $(SERVER_VENV)/bin/python ] || $(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/$(PIP_INSTALL_LOCK) requirements/server.txt
	$(SERVER_VENV)/bin/pip check
	touch $@

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
