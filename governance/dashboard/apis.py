"""``GET /api/v1/dashboard/?grid=&date_from=&date_to=&unit=``: the same figures as the page,
for integrators' big screens."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from governance.dashboard import access
from governance.dashboard.selectors import dashboard_for
from governance.dashboard.serialize import as_json


@extend_schema(tags=["dashboard"])
class DashboardViewSet(viewsets.ViewSet):
    @extend_schema(
        parameters=[
            OpenApiParameter("grid", OpenApiTypes.INT, description="Default: your scope's top."),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="Default: this month."),
            OpenApiParameter("date_to", OpenApiTypes.DATE),
            OpenApiParameter("unit", OpenApiTypes.STR, enum=["month", "week"]),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        asked = access.resolve(request.user, request.query_params)
        board = dashboard_for(grid=asked.grid, period=asked.period, unit=asked.unit)
        return Response(as_json(board))


def register(router) -> None:
    router.register("dashboard", DashboardViewSet, basename="dashboard")
