"""The baseline of ``ticket_list_ms``: the same page of tickets as ``GET /api/v1/tickets/``
(same rows, same order, the ticket's own columns), read with ``values()`` and written
with ``json.dumps`` in a plain Django view — what the list costs without DRF, scoping,
serializers and permissions. Mounted only while the bench measures (``bench.urls``)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from grids.models import Grid
from tickets.models import Ticket

PAGE = 50
COLUMNS = [f.attname for f in Ticket._meta.concrete_fields]


def ticket_list_baseline(request: HttpRequest) -> HttpResponse:
    grid = Grid.objects.get(pk=request.GET["grid"])
    rows = list(
        Ticket.objects.filter(
            grid__tree_id=grid.tree_id,
            grid__lft__gte=grid.lft,
            grid__rght__lte=grid.rght,
            status__in=request.GET.getlist("status"),
        )
        .order_by(request.GET.get("ordering", "-created_at"), "pk")
        .values(*COLUMNS)[:PAGE]
    )
    return HttpResponse(json.dumps(rows, default=str), content_type="application/json")
