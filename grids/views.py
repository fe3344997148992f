from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from grids import scoping, selectors
from grids.models import GridAssignment


@login_required
def grid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One grid: the way up (as far as the user may see), its children and its people."""
    grid = get_object_or_404(selectors.grid_list(user=request.user), pk=pk)
    context = {
        "grid": grid,
        "ancestors": selectors.grid_ancestors(user=request.user, grid=grid),
        "children": selectors.grid_children(user=request.user, grid=grid),
        "assignments": GridAssignment.objects.current()
        .filter(grid=grid)
        .select_related("user")
        .order_by("role", "user__username"),
        "party_organizations": grid.party_organizations.order_by("tree_id", "lft"),
        "can_change": scoping.can_change(request.user, grid),
    }
    return render(request, "grids/grid_detail.html", context)
