"""The progressive web app's own files at the site root (manifest, service worker) and
its pages and data under ``/pwa/``."""

from django.urls import path

from governance.pwa import views

app_name = "pwa"
urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("pwa/start/", views.start, name="start"),
    path("pwa/offline/", views.offline, name="offline"),
    path("pwa/queue/", views.queue, name="queue"),
    path("pwa/session/", views.session, name="session"),
    path("pwa/offline-bundle/", views.bundle, name="bundle"),
]
