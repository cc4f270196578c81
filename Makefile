# The two commands: `make run` and `make test`. Each sets up everything it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PG_DIR ?= /tmp/bugfixer-test-pg
PG_PORT ?= 55432
AXE := tests/browser/vendor/node_modules/axe-core/axe.min.js
REDIS_DIR ?= /tmp/bugfixer-test-redis
REDIS_PORT ?= 56379

.PHONY: run test lint bench clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bugfixer db upgrade
	$(BIN)/bugfixer serve --host $(HOST) --port $(PORT)

# Chromium drives the browser tests; PostgreSQL runs the same tests as SQLite does;
# npm fetches axe-core, which the browser tests inject into pages (never served to users);
# Redis holds the shared rate limits; bubblewrap is the sandbox that runs programs to
# verify fixes.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -x /usr/lib/postgresql/15/bin/pg_ctl || missing="$$missing postgresql"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(AXE): tests/browser/vendor/package.json tests/browser/vendor/package-lock.json
	npm ci --prefix tests/browser/vendor --no-audit --no-fund --loglevel=error
	touch $(AXE)

test: $(STAMP) system-packages lint $(AXE)
	scripts/testdb.sh stop $(PG_DIR); rm -rf $(PG_DIR)
	scripts/testredis.sh stop $(REDIS_DIR); rm -rf $(REDIS_DIR)
	scripts/testdb.sh start $(PG_DIR) $(PG_PORT)
	scripts/testredis.sh start $(REDIS_DIR) $(REDIS_PORT) || { scripts/testdb.sh stop $(PG_DIR); exit 1; }
	BUGFIXER_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$(PG_PORT)/postgres \
	BUGFIXER_TEST_REDIS_URL=redis://127.0.0.1:$(REDIS_PORT)/0 \
	  $(BIN)/pytest -q -p no:cacheprovider; status=$$?; \
	  scripts/testdb.sh stop $(PG_DIR); rm -rf $(PG_DIR); \
	  scripts/testredis.sh stop $(REDIS_DIR); rm -rf $(REDIS_DIR); exit $$status

bench: $(STAMP)
	$(BIN)/python bench/bench_fixes.py
	$(BIN)/python bench/bench_sandbox.py
	$(BIN)/python bench/bench_front_page.py

clean:
	rm -rf $(VENV) instance *.egg-info tests/browser/vendor/node_modules
