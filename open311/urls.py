"""GeoReport v2 routes under ``/open311/v2/``."""

urlpatterns: list = []
