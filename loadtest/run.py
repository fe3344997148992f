"""``make load``: the platform under load on loopback, then the reconciliation.

1. A database of its own (``governance_load`` on the local PostgreSQL), migrated and
   seeded with the demo; the scenario's tokens (``loadtest/prepare.py``).
2. gunicorn (two workers) and a Celery worker with beat, in production mode, against
   that database and Redis (two database numbers of their own, emptied first).
3. locust, headless, on 127.0.0.1 only: ``LOAD_USERS`` simulated people for
   ``LOAD_SECONDS`` seconds, at most ``LOAD_MAX_REQUESTS`` requests.
4. The task queue is left to drain, then ``loadtest/reconcile.py`` checks that nothing was
   lost and prints the figures. Exit status: the reconciliation's.

Everything the run writes (scenario, answers, logs of gunicorn, the worker and locust,
locust's CSV) is kept under ``var/load/<time>/``; the database is kept for inspection
and replaced by the next run.

Settings (environment): ``LOAD_SECONDS`` (180), ``LOAD_USERS`` (60), ``LOAD_SPAWN_RATE``
(10 a second), ``LOAD_MAX_REQUESTS`` (200000), ``LOAD_SCALE`` (0.05, the demo's households
scale), ``LOAD_RESIDENTS_PER_PLACE`` (20), ``LOAD_DATABASE`` (governance_load),
``LOAD_DATABASE_SERVER`` (postgres://postgres@127.0.0.1:5432), ``LOAD_BROKER_URL``
(redis://127.0.0.1:6379/14), ``LOAD_CACHE_URL`` (redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import redis
from cryptography.fernet import Fernet
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
HERE = BASE_DIR / "loadtest"
BIN = Path(sys.executable).parent


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


SECONDS = int(setting("LOAD_SECONDS", "180"))
USERS = int(setting("LOAD_USERS", "60"))
SPAWN_RATE = setting("LOAD_SPAWN_RATE", "10")
MAX_REQUESTS = setting("LOAD_MAX_REQUESTS", "200000")
SCALE = setting("LOAD_SCALE", "0.05")
RESIDENTS_PER_PLACE = setting("LOAD_RESIDENTS_PER_PLACE", "20")
DATABASE = setting("LOAD_DATABASE", "governance_load")
SERVER = setting("LOAD_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
BROKER_URL = setting("LOAD_BROKER_URL", "redis://127.0.0.1:6379/14")
CACHE_URL = setting("LOAD_CACHE_URL", "redis://127.0.0.1:6379/15")
DRAIN_SECONDS = 120


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, pii_key: str) -> dict[str, str]:
    """Production mode on loopback. The API's per-user rate limit is lifted: a few demo
    accounts stand for many people here, and the run measures the platform, not the
    limiter."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "PII_KEYS": pii_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": BROKER_URL,
            "REDIS_URL": CACHE_URL,
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "API_USER_RATE": "1000000/hour",
            "API_ANON_RATE": "1000000/hour",
            "ANONYMOUS_REPORT_RATE": "1000000/hour",
            "ANONYMOUS_FOLLOW_RATE": "1000000/hour",
            "LOGIN_RATE": "1000000/hour",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def recreate_database() -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        name = sql.Identifier(DATABASE)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"{SERVER}/{DATABASE}"


def empty_redis() -> None:
    """The run's own Redis databases start empty: no task of an earlier run is left."""
    for url in (BROKER_URL, CACHE_URL):
        redis.Redis.from_url(url).flushdb()


def run(command: list[str], env: dict[str, str], log: Path, timeout: float = 1200) -> None:
    with log.open("ab") as output:
        subprocess.run(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=timeout,
        )


class Service:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def wait_for_web(base_url: str, web: Service, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if web.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {web.log}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/healthz/", timeout=5) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer; see {web.log}")


def drain(seconds: float = DRAIN_SECONDS) -> bool:
    """Wait until the broker's queue is empty and nothing is being worked on."""
    broker = redis.Redis.from_url(BROKER_URL)
    deadline = time.monotonic() + seconds
    quiet_since = None
    while time.monotonic() < deadline:
        busy = broker.llen("celery") + broker.hlen("unacked")
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 3:
            return True
        time.sleep(0.5)
    return False


def main() -> int:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    output = BASE_DIR / "var" / "load" / stamp
    output.mkdir(parents=True)
    python = sys.executable
    pii_key = Fernet.generate_key().decode()

    say(f"==> Load database {DATABASE}: migrate and seed the demo (scale {SCALE})")
    database_url = recreate_database()
    env = environment(database_url, pii_key)
    setup_log = output / "setup.log"
    run([python, "manage.py", "migrate", "--noinput"], env, setup_log)
    run(
        [python, "manage.py", "seed_demo", "--households-scale", SCALE, "--quiet"],
        {**env, "CELERY_BROKER_URL": ""},
        setup_log,
    )
    scenario = output / "scenario.json"
    run(
        [
            python,
            str(HERE / "prepare.py"),
            str(scenario),
            "--residents-per-place",
            RESIDENTS_PER_PLACE,
        ],
        env,
        setup_log,
    )
    empty_redis()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    say(f"==> gunicorn (2 workers) on {base_url}, a Celery worker with beat")
    web = Service(
        [
            str(BIN / "gunicorn"),
            "governance.wsgi",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            "--timeout=60",
            "--access-logfile=-",
        ],
        env,
        output / "gunicorn.log",
    )
    worker = Service(
        [
            str(BIN / "celery"),
            "-A",
            "governance",
            "worker",
            "--beat",
            "--concurrency=2",
            f"--schedule={output / 'celerybeat-schedule'}",
            "--loglevel=INFO",
        ],
        {**env, "LOG_LEVEL": "INFO"},
        output / "worker.log",
    )
    try:
        wait_for_web(base_url, web)
        since = datetime.datetime.now(datetime.UTC)
        say(
            f"==> locust: {USERS} simulated people for {SECONDS} s "
            f"(at most {MAX_REQUESTS} requests)"
        )
        locust = subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "--host",
                base_url,
                "-u",
                str(USERS),
                "-r",
                SPAWN_RATE,
                "-t",
                f"{SECONDS}s",
                "--stop-timeout",
                "10",
                "--only-summary",
                "--csv",
                str(output / "locust"),
                "--loglevel",
                "WARNING",
            ],
            cwd=BASE_DIR,
            env={
                **os.environ,
                "LOAD_SCENARIO": str(scenario),
                "LOAD_OUTPUT": str(output),
                "LOAD_MAX_REQUESTS": MAX_REQUESTS,
            },
            stdout=(output / "locust.log").open("wb"),
            stderr=subprocess.STDOUT,
            timeout=SECONDS + 300,
        )
        if not (output / "locust.json").exists():
            say(f"locust did not finish (exit {locust.returncode}); see {output / 'locust.log'}")
            return 1
        say("==> Letting the task queue drain")
        if not drain():
            say(
                f"The queue did not drain in {DRAIN_SECONDS} s; "
                "the outbox check will say what is left."
            )
        say("")
        checked = subprocess.run(
            [
                python,
                str(HERE / "reconcile.py"),
                str(output),
                "--base-url",
                base_url,
                "--since",
                since.isoformat(),
            ],
            cwd=BASE_DIR,
            env=env,
            timeout=600,
        )
        say(f"(files of this run: var/load/{stamp}/)")
        return checked.returncode
    finally:
        web.stop()
        worker.stop()


if __name__ == "__main__":
    sys.exit(main())
