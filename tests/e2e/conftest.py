"""End-to-end tests in a real browser: Playwright drives Debian's Chromium (``make
browser`` installs it) against pytest-django's ``live_server``.

- Skipped, with the reason, when Chromium is not installed (``make browser``).
- The live server runs at http://localhost:<port>: a secure context for Chromium, so the
  service worker and its caches work as on HTTPS.
- With SQLite's in-memory test database the live server's threads share one connection,
  which must not run two requests' transactions at once, and the test reads the same
  in-memory database: requests are served one at a time and the test reads the database
  under the same lock (``quiet_db``). On PostgreSQL nothing is serialized.
- The database is emptied after a test only once the browser's last request is done.
- Screenshots of every step go to ``<VAR_DIR>/e2e-screenshots/`` (printed at the end).
"""

from __future__ import annotations

import contextlib
import gzip
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection, connections
from django.test import Client
from django.test.testcases import LiveServerThread

from tests.residents.conftest import homes, tags  # noqa: F401 - fixtures
from tests.tickets.conftest import errands, frank, grace, hazard  # noqa: F401 - fixtures

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 360, "height": 740}
PASSWORD = "pw"  # tests.grids.factories.UserFactory's
SCREENSHOTS = Path(settings.VAR_DIR) / "e2e-screenshots"
# The pages in English, which the assertions read; the data stays Chinese.
LOCALE = "en-US"

REQUEST_LOCK = threading.RLock()


def _shares_memory_db() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


class _InFlight:
    """How many requests the live server is handling, to wait for it to be idle."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.count += 1

    def __exit__(self, *exc_info) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait_idle(self, quiet_seconds: float = 0.2, timeout: float = 10.0) -> None:
        """Until no request has run for ``quiet_seconds`` (a closed browser's last ones)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while time.monotonic() < deadline:
                if self.count == 0 and not self.changed.wait(quiet_seconds):
                    return
                if self.count:
                    self.changed.wait(0.05)


IN_FLIGHT = _InFlight()


class _TrackedServer(LiveServerThread.server_class):
    """The live server's threaded server, counting its requests (the database is emptied
    between tests only once the browser's last request is done) and, on an in-memory
    SQLite database, handling one at a time: the connection it shares with the test
    cannot hold two transactions at once."""

    def set_app(self, application):
        serialize = _shares_memory_db()

        def tracked(environ, start_response):
            with IN_FLIGHT, REQUEST_LOCK if serialize else contextlib.nullcontext():
                answer = application(environ, start_response)
                try:
                    return list(answer)
                finally:
                    if hasattr(answer, "close"):
                        answer.close()

        super().set_app(tracked)


@pytest.fixture(scope="session")
def _live_server_class():
    """Before ``live_server`` starts: count (and on SQLite serialize) its requests."""
    previous = LiveServerThread.server_class
    LiveServerThread.server_class = _TrackedServer
    yield
    LiveServerThread.server_class = previous


@contextlib.contextmanager
def quiet_db() -> Iterator[None]:
    """Read or write the database from the test while no request is being served."""
    if _shares_memory_db():
        with REQUEST_LOCK:
            yield
    else:
        yield


@pytest.fixture
def server(_live_server_class, transactional_db, live_server) -> str:
    """The site's address, as ``http://localhost:<port>``. The test database exists before
    the live server starts (else the server would not share the in-memory one)."""
    url = live_server.url
    assert url.startswith("http://localhost:"), f"service workers need localhost, not {url}"
    return url


@pytest.fixture
def browser(server):
    """Chromium for one test, started after the test's database is ready and stopped
    before it is emptied: while Playwright's synchronous API runs, it keeps an event loop
    in this thread, under which Django hands the test another database connection object
    (asgiref's context-local storage) than the one that set the database up. Django also
    takes the loop for async code and refuses database calls; the calls here are
    synchronous, so that check is lifted meanwhile."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
            connections.close_all()  # those opened for the test while the loop ran


@pytest.fixture
def media_root(settings, tmp_path):
    """Photos sent by the browser land in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@dataclass
class Shots:
    """Numbered screenshots of one test, in the shared folder."""

    prefix: str
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.prefix}-{len(self.taken) + 1:02d}-{step}.png"
        page.evaluate("window.scrollTo(0, 0)")  # the sticky menu stays at the top
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request) -> Shots:
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    for old in SCREENSHOTS.glob(f"{name}-*.png"):
        old.unlink()
    return Shots(prefix=name)


@pytest.fixture
def open_context(browser, server, media_root):
    """``open_context(username=None, **options)``: a fresh phone (its own cookies, storage
    and service worker), signed in as ``username`` when given."""
    contexts = []

    def _open(username: str | None = None, **options):
        context = browser.new_context(
            viewport=VIEWPORT,
            locale=LOCALE,
            base_url=server,
            service_workers="allow",
            **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if username:
            sign_in(page, username)
        return context, page

    yield _open
    for context in contexts:
        context.close()
    IN_FLIGHT.wait_idle()  # before the test's database is emptied or rolled back


def sign_in(page, username: str, next_url: str = "/residents/") -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    # on the path itself: the sign-in page's own address ends with ?next=<the same path>
    expected = urlsplit(next_url).path
    page.wait_for_url(lambda url: urlsplit(url).path == expected)


def wait_until_offline_ready(page) -> None:
    """The service worker controls the page and keeps this user's grid data."""
    page.wait_for_selector("body[data-pwa=ready]", state="attached", timeout=15_000)


# --- weight --------------------------------------------------------------------------------


@dataclass
class Transfer:
    url: str
    status: int
    body: int
    compressed: int
    headers: int
    by_worker: bool


class Traffic:
    """What crossed the network for a phone, request by request: the page's own requests
    and the service worker's (those the worker answered from its cache are not counted).

    The live server, like Django behind a proxy, sends bodies uncompressed; production
    compresses them (WhiteNoise's pre-compressed static files, the proxy's gzip for pages).
    A body counts as its gzip size (level 6, a proxy's usual setting), plus its headers."""

    def __init__(self, context) -> None:
        self.requests: list = []
        context.on("requestfinished", lambda request: self.requests.append(request))

    def reset(self) -> None:
        self.requests.clear()

    def transfers(self) -> list[Transfer]:
        rows = []
        for request in list(self.requests):
            response = request.response()
            if response is None or response.from_service_worker:
                continue
            try:
                body = response.body()
            except Exception:  # the browser keeps no copy (e.g. the worker's cache.addAll)
                body = b""
            if not body and response.status == 200:
                body = self._served_body(request.url)
            rows.append(
                Transfer(
                    url=request.url,
                    status=response.status,
                    body=len(body),
                    compressed=len(gzip.compress(body, 6)) if body else 0,
                    headers=request.sizes()["responseHeadersSize"],
                    by_worker=request.service_worker is not None,
                )
            )
        return rows

    @staticmethod
    def _served_body(url: str) -> bytes:
        """What the server sent when the browser kept no copy: the static file, or the
        page as the server renders it (the shell pages are the same for everyone)."""
        path = urlsplit(url).path
        if path.startswith(settings.STATIC_URL):
            found = finders.find(path.removeprefix(settings.STATIC_URL))
            return Path(found).read_bytes() if found else b""
        with quiet_db():
            return Client().get(path).content

    def kilobytes(self, *, by_worker: bool | None = None) -> float:
        rows = [r for r in self.transfers() if by_worker is None or r.by_worker == by_worker]
        return sum(r.compressed + r.headers for r in rows) / 1024


NO_BROWSER = (
    f"end-to-end tests need Chromium at {CHROMIUM}: run `make browser` (as root) to install "
    "it, then run them again"
)


def pytest_collection_modifyitems(config, items):
    """Without Chromium, every test of this folder is skipped, before any database is made."""
    if CHROMIUM.exists():
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=NO_BROWSER))


# Figures the weight test measured, printed at the end of the run (KB, compressed).
WEIGHTS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    for label, kilobytes in WEIGHTS.items():
        terminalreporter.write_line(f"E2E weight: {label}: {kilobytes:.1f} KB")
    if SCREENSHOTS.exists() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"E2E screenshots: {SCREENSHOTS}")
