"""Throwaway servers and processes for the fault tests.

A test that stops a server starts its own on a free port and stops only that one: the
shared PostgreSQL and Redis of the suite (and of the other people using the machine) are
never touched. Everything here is bounded in time, so a test that goes wrong fails in
seconds instead of hanging the run.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import pwd
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[2]


# --- small tools ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


def wait_until(condition: Callable[[], bool], seconds: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def database_url(settings_dict: dict, name: str | None = None) -> str:
    """A ``DATABASE_URL`` for another process, from a Django connection's settings (the
    test database's name is only known once pytest-django has created it)."""
    user = quote(settings_dict.get("USER") or "postgres")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password)}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{name or settings_dict['NAME']}"


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (Linux ``/proc``)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(part) for part in path.read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers signal 0: look at its state
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def service_environment(**overrides: str) -> dict[str, str]:
    """The environment of a process the tests start: this one's, without a broker or a
    shared cache unless the test gives one (a stray worker must never read the shared
    queues), plus the test's own values."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "CELERY_BROKER_URL": "",
            "REDIS_URL": "",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


# --- Redis ----------------------------------------------------------------------------------------


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, without persistence: stopping it
    loses what it held, as a crashed Redis without AOF does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @staticmethod
    def unavailable_reason() -> str | None:
        if shutil.which("redis-server") is None:
            return "redis-server is not installed"
        return None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_until(lambda: port_open(self.port), 10):
            raise RuntimeError("the throwaway redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


# --- PostgreSQL -----------------------------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(found.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    return None


class ThrowawayPostgres:
    """A PostgreSQL cluster of the test's own (``initdb`` + ``pg_ctl``) in a temporary
    folder, on a free port, reachable over TCP only. PostgreSQL refuses to run as root,
    so as root the server runs as the ``postgres`` account."""

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gov-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.running = False

    @staticmethod
    def unavailable_reason() -> str | None:
        if _postgres_bindir() is None:
            return "the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root without a postgres account to run a server as"
        return None

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _as_server_user(self, command: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        assert self.bindir is not None
        command = self._as_server_user([str(self.bindir / program), *args])
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False

    def _tool(self, program: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / program)

    def create_database(self, name: str) -> None:
        subprocess.run(
            [self._tool("createdb"), f"--maintenance-db={self.url('postgres')}", name],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def copy_database_from(self, source_url: str, name: str) -> None:
        """A copy of another server's database (schema and rows), through pg_dump."""
        self.create_database(name)
        dump = subprocess.run(
            [self._tool("pg_dump"), "--format=custom", "--no-owner", source_url],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            [self._tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", self.url(name)],
            input=dump.stdout,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# --- Celery workers and the web server ------------------------------------------------------------


class ServiceProcess:
    """A process of the project (a Celery worker, gunicorn) in its own session, so the
    test can kill it with its children and nothing else; its output goes to a log file
    the test shows when something went wrong."""

    def __init__(self, command: list[str], env: dict[str, str], name: str) -> None:
        self.command = command
        self.env = env
        self.logfile = Path(tempfile.mkstemp(prefix=f"gov-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.logfile.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def signal_group(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL to the process and all of its children: no shutdown, no goodbye."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # children left behind by a killed parent
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def remove_log(self) -> None:
        with contextlib.suppress(OSError):
            self.logfile.unlink()


class CeleryWorker(ServiceProcess):
    """``celery -A governance worker`` as production runs it (through
    ``tests.reliability.worker_app``, which only adds a short visibility timeout when
    asked), against the broker and database the test gives."""

    def __init__(
        self,
        *,
        broker_url: str,
        database_url: str,
        pool: str = "solo",
        visibility_timeout: int | None = None,
        **env: str,
    ) -> None:
        extra = {"CELERY_BROKER_URL": broker_url, "DATABASE_URL": database_url, **env}
        if visibility_timeout is not None:
            extra["RELIABILITY_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.reliability.worker_app",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            f"--hostname=reliability-{uuid.uuid4().hex[:8]}@%h",
        ]
        super().__init__(command, service_environment(**extra), "worker")

    def wait_ready(self, seconds: float = 40) -> None:
        if not wait_until(lambda: " ready." in self.log() or self.exited, seconds):
            raise RuntimeError(f"the Celery worker did not start:\n{self.log_tail()}")
        if self.exited:
            raise RuntimeError(f"the Celery worker exited:\n{self.log_tail()}")


class WebServer(ServiceProcess):
    """gunicorn serving the project, as production runs it."""

    def __init__(self, *, database_url: str, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.workers = workers
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "governance.wsgi",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{self.port}",
            "--timeout=30",
            "--graceful-timeout=5",
        ]
        super().__init__(command, service_environment(DATABASE_URL=database_url, **env), "web")

    def wait_ready(self, seconds: float = 40) -> None:
        def up() -> bool:
            return port_open(self.port) and len(child_pids(self.pid)) == self.workers

        if not wait_until(lambda: up() or self.exited, seconds):
            raise RuntimeError(f"gunicorn did not start:\n{self.log_tail()}")
        if self.exited:
            raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")


# --- a mail server that keeps what it is sent -----------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb == "DATA":
                self.reply("354 go ahead")
                body = []
                while (part := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    body.append(part)
                self.server.messages.append(b"".join(body))
                self.reply("250 kept")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    messages: list[bytes]


class SmtpSink:
    """An SMTP server on a free port that accepts every message and keeps it, so a test
    can count the emails another process sent."""

    def __init__(self) -> None:
        self.server = _SmtpServer(("127.0.0.1", 0), _SmtpHandler)
        self.server.messages = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def messages(self) -> list[bytes]:
        return self.server.messages

    def recipients(self) -> list[str]:
        found = []
        for message in self.messages:
            for line in message.decode(errors="replace").splitlines():
                if line.lower().startswith("to:"):
                    found.append(line.split(":", 1)[1].strip())
        return sorted(found)

    def environment(self) -> dict[str, str]:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
        }

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- a webhook receiver that can keep the sender waiting ----------------------------------------


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        receiver: WebhookReceiver = self.server.receiver
        receiver.requests.append((dict(self.headers), body))
        if len(receiver.requests) == 1 and receiver.stall_first:
            receiver.release.wait(timeout=60)  # hold the first sender mid-request
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class WebhookReceiver:
    """An integrator's endpoint on a free port: keeps every request; with
    ``stall_first`` it holds the first one open until ``release`` is set, so the test can
    kill the sender in the middle of it. Every other request is answered 200 at once."""

    def __init__(self, *, stall_first: bool = False) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.stall_first = stall_first
        self.release = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ReceiverHandler)
        self.server.daemon_threads = True
        self.server.receiver = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def event_ids(self) -> list[str]:
        return [headers.get("X-Governance-Event-Id", "") for headers, _body in self.requests]

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def started(*processes: ServiceProcess) -> Iterator[None]:
    """Stop the processes whatever happens in the block; keep their logs only when the
    block failed (the test's message points at them)."""
    try:
        yield
    except BaseException:
        for process in processes:
            process.stop()
        raise
    for process in processes:
        process.stop()
        process.remove_log()
