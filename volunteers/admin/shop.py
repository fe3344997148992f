"""The points shop: shops, items (with photos), redemptions to hand out or cancel."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from grids import scoping
from grids.models import Grid
from grids.scoped_admin import ScopedAdminMixin
from volunteers import selectors, services
from volunteers.admin.common import ServiceAdminMixin, run_each
from volunteers.models import Redemption, Shop, ShopItem

ITEM_FIELDS = (
    "shop",
    "name",
    "description",
    "photo",
    "price",
    "stock",
    "per_person_limit",
    "available_from",
    "available_until",
    "is_active",
)


@admin.register(Shop)
class ShopAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "grid", "place", "is_active")
    fields = ("grid", "name", "place", "is_active")
    list_select_related = ("grid",)

    def get_readonly_fields(self, request, obj=None):
        return ("grid",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grid":
            kwargs["queryset"] = scoping.filter_visible(Grid.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # close a shop (inactive); its redemptions stay on record

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = form.cleaned_data
        if change:
            return services.shop_update(
                actor=request.user,
                shop=obj,
                name=data["name"],
                place=data.get("place") or "",
                is_active=data["is_active"],
            )
        return services.shop_create(
            actor=request.user, grid=data["grid"], name=data["name"], place=data.get("place") or ""
        )


@admin.register(ShopItem)
class ShopItemAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_via = "shop__grid"
    list_display = ("name", "shop", "price", "stock", "per_person_limit", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    list_select_related = ("shop",)
    fields = ITEM_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return ("shop",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "shop":
            kwargs["queryset"] = selectors.shop_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: redemptions point at the item

    def service_save(self, request, form, obj, change, *, dry_run=False):
        data = {f: form.cleaned_data.get(f) for f in ITEM_FIELDS if f in form.cleaned_data}
        if dry_run or "photo" not in form.changed_data:
            data.pop("photo", None)  # the trial run stores no file
        elif data.get("photo") is False:
            data["photo"] = ""  # cleared
        if change:
            data.pop("shop", None)
            return services.item_update(actor=request.user, item=obj, **data)
        return services.item_create(actor=request.user, **data)


@admin.register(Redemption)
class RedemptionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Redemptions to hand out: find one by its pick-up code, then mark it picked up."""

    scope_via = "item__shop__grid"
    list_display = ("pickup_code", "item", "quantity", "points", "account", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("pickup_code", "item__name")
    list_select_related = ("item__shop", "account")
    date_hierarchy = "created_at"
    actions = ["fulfil", "cancel"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # redeemed by residents on their phones, or through the API

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_fulfil_permission(self, request) -> bool:
        scope = scoping.scope_for(request.user)
        return scope.is_global or bool(scope.change)

    has_cancel_permission = has_fulfil_permission

    @admin.action(description=_("Mark as picked up"), permissions=["fulfil"])
    def fulfil(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda r: services.redemption_fulfil(actor=request.user, redemption=r),
            _("%(n)d redemptions handed out."),
        )

    @admin.action(description=_("Cancel and give the points back"), permissions=["cancel"])
    def cancel(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda r: services.redemption_cancel(actor=request.user, redemption=r),
            _("%(n)d redemptions cancelled."),
        )
