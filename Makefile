# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint format messages check-tree clean bench browser load backup-check

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Serve the demo at http://127.0.0.1:8000 with a Celery worker and beat running beside it.
# The broker is kombu's filesystem transport under var/broker: real queues, no server.
run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@mkdir -p var/broker/queue var/broker/processed
	@echo "Starting Celery (worker + beat) and the web server; Ctrl-C stops both."
	@CELERY_BROKER_URL=filesystem:// bash -c 'trap "kill 0" EXIT INT TERM; \
	  $(BIN)/celery -A governance worker --beat --concurrency=1 --loglevel=INFO \
	    --schedule=var/celerybeat-schedule & \
	  $(MANAGE) runserver 127.0.0.1:8000'

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Needs GNU gettext (msgfmt); the compiled .mo files are committed so a newcomer needs none.
messages: install
	$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(MANAGE) compilemessages --ignore=.venv

# The browser of the end-to-end tests (tests/e2e): Debian's Chromium and CJK fonts, so the
# screenshots show Chinese. Needs root; does nothing when Chromium is already there.
browser:
	@if [ -x /usr/bin/chromium ]; then echo "Chromium is installed: /usr/bin/chromium"; else \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; \
	fi

# Load with nothing lost (loadtest/README.md): gunicorn, a Celery worker and locust on
# loopback against the local PostgreSQL and Redis, then the reconciliation. Bounded by
# LOAD_SECONDS (default 180) and LOAD_USERS (60); locust comes from the `load` extra.
load: install
	@$(BIN)/python -c "import locust" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[load]"
	$(BIN)/python loadtest/run.py

# A seeded database backed up (pg_dump) and restored (pg_restore) to identical rows,
# contents, sequences and schema, its ID numbers readable with its keys (ops/BACKUP.md).
backup-check: install
	$(BIN)/python ops/backup_check.py

check-tree: install
	$(MANAGE) check_grid_tree

# The product at county scale (bench/README.md): builds a synthetic county in a database of
# its own (never yours), measures, writes bench/results.json. SCALE=small|medium|full.
SCALE ?= small
bench: install
	$(MANAGE) migrate --noinput
	$(MANAGE) bench --scale $(SCALE)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
