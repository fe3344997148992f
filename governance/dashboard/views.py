"""The leaders' dashboard pages: the figures of a subtree, drill-down, exports, and the
department view of whistles (部门报到)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from governance.dashboard import access
from governance.dashboard.selectors import dashboard_for
from governance.dashboard.serialize import chart_data
from governance.dashboard.tables import as_csv, as_xlsx, dashboard_tables, headline_rows
from grids import scoping, selectors
from grids.models import Grid, GridKind
from tickets.models import Whistle, WhistleStatus

WALL_REFRESH_SECONDS = 60


def _request(request: HttpRequest) -> access.Request | HttpResponse:
    try:
        return access.resolve(request.user, request.GET)
    except ValidationError as exc:
        form = access.DashboardQuery(request.GET)
        form.is_valid()
        return render(request, "dashboard/invalid.html", {"form": form, "errors": exc}, status=400)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    asked = _request(request)
    if isinstance(asked, HttpResponse):
        return asked
    board = dashboard_for(grid=asked.grid, period=asked.period, unit=asked.unit)
    wall = request.GET.get("wall") == "1"
    context = {
        "board": board,
        "headline": headline_rows(board),
        "ancestors": selectors.grid_ancestors(user=request.user, grid=asked.grid),
        "roots": scoping.scope_roots(request.user).order_by("tree_id", "lft"),
        "form": access.DashboardQuery(
            initial={
                "grid": asked.grid.pk,
                "date_from": asked.period.first_day,
                "date_to": asked.period.last_day,
                "unit": asked.unit,
            }
        ),
        "query": request.GET.urlencode(),
        "chart": chart_data(board),
        "wall": wall,
        "refresh": WALL_REFRESH_SECONDS if wall else None,
        "now": timezone.localtime(),
    }
    return render(request, "dashboard/dashboard.html", context)


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    asked = _request(request)
    if isinstance(asked, HttpResponse):
        return asked
    board = dashboard_for(grid=asked.grid, period=asked.period, unit=asked.unit)
    tables = dashboard_tables(board)
    period = asked.period
    stem = f"dashboard-{asked.grid.code}-{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}"
    if fmt == "xlsx":
        response = HttpResponse(
            as_xlsx(tables),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
        return response
    table = next((t for t in tables if t.key == request.GET.get("table", "headline")), None)
    if table is None:
        raise Http404
    response = HttpResponse(as_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{table.key}.csv"'
    return response


@login_required
def department(request: HttpRequest, pk: int) -> HttpResponse:
    """Whistles received by one department (an industry grid): report-in times, overdue."""
    grid = get_object_or_404(Grid, pk=pk, kind=GridKind.INDUSTRY)
    if not scoping.can_view(request.user, grid):
        raise PermissionDenied
    now = timezone.now()
    whistles = (
        Whistle.objects.filter(department=grid)
        .select_related("ticket", "ticket__grid", "ticket__category")
        .order_by("-created_at")[:200]
    )
    rows = [
        {
            "whistle": w,
            "overdue": w.status == WhistleStatus.PENDING and w.report_by < now,
            "hours": round((w.reported_at - w.created_at).total_seconds() / 3600, 1)
            if w.reported_at
            else None,
        }
        for w in whistles
    ]
    context = {
        "department": grid,
        "rows": rows,
        "pending": sum(1 for r in rows if r["whistle"].status == WhistleStatus.PENDING),
        "overdue": sum(1 for r in rows if r["overdue"]),
    }
    return render(request, "dashboard/department.html", context)
