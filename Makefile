# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint format messages check-tree clean

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

check-tree: install
	$(MANAGE) check_grid_tree

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
