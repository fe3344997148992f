"""GeoReport v2 routes under ``/open311/v2/``: each resource with its format extension
(``services.xml``, ``requests/20261122-0042.json``), the OpenAPI description, and a
404 in the standard's shape for anything else."""

from django.urls import path, re_path

from open311 import views

app_name = "open311"

FORMAT = r"\.(?P<fmt>[^./]+)"

urlpatterns = [
    path("openapi.json", views.openapi_document, name="openapi"),
    re_path(rf"^discovery{FORMAT}$", views.discovery, name="discovery"),
    re_path(rf"^services{FORMAT}$", views.services_list, name="services"),
    re_path(rf"^services/(?P<code>[^/]+){FORMAT}$", views.service_definition, name="service"),
    re_path(rf"^requests{FORMAT}$", views.requests, name="requests"),
    re_path(rf"^requests/(?P<number>[^/]+){FORMAT}$", views.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/]+){FORMAT}$", views.token, name="token"),
    re_path(rf"^servicerequestupdates{FORMAT}$", views.updates, name="updates"),
    re_path(r"^.*$", views.not_found),
]
