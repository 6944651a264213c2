# The two commands a user needs: `make run` starts the app, `make test` runs every test.
# Both set up what they need first and are safe to repeat.
PYTHON ?= python3
VENV := .venv
SERVER_VENV := .venv-server
# fonts-wqy-microhei: Chinese glyphs, so the browser tests' Chinese screenshots show text, not boxes.
APT_PACKAGES := chromium ffmpeg fonts-dejavu-core fonts-wqy-microhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format bench system-packages

run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py

test: $(VENV)/.dev $(SERVER_VENV)/.installed system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.dev
	$(VENV)/bin/python benchmarks/bench_preprocess.py

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

# transformers 5.x for the tests' real OpenAI-compatible server; it cannot share the app's venv.
$(SERVER_VENV)/.installed: requirements-server.txt
	$(PYTHON) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/pip install -q --upgrade pip
	$(SERVER_VENV)/bin/pip install -q -r requirements-server.txt
	touch $@

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
