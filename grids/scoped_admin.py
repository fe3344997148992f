"""Admin permissions from grid roles, for every model that hangs off a grid.

The admin is open to staff users; what each may see and change there comes from the
same scope as the API and pages (``grids.scoping``), not from Django's per-model
permissions, so there is one rule to keep right. Other apps use it in one line::

    class HouseholdAdmin(ScopedAdminMixin, admin.ModelAdmin):
        scope_via = "grid"
"""

from __future__ import annotations

from django.http import HttpRequest

from grids import scoping
from grids.models import Grid


class ScopedAdminMixin:
    scope_via: str = "grid"  # path from the model to its grid; "" for Grid itself

    def _grid_of(self, obj) -> Grid:
        if not self.scope_via:
            return obj
        target = obj
        for part in self.scope_via.split("__"):
            target = getattr(target, part)
        return target

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        return scoping.filter_visible(queryset, request.user, via=self.scope_via)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return (
            request.user.is_active
            and request.user.is_staff
            and not (scoping.scope_for(request.user).is_empty)
        )

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or scoping.can_view(request.user, self._grid_of(obj))

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if not self.has_module_permission(request):
            return False
        scope = scoping.scope_for(request.user)
        if obj is None:
            return scope.is_global or bool(scope.change)
        return scope.can_change(self._grid_of(obj))

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_change_permission(request, obj)
