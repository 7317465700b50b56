# clearcount — install, run, test, UI. Works on a machine with only Python 3.11+ and make.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PYTHON) -m uv
endif
DAGSTER_HOME_DIR := $(CURDIR)/.dagster_home

.PHONY: install run test ui notebook lint format browser dagster-home

install: ## install uv (with pip) when missing, then the locked dependencies
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv || \
		$(PYTHON) -m pip install --quiet --break-system-packages uv
	$(UV) sync --frozen

run: install dagster-home ## run the whole weekly refresh on $$CLEARCOUNT_LANDING_DIR (default data/sample); `make ui` shows the run
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(UV) run --frozen clearcount refresh

browser: ## Debian chromium for the browser tests (installed only when running as root)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
				|| echo "chromium could not be installed; browser tests will be skipped"; \
		fi; \
	fi

test: install browser ## run the whole test suite
	$(UV) run --frozen pytest

dagster-home:
	@mkdir -p $(DAGSTER_HOME_DIR)
	@cp dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml

ui: install dagster-home ## Dagster UI on http://127.0.0.1:3000
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(UV) run --frozen dagster dev -h 127.0.0.1 -p 3000

notebook: install ## JupyterLab on http://127.0.0.1:8888 with the analyst notebook (reads the warehouse read-only)
	$(UV) run --frozen jupyter lab --ip 127.0.0.1 --port 8888 --no-browser --allow-root notebooks/analyst_walkthrough.ipynb

lint: install ## ruff lint and format check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .
