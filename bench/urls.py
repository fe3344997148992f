"""The project's URLs plus the bench's baseline view; used only while measuring (the
bench overrides ``ROOT_URLCONF`` with this module)."""

from django.urls import include, path

from bench.views import ticket_list_baseline

urlpatterns = [
    path("bench/ticket-list-baseline/", ticket_list_baseline),
    path("", include("governance.urls")),
]
