"""The web app's own files: the manifest, the service worker at the site's root, the shell
pages it keeps for whoever signs in next, the session endpoint of the offline queue."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from PIL import Image

from governance.pwa import shell

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def worker_config(response) -> dict:
    text = response.content.decode()
    match = re.search(r"^self\.GRID_PWA = (\{.*\});$", text, re.MULTILINE)
    assert match, text
    return json.loads(match.group(1))


# --- manifest ----------------------------------------------------------------------------------


def test_the_manifest_makes_an_installable_standalone_app(client, db):
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["name"] == "网格化治理平台"  # Chinese by default
    assert data["display"] == "standalone"
    assert data["start_url"] == "/pwa/start/"
    assert data["scope"] == "/"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in data["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_the_manifest_icons_are_real_pngs_of_their_size(client, db):
    for icon in json.loads(client.get("/manifest.webmanifest").content)["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]


def test_the_manifest_speaks_english_on_request(client, db):
    data = json.loads(client.get("/manifest.webmanifest", **EN).content)
    assert data["name"] == "Grid governance"
    assert data["lang"] == "en"


# --- the service worker ------------------------------------------------------------------------


def test_the_service_worker_is_served_at_the_root_never_stale(client, db):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert re.search(
        r'^importScripts\(".*offline-queue\.js", ".*service-worker\.js"\);$',
        response.content.decode(),
        re.MULTILINE,
    )


def test_the_shell_is_every_file_a_field_page_needs_offline(client, db):
    config = worker_config(client.get("/sw.js"))

    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    for url in config["shell"]:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
        else:
            assert client.get(url).status_code == 200, url
    assert {"/pwa/offline/", "/pwa/queue/", "/manifest.webmanifest"} <= set(config["shell"])
    for url in config["shell"]:
        assert not url.startswith(("/residents/", "/tickets/", "/admin/", "/api/"))


def test_the_version_follows_the_shell_files(monkeypatch, tmp_path, settings):
    settings.DEBUG = True  # computed on each request while developing
    source = tmp_path / "field.css"
    source.write_text("a { color: red; }")
    monkeypatch.setattr(shell, "_source_files", lambda: [source])
    first = shell.version()
    assert shell.version() == first
    source.write_text("a { color: blue; }")
    assert shell.version() != first


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/report/",
        "/tickets/12/do/claim/",
        "/tickets/12/do/resolve/",
        "/tickets/12/rate/",
        "/tickets/whistles/3/report-in/",
        "/residents/households/7/visits/",
        "/residents/campaign-tasks/9/",
    ],
)
def test_field_form_posts_may_wait_in_the_queue(url, db):
    patterns = [re.compile(p) for p in shell.QUEUEABLE_PATHS]
    assert any(p.match(url) for p in patterns)


@pytest.mark.parametrize(
    "url",
    [
        reverse("residents:resident_reveal", args=[1]),  # a deliberate, logged read
        reverse("tickets:inbox"),
        reverse("tickets:follow", args=["token"]),
        "/accounts/login/",
        "/accounts/logout/",
        "/api/v1/tickets/",
        "/admin/tickets/ticket/add/",
    ],
)
def test_other_posts_never_wait(url):
    assert not any(re.match(p, url) for p in shell.QUEUEABLE_PATHS)


def test_the_queue_patterns_are_the_forms_real_addresses():
    addresses = [
        reverse("tickets:report"),
        reverse("tickets:ticket_act", args=[5, "claim"]),
        reverse("tickets:ticket_rate", args=[5]),
        reverse("tickets:whistle_act", args=[5, "reply"]),
        reverse("residents:visit_log", args=[5]),
        reverse("residents:campaign_task_record", args=[5]),
    ]
    for address in addresses:
        assert any(re.match(p, address) for p in shell.QUEUEABLE_PATHS), address


def test_private_links_photos_and_the_admin_are_never_cached(client, db):
    config = worker_config(client.get("/sw.js"))
    never = tuple(config["neverCached"])
    field = tuple(config["fieldPrefixes"])
    for url in (
        reverse("tickets:follow", args=["token"]),
        reverse("tickets:ticket_photo", args=[1]),
        reverse("residents:visit_photo", args=[1]),
    ):
        assert url.startswith(never), url
    for url in ("/admin/", "/api/v1/tickets/", "/dashboard/", "/accounts/login/"):
        assert not url.startswith(field), url


def test_the_worker_script_reads_its_configuration(client, db):
    """Every key the static worker reads is in the configuration /sw.js gives it."""
    config = worker_config(client.get("/sw.js"))
    with open(finders.find("js/service-worker.js"), encoding="utf-8") as script:
        source = script.read()
    used = set(re.findall(r"\bC\.([a-zA-Z]+)", source))
    assert used
    assert used <= set(config)


# --- the shell pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/pwa/offline/", "/pwa/queue/"])
def test_shell_pages_name_no_one_and_carry_no_token(url, client, worker, homes):
    client.force_login(worker)
    client.get("/residents/")  # a session with a CSRF token and a name in the header

    response = client.get(url, **EN)

    assert response.status_code == 200
    body = response.content.decode()
    assert worker.full_name not in body
    assert "bob" not in body
    assert "csrfmiddlewaretoken" not in body
    assert "data-user" not in body  # the queue does not take the shell for a signed-out page
    assert "王大爷" not in body
    assert 'class="fieldnav"' in body
    assert response["Cache-Control"] == "no-cache"


def test_shell_pages_leave_the_users_messages_for_the_next_page(client, worker, homes):
    client.force_login(worker)
    client.post(f"/residents/households/{homes['h1'].pk}/visits/", {"kind": "routine"}, **EN)

    client.get("/pwa/offline/", **EN)  # the worker's install fetches it meanwhile
    client.get("/pwa/queue/", **EN)
    page = client.get(f"/residents/households/{homes['h1'].pk}/", **EN).content.decode()

    assert "Visit recorded." in page


def test_a_page_kept_in_advance_leaves_the_users_messages(client, worker, homes):
    client.force_login(worker)
    client.post(f"/residents/households/{homes['h1'].pk}/visits/", {"kind": "routine"}, **EN)

    kept = client.get("/tickets/report/", HTTP_X_PWA_PREFETCH="1", **EN).content.decode()
    page = client.get(f"/residents/households/{homes['h1'].pk}/", **EN).content.decode()

    assert "Visit recorded." not in kept
    assert "Visit recorded." in page


def test_the_queue_page_names_each_ticket_action(client, db):
    body = client.get("/pwa/queue/", **EN).content.decode()
    names = json.loads(re.search(r'id="pwa-action-names"[^>]*>(.*?)</script>', body).group(1))
    assert names["claim"] == "claim"
    assert names["reply"] == "Reply for the department"


def test_field_pages_say_who_is_signed_in_for_the_queue(client, worker, homes, db):
    anonymous = client.get("/tickets/report/").content.decode()
    assert 'data-user=""' in anonymous
    client.force_login(worker)
    signed_in = client.get("/residents/").content.decode()
    assert f'data-user="{worker.pk}"' in signed_in
    assert 'rel="manifest"' in signed_in


# --- the session endpoint ----------------------------------------------------------------------


def test_the_session_gives_a_fresh_token_that_the_server_accepts(worker, homes):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(worker)

    response = browser.get("/pwa/session/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["user"] == str(worker.pk)
    posted = browser.post(
        f"/residents/households/{homes['h1'].pk}/visits/",
        {"kind": "routine", "csrfmiddlewaretoken": data["csrf"]},
    )
    assert posted.status_code == 302


def test_the_session_says_when_nobody_is_signed_in(client, db):
    data = client.get("/pwa/session/").json()
    assert data["user"] == ""
    assert len(data["csrf"]) >= 32


# --- where the installed app opens -------------------------------------------------------------


def test_the_app_opens_on_the_households_of_a_grid_worker(client, worker):
    client.force_login(worker)
    assert client.get("/pwa/start/")["Location"] == "/residents/"


def test_the_app_opens_on_the_report_page_of_a_resident(client, frank):
    client.force_login(frank)
    assert client.get("/pwa/start/")["Location"] == "/tickets/report/"


def test_the_app_asks_a_stranger_to_sign_in(client, db):
    response = client.get("/pwa/start/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
