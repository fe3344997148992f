"""Admin of the Open311 catalogue and of what civic apps sent.

- **Open311 services**: one page per ticket category (a proxy of ``Category``), where
  administrators write its public description and keywords and the questions it asks
  (attributes, inline). The category itself (name, code, policy) stays in the tickets
  admin, written through the category services; this page never saves it.
- **Open311 requests**: read-only, what came with each request (the citizen's email,
  names, device and account ids, media link, answers), shown to the staff of the
  ticket's grid: the same people who see a reporter's phone in full.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from grids import scoping
from grids.scoped_admin import ScopedAdminMixin
from open311.models import Open311Request, Service, ServiceAttribute, ServiceInfo


def _is_administrator(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_superuser


class ServiceInfoInline(admin.StackedInline):
    model = ServiceInfo
    fk_name = "category"
    max_num = 1
    extra = 1
    fields = ("description", "keywords")

    def has_add_permission(self, request, obj=None) -> bool:
        return _is_administrator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_administrator(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_administrator(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff


class ServiceAttributeInline(ServiceInfoInline):
    model = ServiceAttribute
    max_num = None
    extra = 0
    fields = (
        "order",
        "code",
        "description",
        "datatype",
        "variable",
        "required",
        "datatype_description",
        "values",
    )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    """Categories as GeoReport services: their description and questions."""

    list_display = ("name", "code", "parent", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    list_select_related = ("parent",)
    fields = ("name", "code", "parent", "is_active")
    readonly_fields = fields
    inlines = (ServiceInfoInline, ServiceAttributeInline)
    ordering = ("tree_id", "lft")

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_administrator(request)

    def has_add_permission(self, request) -> bool:
        return False  # categories are created in the tickets admin

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        """The category is read-only here; only the inlines are saved."""


@admin.register(Open311Request)
class Open311RequestAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "ticket__grid"
    list_display = ("ticket", "created_at", "account_id", "device_id")
    search_fields = ("ticket__number", "account_id", "device_id", "token")
    list_select_related = ("ticket",)
    date_hierarchy = "created_at"
    fields = (
        "ticket",
        "token",
        "created_at",
        "first_name",
        "last_name",
        "email",
        "account_id",
        "device_id",
        "media_url",
        "address_id",
        "attributes",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        """The staff of the ticket's grid (change scope): personal data."""
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return scoping.filter_changeable(queryset, request.user, via=self.scope_via)

    def has_view_permission(self, request, obj=None) -> bool:
        if not self.has_module_permission(request):
            return False
        scope = scoping.scope_for(request.user)
        if obj is None:
            return scope.is_global or bool(scope.change)
        return scope.can_change(self._grid_of(obj))

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # what a client sent is a record

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
