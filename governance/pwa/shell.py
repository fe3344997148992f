"""What the service worker knows: the app shell it caches, the version of its caches, and
the rules of what it may cache or queue. Rendered into ``/sw.js`` as one JSON object, so
the worker's own code (``static/js/service-worker.js``) stays a plain static file.

The version is a digest of everything the shell is made of (the static files' contents,
the shell pages' templates and this module's rules): any change gives new cache names,
and the worker cleans the old ones when it activates.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

HERE = Path(__file__).resolve().parent

# Static files every field page may need, cached when the worker installs.
SHELL_STATIC = (
    "css/site.css",
    "css/notifications.css",
    "css/field.css",
    "css/tickets.css",
    "css/volunteers.css",
    "js/offline-queue.js",
    "js/photo-resize.js",
    "js/field.js",
    "js/offline-views.js",
    "js/report-location.js",
    "pwa/icon-192.png",
    "pwa/icon-512.png",
    "pwa/icon-maskable-512.png",
)
WORKER_STATIC = ("js/offline-queue.js", "js/service-worker.js")
SHELL_TEMPLATES = ("pwa/offline.html", "pwa/queue.html")

# Forms whose posts may wait on the phone: each carries an idempotency key, so sending it
# again is safe. Regular expressions on the path (tested against the URL patterns).
QUEUEABLE_PATHS = (
    r"^/tickets/report/$",
    r"^/tickets/\d+/do/[a-z-]+/$",
    r"^/tickets/\d+/rate/$",
    r"^/tickets/whistles/\d+/[a-z-]+/$",
    r"^/residents/households/\d+/visits/$",
    r"^/residents/campaign-tasks/\d+/$",
)
# Pages the worker caches as they are visited (network first) ...
FIELD_PREFIXES = ("/residents/", "/tickets/", "/volunteers/")
# ... except these: a reporter's private link, photos (kept by the browser's own cache,
# privately), whatever is not a page.
NEVER_CACHED = ("/tickets/follow/", "/tickets/photos/", "/residents/visits/")


def _source_files() -> list[Path]:
    files = [HERE / "shell.py", HERE / "views.py"]
    files += [HERE / "templates" / name for name in SHELL_TEMPLATES]
    files.append(Path(settings.BASE_DIR) / "templates" / "field_base.html")
    for name in (*SHELL_STATIC, *WORKER_STATIC):
        found = finders.find(name)
        if found:
            files.append(Path(found))
    return files


def _digest() -> str:
    sha = hashlib.sha256()
    for path in _source_files():
        sha.update(str(path.name).encode())
        sha.update(path.read_bytes() if path.exists() else b"")
    # hashed static names in production change with the files; the URLs say so too
    sha.update("".join(static(name) for name in (*SHELL_STATIC, *WORKER_STATIC)).encode())
    return sha.hexdigest()[:12]


@functools.cache
def _cached_digest() -> str:
    return _digest()


def version() -> str:
    """Computed on each request while developing (files change), once in production."""
    return _digest() if settings.DEBUG else _cached_digest()


def shell_urls() -> list[str]:
    return [
        *(static(name) for name in SHELL_STATIC),
        reverse("pwa:manifest"),
        reverse("pwa:offline"),
        reverse("pwa:queue"),
    ]


def worker_config() -> dict[str, Any]:
    """Everything ``service-worker.js`` reads from ``self.GRID_PWA``."""
    return {
        "version": version(),
        "shell": shell_urls(),
        "shellPages": [reverse("pwa:offline"), reverse("pwa:queue")],
        "offline": reverse("pwa:offline"),
        "queue": reverse("pwa:queue"),
        "bundle": reverse("pwa:bundle"),
        "session": reverse("pwa:session"),
        "login": reverse("login"),
        "logout": reverse("logout"),
        "start": reverse("pwa:start"),
        "fieldPrefixes": list(FIELD_PREFIXES),
        "neverCached": list(NEVER_CACHED),
        "queueable": list(QUEUEABLE_PATHS),
        "warm": [reverse("tickets:report")],
    }


def worker_scripts() -> list[str]:
    return [static(name) for name in WORKER_STATIC]
