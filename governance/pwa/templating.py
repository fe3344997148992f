"""Templates of the PWA's own pages, kept in ``governance/pwa/templates``.

``governance.pwa`` is a plain package, not an installed app, so Django's app template
loader does not look into it. This is the project's one template engine again (same
options, same context processors), with this folder in front of the project's own
``templates`` so the pages still extend ``field_base.html``. Were the package made an
installed app, ``django.shortcuts.render`` would find these templates by itself.
"""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.backends.django import DjangoTemplates

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


@functools.cache
def _engine() -> DjangoTemplates:
    main = next(
        t for t in settings.TEMPLATES if t["BACKEND"].endswith("backends.django.DjangoTemplates")
    )
    return DjangoTemplates(
        {
            "NAME": "pwa",
            "DIRS": [TEMPLATE_DIR, *main.get("DIRS", [])],
            "APP_DIRS": main.get("APP_DIRS", False),
            "OPTIONS": dict(main.get("OPTIONS", {})),
        }
    )


def render_text(request: HttpRequest | None, name: str, context: dict) -> str:
    return _engine().get_template(name).render(context, request)


def render(
    request: HttpRequest, name: str, context: dict, *, content_type: str | None = None
) -> HttpResponse:
    return HttpResponse(render_text(request, name, context), content_type=content_type)
