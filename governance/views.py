from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from grids import scoping, selectors
from grids.models import GridAssignment


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where a signed-in user starts: the top of each subtree they are responsible for."""
    roots = selectors.grid_list(user=request.user).filter(
        pk__in=scoping.scope_roots(request.user).values("pk")
    )
    assignments = (
        GridAssignment.objects.current()
        .filter(user=request.user)
        .select_related("grid")
        .order_by("grid__tree_id", "grid__lft")
    )
    return render(request, "home.html", {"roots": roots, "assignments": assignments})


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for a load balancer: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
