"""The progressive web app's own files at the site root (manifest, service worker)."""

urlpatterns: list = []
