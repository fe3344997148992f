"""The progressive web app's own answers: the manifest, the service worker, the two shell
pages it keeps (the offline page and the "waiting to send" list), the offline bundle of
the worker's grid data, and a tiny session endpoint for the offline queue.

The shell pages are the same for everyone (no name, no token, no message), since the
service worker keeps them across sign-ins; what belongs to a user is the bundle, which
the worker drops when the user signs out or another signs in (governance/pwa/README.md).
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from governance.pwa import shell, templating
from governance.pwa.bundle import offline_bundle
from grids import scoping
from tickets.services.steps import ACTION_NAMES

THEME_COLOR = "#b71c1c"


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: installable, standalone, starting on the field pages."""
    data = {
        "name": _("Grid governance"),
        "short_name": _("Grid app"),
        "description": _("Households, visits and reports of your grids, also without a signal."),
        "lang": get_language(),
        "start_url": shell.worker_config()["start"],
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static("pwa/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("pwa/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("pwa/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
    patch_cache_control(response, private=True, max_age=3600)
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """``/sw.js`` at the root, so its scope covers every page. Its body is the worker's
    configuration and the static scripts it imports; a browser compares these bytes to
    decide on an update, so a change of any shell file (the version) installs a new one."""
    config = json.dumps(shell.worker_config(), ensure_ascii=False, separators=(",", ":"))
    scripts = ", ".join(json.dumps(url) for url in shell.worker_scripts())
    body = (
        "/* Service worker of the field pages; see governance/pwa/README.md. */\n"
        f"self.GRID_PWA = {config};\n"
        f"importScripts({scripts});\n"
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def _shell_page(request: HttpRequest, template: str) -> HttpResponse:
    context = {
        "shell": True,
        "action_names": {
            **{name: str(label) for name, label in ACTION_NAMES.items()},
            "report-in": _("Report in for the department"),
            "reply": _("Reply for the department"),
        },
    }
    response = templating.render(request, template, context)
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """The page the worker shows for a field page it has not kept: it draws the page
    from the offline bundle (households, due visits, tasks, tickets) with its forms."""
    return _shell_page(request, "pwa/offline.html")


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """What waits on this phone to be sent, read from the phone's own storage."""
    return _shell_page(request, "pwa/queue.html")


@require_GET
def session(request: HttpRequest) -> JsonResponse:
    """Who is signed in and a valid CSRF token, for the queue before it sends: the token
    a form carried may be stale by then (signed out and in again, another user)."""
    user = request.user
    response = JsonResponse(
        {"user": str(user.pk) if user.is_authenticated else "", "csrf": get_token(request)}
    )
    add_never_cache_headers(response)
    return response


@require_GET
def bundle(request: HttpRequest) -> JsonResponse:
    """The signed-in user's grid data for offline reading (``governance.pwa.bundle``)."""
    if not request.user.is_authenticated:
        detail = _("Sign in to keep your grid's data on this phone.")
        return JsonResponse({"detail": detail}, status=403)
    response = JsonResponse(
        offline_bundle(user=request.user), json_dumps_params={"ensure_ascii": False}
    )
    # the service worker keeps its own copy; the browser's HTTP cache keeps none
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Where the installed app opens: a grid's people on their households, everyone
    else (residents, volunteers) on the report page."""
    if scoping.scope_for(request.user).is_empty:
        return redirect("tickets:report")
    return redirect("residents:household_list")
