"""Content-Security-Policy: strict on every page, no inline script in any template or any
rendered page, inline styles only where the admin and the API's pages need them."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
JSON_TYPES = {"application/json", "application/ld+json"}
INLINE_HANDLER = re.compile(r"<[a-zA-Z][^<>]*?\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVAL_LIKE = re.compile(r"\beval\s*\(|\bnew\s+Function\s*\(|setTimeout\s*\(\s*[\"'`]")


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def _project_template_dirs() -> list[Path]:
    """templates/ and the templates of every app that lives in this project."""
    dirs = [ROOT / "templates"]
    for config in apps.get_app_configs():
        path = Path(config.path)
        own = ROOT in path.parents and ".venv" not in path.parts
        if own and (path / "templates").is_dir():
            dirs.append(path / "templates")
    return dirs


def _templates() -> list[Path]:
    found = [p for d in _project_template_dirs() for p in sorted(d.rglob("*.html"))]
    assert len(found) > 40  # the scan really reads the templates
    return found


def _script_without_src(attributes: str) -> bool:
    if re.search(r"\ssrc\s*=", " " + attributes, re.IGNORECASE):
        return False
    kind = re.search(r"""type\s*=\s*["']?([^"'\s>]+)""", attributes, re.IGNORECASE)
    return not (kind and kind.group(1).lower() in JSON_TYPES)


# --- the sources -------------------------------------------------------------------------------


def test_no_template_has_inline_script_or_handlers():
    offences = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        for match in SCRIPT_TAG.finditer(text):
            if _script_without_src(match.group(1)):
                offences.append(f"{name}: inline <script{match.group(1)}>")
        offences += [
            f"{name}: on…= handler {m.group(0)[-40:]!r}" for m in INLINE_HANDLER.finditer(text)
        ]
        offences += [f"{name}: javascript: URL" for _ in JAVASCRIPT_URL.finditer(text)]
    assert offences == []


def test_the_scan_would_see_an_offence():
    """The patterns above catch what they are meant to (a scan that cannot fail is none)."""
    assert _script_without_src(' type="text/javascript"')
    assert _script_without_src("")
    assert not _script_without_src(' id="x" type="application/json"')
    assert not _script_without_src(' src="/static/js/x.js" defer')
    assert INLINE_HANDLER.search('<button class="x" onclick="go()">')
    assert INLINE_HANDLER.search("<body\n  onload='x()'>")
    assert not INLINE_HANDLER.search('<a href="/x" data-on="y">')
    assert JAVASCRIPT_URL.search('<a href="javascript:void(0)">')


def test_our_scripts_need_no_eval():
    """script-src has no 'unsafe-eval': code built from strings would not run."""
    scripts = list((ROOT / "static" / "js").rglob("*.js"))
    assert scripts
    offences = [str(p.relative_to(ROOT)) for p in scripts if EVAL_LIKE.search(p.read_text())]
    assert offences == []


# --- the header --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/tickets/report/"])
def test_pages_carry_the_strict_policy(client, db, url):
    response = client.get(url)
    assert response.status_code in (200, 302)
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["worker-src"] == ["'self'"]
    assert policy["manifest-src"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", ["/admin/login/", "/api/docs/", "/api/v1/"])
def test_admin_and_api_pages_allow_inline_styles_but_never_inline_script(admin_user, client, url):
    client.force_login(admin_user)
    response = client.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 302)
    policy = _directives(response["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_errors_and_json_carry_the_policy_too(client, db):
    assert "Content-Security-Policy" in client.get("/no-such-page/")
    assert "Content-Security-Policy" in client.get("/api/v1/grids/")


# --- rendered pages ----------------------------------------------------------------------------


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self.sources: list[str] = []
        self.styles = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.handlers += [f"<{tag} {name}>" for name, _v in attrs if name.startswith("on")]
        if tag == "style":
            self.styles += 1
        if tag != "script":
            return
        if values.get("src"):
            self.sources.append(values["src"])
        elif (values.get("type") or "").lower() not in JSON_TYPES:
            self.inline.append(str(values))


def _scripts_of(response) -> _Scripts:
    parser = _Scripts()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def page_urls(world):
    return [
        "/",
        "/dashboard/",
        f"/dashboard/?grid={world.A.pk}",
        f"/grids/{world.A.pk}/",
        "/tickets/report/",
        "/tickets/mine/",
        "/tickets/board/",
        "/tickets/inbox/",
        "/residents/",
        "/residents/due/",
        "/volunteers/",
        "/volunteers/shop/",
        "/admin/",
        "/admin/grids/grid/",
        f"/admin/grids/grid/{world.A.pk}/change/",
        f"/admin/grids/grid/{world.A.pk}/history/",
        "/admin/grids/gridassignment/add/",
        "/admin/residents/household/",
        "/admin/residents/household/add/",
        "/admin/tickets/ticket/",
        "/api/v1/",
        "/api/v1/grids/",
    ]


def test_rendered_pages_have_no_inline_script(admin_user, client, page_urls):
    client.force_login(admin_user)
    offences = []
    for url in page_urls:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        scripts = _scripts_of(response)
        offences += [f"{url}: inline script {s}" for s in scripts.inline]
        offences += [f"{url}: handler {h}" for h in scripts.handlers]
    assert offences == []


def test_swagger_ui_loads_its_start_script_from_a_url(admin_user, client):
    """drf-spectacular's split view: the page names its init script, served as a file."""
    client.force_login(admin_user)
    page = client.get("/api/docs/")
    scripts = _scripts_of(page)
    assert scripts.inline == []
    init = [s for s in scripts.sources if "script" in s and "swagger-ui" not in s]
    assert len(init) == 1
    script = client.get(init[0])
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert '"validatorUrl": null' in script.content.decode()  # no third-party badge
    assert scripts.styles == 1  # the one inline <style> the relaxed style-src is for
